import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { sleep } from '../common/retry';
import { Database } from './database';
import { LISTENER_APPLICATION_NAME } from './earlier-instances';

type Handler = (payload: string) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * One dedicated connection per instance that LISTENs for PostgreSQL notifications and hands
 * them to in-process subscribers: how instances hear of each other's postings (subscriptions)
 * and revoked API keys (caches). It reconnects by itself; subscribers learn of every gap through
 * `onGap`, because notifications sent while disconnected are lost.
 */
@Injectable()
export class NotificationHub implements OnApplicationShutdown {
  private readonly logger = new Logger(NotificationHub.name);
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly gapHandlers = new Set<() => void>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private listening = false;

  constructor(private readonly db: Database) {}

  /** True while notifications are being received; caches must not trust themselves otherwise. */
  get connected(): boolean {
    return this.listening;
  }

  subscribe(channel: string, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client && this.listening) void this.client.query(`LISTEN ${quoteIdent(channel)}`).catch(() => this.reconnectSoon());
    }
    set.add(handler);
    this.ensureConnected();
    return () => set.delete(handler);
  }

  /** Called whenever notifications may have been missed (disconnect). */
  onGap(handler: () => void): () => void {
    this.gapHandlers.add(handler);
    this.ensureConnected();
    return () => this.gapHandlers.delete(handler);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.connecting;
    await this.client?.end().catch(() => undefined);
  }

  private ensureConnected(): void {
    if (this.client || this.connecting || this.stopped) return;
    this.connecting = this.connectLoop().finally(() => {
      this.connecting = null;
    });
  }

  private async connectLoop(): Promise<void> {
    for (let delay = RECONNECT_MIN_MS; !this.stopped; delay = Math.min(RECONNECT_MAX_MS, delay * 2)) {
      const client = new Client({ connectionString: this.db.primaryUrl, application_name: LISTENER_APPLICATION_NAME });
      try {
        client.on('error', () => this.lost(client));
        client.on('end', () => this.lost(client));
        client.on('notification', (message) => {
          for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
        });
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
        this.client = client;
        this.listening = true;
        return;
      } catch (error) {
        await client.end().catch(() => undefined);
        this.logger.warn(`cannot listen for notifications (${(error as Error).message}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    for (const handler of this.gapHandlers) handler();
    void client.end().catch(() => undefined);
    this.reconnectSoon();
  }

  private reconnectSoon(): void {
    if (!this.stopped) this.ensureConnected();
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a channel name: ${name}`);
  return name;
}
