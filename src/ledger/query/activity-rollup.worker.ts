import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { Metrics } from '../../observability/metrics';
import { ActivityRollupRepository } from './activity-rollup.repository';

/** Networks looked at per tick at most; the next tick takes the rest. */
const MAX_NETWORKS_PER_TICK = 1000;
/** Periods one network rolls up per tick at most, so a long backlog is shared out fairly between networks. */
const MAX_PERIODS_PER_NETWORK = 100;

/**
 * Rolls closed days of every network up for activity reports (docs/reports.md), beside the
 * posting path and never in it: transfers do not wait for it and do not get slower. Every
 * instance runs one (unless ACTIVITY_ROLLUP_INTERVAL_MS is 0); they share the work through a
 * per-network advisory lock, and the periods' keys make a second copy of a period impossible, so
 * nothing is counted twice. While it is behind, reports stay exact: they read the postings of
 * whatever is not rolled up yet. After a backlog (a start, an import) it goes on at once until it
 * has caught up, then waits ACTIVITY_ROLLUP_INTERVAL_MS.
 */
@Injectable()
export class ActivityRollupWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ActivityRollupWorker.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Periods this instance rolled up, and rounds that failed, for /metrics. */
  private periods = 0;
  private failures = 0;

  constructor(
    private readonly rollup: ActivityRollupRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    metrics?.registerCounter(
      'ledger_activity_periods_rolled_total',
      'Periods of closed days this instance rolled up for activity',
      () => this.periods,
    );
    metrics?.registerCounter(
      'ledger_activity_rollup_failures_total',
      'Rounds of the activity rollup that failed (retried next round)',
      () => this.failures,
    );
  }

  onApplicationBootstrap(): void {
    if (this.config.activityRollupIntervalMs > 0) this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      let more = false;
      this.running = this.tick()
        .then((backlog) => {
          more = backlog;
        })
        .finally(() => {
          this.running = null;
          this.schedule(more ? 0 : this.config.activityRollupIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One round over the networks that are behind; true when some still have closed days left. */
  private async tick(): Promise<boolean> {
    try {
      let backlog = false;
      for (const network of await this.rollup.networksBehind(MAX_NETWORKS_PER_TICK)) {
        if (this.stopped) return false;
        backlog = (await this.rollUp(network)) || backlog;
      }
      return backlog;
    } catch (error) {
      // Nothing half-written stays: each period is its own transaction. The next tick goes on.
      this.failures++;
      if (!this.stopped) this.logger.warn(`rolling up activity failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Rolls up a network's closed periods, up to the bound; true when it stopped at the bound. */
  private async rollUp(network: string): Promise<boolean> {
    for (let n = 0; n < MAX_PERIODS_PER_NETWORK; n++) {
      if (this.stopped) return false;
      const next = await this.rollup.rollUpNext(network, this.config.activityRollupMaxTransactions);
      // `busy`: another instance holds this network's lock and is rolling it up.
      if (next === null || next === 'busy') return false;
      this.periods++;
    }
    return true;
  }
}
