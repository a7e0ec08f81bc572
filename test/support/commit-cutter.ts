import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type CutMode =
  /** Forward the COMMIT, then drop the connection: the database commits, the answer is lost. */
  | 'after-commit'
  /** Drop the connection instead of forwarding the COMMIT: the database rolls back. */
  | 'before-commit';

/**
 * A TCP proxy between the service and PostgreSQL that cuts one connection at the COMMIT of a
 * posting group, deterministically: it reads the frontend protocol, and once armed, the next
 * `COMMIT` sent on a connection that wrote a posting group (`ledger_group_write`) since its
 * last COMMIT (or in the same message) is either forwarded and the connection dropped before the answer comes back, or
 * never forwarded. `refuseNew` makes it refuse every new connection (the database unreachable).
 */
export class CommitCutter {
  private server: Server | null = null;
  private armed: CutMode | null = null;
  private cuts = 0;
  private readonly sockets = new Set<Socket>();
  private blackoutOnCut = false;
  refuseNew = false;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Starts listening; returns the database URL rewritten to go through the proxy. */
  async start(databaseUrl: string): Promise<string> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no port');
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(address.port);
    return url.toString();
  }

  /** `blackout`: at the cut, the database also becomes unreachable (every connection dropped, new ones refused) until `restore()`. */
  arm(mode: CutMode, blackout = false): void {
    this.armed = mode;
    this.blackoutOnCut = blackout;
  }

  restore(): void {
    this.refuseNew = false;
  }

  private blackout(): void {
    this.refuseNew = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** How many COMMITs were cut so far. */
  get cutCount(): number {
    return this.cuts;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.refuseNew) {
      client.destroy();
      return;
    }
    const server = tcpConnect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(server);
    client.on('close', () => this.sockets.delete(client));
    server.on('close', () => this.sockets.delete(server));
    let pending = Buffer.alloc(0);
    let started = false;
    let wroteGroup = false;
    let answerLost = false;
    server.on('data', (chunk) => {
      if (answerLost) {
        // The database answered the COMMIT: it committed. The answer never reaches the service.
        server.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      server.destroy();
    };
    server.on('error', close);
    client.on('error', close);
    server.on('close', () => {
      if (!answerLost) client.destroy();
    });
    client.on('close', () => {
      if (!answerLost) server.destroy();
    });
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        // The first message (startup, or an SSL request) has no type byte.
        const header = started ? 5 : 4;
        if (pending.length < header) return;
        const length = started ? pending.readInt32BE(1) + 1 : pending.readInt32BE(0);
        if (pending.length < length) return;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (!started) {
          // An SSLRequest (code 80877103) is followed by another untyped startup message.
          started = message.length !== 8 || message.readInt32BE(4) !== 80877103;
          server.write(message);
          continue;
        }
        const type = String.fromCharCode(message[0] as number);
        const text = message.subarray(5).toString('utf8');
        if ((type === 'Q' || type === 'P') && text.includes('ledger_group_write')) wroteGroup = true;
        // COMMIT alone, or a posting group's write sent with its COMMIT in one message (queryThenCommit).
        const statement = text.replace(/\0/g, '').trim().toUpperCase();
        const isCommit = type === 'Q' && (statement === 'COMMIT' || statement.endsWith(';\nCOMMIT'));
        if (isCommit && wroteGroup && this.armed) {
          const mode = this.armed;
          this.armed = null;
          this.cuts++;
          if (mode === 'after-commit') {
            answerLost = true;
            server.write(message);
          } else {
            server.destroy();
          }
          client.destroy();
          if (this.blackoutOnCut) {
            // The COMMIT reaches the database before its connection is dropped with the rest.
            this.sockets.delete(server);
            this.blackout();
          }
          return;
        }
        if (isCommit) wroteGroup = false;
        server.write(message);
      }
    });
  }
}
