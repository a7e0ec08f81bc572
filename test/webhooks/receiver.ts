import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the webhook body, checked by each test
  readonly body: any;
  readonly atMs: number;
}

/** What the receiver does with a request to one path: answer with a status, or never answer. */
export type Behaviour = (request: Received, count: number) => number | 'hang';

/**
 * A real HTTP receiver (node:http) for webhook tests: records every request with its raw body,
 * and answers as the test says per path (200 unless told otherwise).
 */
export class Receiver {
  readonly received: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly bodySizes = new Map<string, number>();
  private readonly delays = new Map<string, number>();
  /** By path, for answers given a long body: the bytes of each that the sender's socket took before the answer ended or the connection closed. */
  readonly bodyBytesTaken = new Map<string, number[]>();
  private readonly hanging: ServerResponse[] = [];
  private server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
  }

  /** Answers to `path` are given `ms` after the request ended (a receiver that takes its time). */
  answerAfter(path: string, ms: number): void {
    this.delays.set(path, ms);
  }

  /** Answers to `path` carry a body of `bytes` bytes (instead of "ok"), written only as fast as the sender reads it. */
  answerBody(path: string, bytes: number): void {
    this.bodySizes.set(path, bytes);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Stops listening and drops every open connection (a receiver that went down). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    this.hanging.splice(0).forEach((res) => res.destroy());
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Writes `size` bytes in 64 KiB chunks, each only once the socket took the one before (its
   * write callback: handed to the kernel), and returns how many it took before the end or a
   * closed connection. A sender that stops reading leaves it at its own limit plus what the
   * sockets' buffers hold.
   */
  private async writeLong(res: ServerResponse, size: number): Promise<number> {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let taken = 0;
    while (taken < size && !res.destroyed) {
      const ok = await new Promise<boolean>((resolve) => {
        res.once('close', () => resolve(false));
        res.write(chunk, (error) => resolve(!error));
      });
      res.removeAllListeners('close');
      if (!ok) break;
      taken += chunk.length;
    }
    if (!res.destroyed) res.end();
    return taken;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const path = req.url ?? '/';
      const received: Received = { path, headers: req.headers, raw, body, atMs: Date.now() };
      this.received.push(received);
      const answer = (this.behaviours.get(path) ?? (() => 200))(received, this.at(path).length);
      const delay = this.delays.get(path);
      if (delay !== undefined && answer !== 'hang') setTimeout(() => this.answer(res, path, answer), delay);
      else this.answer(res, path, answer);
    });
  }

  private answer(res: ServerResponse, path: string, answer: number | 'hang'): void {
    if (answer === 'hang') {
      this.hanging.push(res);
      return;
    }
    if (res.destroyed) return;
    const status = answer >= 300 && answer < 400 ? { location: 'http://127.0.0.1:1/elsewhere' } : {};
    const size = this.bodySizes.get(path);
    if (size === undefined) res.writeHead(answer, status).end('ok');
    else
      void this.writeLong(res.writeHead(answer, status), size).then((taken) =>
        this.bodyBytesTaken.set(path, [...(this.bodyBytesTaken.get(path) ?? []), taken]),
      );
  }
}

/** Verifies a Ledger-Signature header as docs/webhooks.md tells receivers to. */
export function verifySignature(secret: string, header: string | string[] | undefined, raw: string): boolean {
  if (typeof header !== 'string') return false;
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
}

/**
 * For receivers written on node:net: frames the HTTP/1.1 requests arriving on `socket` by their
 * head and Content-Length (none: no body) and hands each body to `onRequest`, in order. When it
 * returns `false` (it closed the connection), the rest of that read is left unhandled.
 */
export function readRequests(socket: Socket, onRequest: (body: Buffer) => boolean | void): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffer.toString('latin1', 0, end))?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length);
      buffer = buffer.subarray(end + 4 + length);
      if (onRequest(body) === false) return;
    }
  });
}
