import WebSocket from 'ws';

/** A message of the graphql-transport-ws protocol, as the server sends it. */
export interface WsMessage {
  type: string;
  id?: string;
  payload?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON; tests assert its shape
}

/**
 * A minimal graphql-ws (graphql-transport-ws protocol) client for tests: one socket, any
 * number of subscriptions, every message kept so tests can wait for what they expect.
 */
export class WsConnection {
  private readonly messages: WsMessage[] = [];
  private readonly listeners = new Set<() => void>();
  private nextId = 0;
  closeCode: number | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData) => {
      // Text frames arrive as Buffers (the default binaryType).
      this.messages.push(JSON.parse((data as Buffer).toString('utf8')) as WsMessage);
      this.listeners.forEach((notify) => notify());
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.listeners.forEach((notify) => notify());
    });
  }

  /** Opens a socket to the service's /graphql and completes the connection handshake. */
  static async open(graphqlUrl: string, connectionParams: Record<string, unknown>): Promise<WsConnection> {
    const socket = new WebSocket(graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const connection = new WsConnection(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
    await connection.waitFor((m) => m.type === 'connection_ack', 'connection_ack');
    return connection;
  }

  subscribe(query: string, variables: Record<string, unknown>): WsSubscription {
    const id = String(++this.nextId);
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return new WsSubscription(this, id);
  }

  send(message: WsMessage): void {
    this.socket.send(JSON.stringify(message));
  }

  received(filter: (m: WsMessage) => boolean): WsMessage[] {
    return this.messages.filter(filter);
  }

  /** Resolves with the first message (past or future) that matches, or fails after `timeoutMs`. */
  waitFor(match: (m: WsMessage) => boolean, what: string, timeoutMs = 10_000): Promise<WsMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (this.closeCode !== null) {
          done();
          reject(new Error(`socket closed (${this.closeCode}) while waiting for ${what}; got ${JSON.stringify(this.messages)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.closeCode !== null) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close(1000);
    });
  }
}

export class WsSubscription {
  constructor(
    readonly connection: WsConnection,
    readonly id: string,
  ) {}

  /** The data of every `next` message so far. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON; tests assert its shape
  events<T = any>(): T[] {
    return this.connection.received((m) => m.id === this.id && m.type === 'next' && !m.payload?.errors).map((m) => m.payload.data as T);
  }

  /** Waits until `count` events have arrived and returns them all. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON; tests assert its shape
  async waitForEvents<T = any>(count: number, timeoutMs?: number): Promise<T[]> {
    await this.connection.waitFor(() => this.events().length >= count, `${count} events on subscription ${this.id}`, timeoutMs);
    return this.events<T>();
  }

  /** Waits for the refusal or failure of this subscription and returns its first error's code. */
  async errorCode(): Promise<string | undefined> {
    const message = await this.connection.waitFor(
      (m) => m.id === this.id && (m.type === 'error' || (m.type === 'next' && Boolean(m.payload?.errors))),
      `an error on subscription ${this.id}`,
    );
    const errors = message.type === 'error' ? message.payload : message.payload.errors;
    return errors?.[0]?.extensions?.code;
  }

  async completed(): Promise<void> {
    await this.connection.waitFor((m) => m.id === this.id && m.type === 'complete', `complete of subscription ${this.id}`);
  }

  unsubscribe(): void {
    this.connection.send({ id: this.id, type: 'complete' });
  }
}
