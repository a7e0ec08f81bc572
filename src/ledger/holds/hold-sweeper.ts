import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { PostingService } from '../posting/posting.service';
import { HoldRepository } from './hold.repository';

/** Holds released per posting group; a longer backlog is released over several groups. */
const SWEEP_BATCH = 1000;
/** Groups per tick at most, so a huge backlog cannot monopolise the ledger head. */
const MAX_ROUNDS_PER_TICK = 20;
/** Networks swept per tick at most; the next tick takes the rest. */
const MAX_NETWORKS_PER_TICK = 1000;

/**
 * Releases expired holds without anyone calling: every HOLD_SWEEP_INTERVAL_MS it probes for a
 * pending hold past its expiry (one index lookup) and, only when there is one, asks the posting
 * module to release them. Reads already treat such holds as released, and every posting group
 * releases the expired holds of the accounts it touches, so the sweeper only has to catch up
 * with accounts nobody touches. Every instance runs one; they serialise on the ledger head and
 * a hold is released once.
 */
@Injectable()
export class HoldSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HoldSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly posting: PostingService,
    private readonly holds: HoldRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, this.config.holdSweepIntervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const networks = await this.holds.networksWithExpired(MAX_NETWORKS_PER_TICK);
      // Each network's sweep posts on its own head: the networks are swept side by side.
      await Promise.all(networks.map((network) => this.sweep(network)));
    } catch (error) {
      // The next tick tries again; a failed sweep leaves every hold as it was.
      if (!this.stopped) this.logger.warn(`releasing expired holds failed: ${(error as Error).message}`);
    }
  }

  private async sweep(network: string): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS_PER_TICK && !this.stopped; round++) {
      if (round > 0 && !(await this.holds.anyExpired(network))) return;
      const result = await this.posting.submitOne({ type: 'hold.sweep', limit: SWEEP_BATCH }, { apiKeyId: null, networkId: network });
      if (result.type !== 'sweep' || result.expired < SWEEP_BATCH) return;
    }
  }
}
