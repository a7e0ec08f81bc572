import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { WebhookRepository } from './webhook.repository';

/** Events looked at per statement of the sweep: small, so a sweep never holds many rows locked at once. */
const EVENTS_PER_STEP = 500;
/** The longest time between two sweeps. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * Deletes what webhooks no longer need (docs/webhooks.md, "Retention"): deliveries DELIVERED more
 * than WEBHOOK_RETENTION_DAYS ago, and outbox events at least that old with no delivery left.
 * PENDING and FAILED deliveries (and their events) are kept, so a failure can still be looked at
 * and replayed. The dispatcher of every instance calls `step` once per turn: it does one small
 * batch per network when a sweep is due, and goes on batch by batch (one per turn) while there
 * is a backlog. Each sweep walks each network in event order, step after step from where the
 * last one stopped, and the next sweep starts from the network's first event again: an event
 * kept by one sweep (a delivery still pending, or delivered less than the period ago although
 * its event is older, as a late retry is) is looked at again by the next. Two instances sweeping
 * at once delete each row once.
 */
@Injectable()
export class WebhookRetention {
  private readonly logger = new Logger(WebhookRetention.name);
  private readonly after = new Map<string, string>();
  private nextSweepMs = 0;
  private backlog = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly webhooks: WebhookRepository,
  ) {}

  private get intervalMs(): number {
    return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(this.config.webhookPollMs, this.config.webhookRetentionMs / 2));
  }

  /** One step when a sweep is due or a backlog remains; true while a backlog remains. */
  async step(): Promise<boolean> {
    if (!this.backlog && Date.now() < this.nextSweepMs) return false;
    let backlog = false;
    try {
      for (const network of await this.webhooks.networkIds()) {
        const swept = await this.webhooks.sweep(network, this.after.get(network) ?? '0', EVENTS_PER_STEP, this.config.webhookRetentionMs);
        // A full batch: more waits after it, for the next step. Otherwise this sweep is done with the network.
        if (swept.full && swept.last !== null) this.after.set(network, swept.last);
        else this.after.delete(network);
        backlog ||= swept.full;
      }
    } catch (error) {
      // Nothing is lost by a failed step (say, a replay racing it): the next sweep tries again.
      this.logger.warn(`webhook retention sweep: ${(error as Error).message}`);
      backlog = false;
    }
    this.backlog = backlog;
    if (!backlog) this.nextSweepMs = Date.now() + this.intervalMs;
    return backlog;
  }
}
