import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { Database } from '../database/database';
import type { DispatchWorkerData, FromWorker, ToWorker } from './webhook-worker';
import { WebhookStats } from './webhook-stats';

/** A worker that ended by itself (a crash) is started again after this long. */
const RESTART_DELAY_MS = 1_000;
/** After the worker said it stopped, it gets this long to end its thread before it is terminated. */
const EXIT_GRACE_MS = 2_000;

/**
 * Runs the instance's webhook dispatcher in a worker thread (webhook-worker.ts) and relays its
 * metrics into this instance's registry. The main event loop serves requests and the posting
 * group's round trips only; the dispatcher's work (fan-out, claims, signing, sends, answers,
 * retention) runs on the worker's own loop with its own pool. Stopping asks the worker to let its
 * sends finish and write them (as the dispatcher always did) and waits for it. A worker that dies
 * is started again; what it had claimed is sent again when its leases end (at least once).
 */
@Injectable()
export class WebhookWorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  private worker: Worker | null = null;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly stats: WebhookStats,
  ) {}

  onApplicationBootstrap(): void {
    this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const stopped = new Promise<void>((resolve) =>
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'stopped') resolve();
      }),
    );
    worker.postMessage({ type: 'stop' } satisfies ToWorker);
    await Promise.race([stopped, exited]);
    const grace = setTimeout(() => void worker.terminate(), EXIT_GRACE_MS);
    await exited;
    clearTimeout(grace);
  }

  private start(): void {
    const workerData: DispatchWorkerData = { config: this.config, databaseUrl: this.db.poolUrl, directUrl: this.db.primaryUrl };
    const worker = new Worker(join(__dirname, 'webhook-worker.js'), { workerData });
    this.worker = worker;
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'stats') this.stats.apply(message.batch);
    });
    worker.on('error', (error) => this.logger.error(`the webhook dispatcher failed: ${error.stack ?? error.message}`));
    worker.on('exit', (code) => {
      this.worker = null;
      if (this.stopping) return;
      this.logger.error(`the webhook dispatcher's thread ended (exit code ${code}); starting it again`);
      this.restart = setTimeout(() => this.start(), RESTART_DELAY_MS);
      this.restart.unref();
    });
  }
}
