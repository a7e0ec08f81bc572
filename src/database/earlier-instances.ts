import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Database } from './database';

/**
 * The name this release gives its LISTEN connection (notification-hub.ts). Every release since
 * the webhook outbox keeps one such connection open while it runs; releases before this one
 * named it `solidarity-ledger-listener`, so a connection of that name is an instance of an
 * earlier release.
 */
export const LISTENER_APPLICATION_NAME = 'solidarity-ledger-listener/2';
const EARLIER_LISTENER_APPLICATION_NAME = 'solidarity-ledger-listener';
/** How often the database is asked. */
const CHECK_EVERY_MS = 10_000;

/**
 * Whether an instance of an earlier release is running against this database, asked of
 * `pg_stat_activity` every 10 s: what `WEBHOOK_EVENTS_BY_REFERENCE=auto` needs (docs/webhooks.md).
 * Until the first answer, and when the question fails, the answer is yes: the safe one.
 */
@Injectable()
export class EarlierInstances implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EarlierInstances.name);
  private seen = true;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Database) {}

  /** Whether the last look found one (or there has been no successful look yet). */
  get running(): boolean {
    return this.seen;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    try {
      const [row] = await this.db.query<{ seen: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1) AS seen`,
        [EARLIER_LISTENER_APPLICATION_NAME],
      );
      const seen = row?.seen ?? true;
      if (seen !== this.seen)
        this.logger.log(seen ? 'an instance of an earlier release is connected' : 'no instance of an earlier release is connected');
      this.seen = seen;
    } catch (error) {
      this.seen = true;
      this.logger.warn(`cannot tell whether instances of an earlier release run: ${(error as Error).message}`);
    }
  }
}
