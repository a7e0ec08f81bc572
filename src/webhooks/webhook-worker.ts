import 'reflect-metadata';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from '../config/config';
import { createLogger, NestPinoLogger } from '../observability/logger';
import { WebhookDispatchModule } from './webhook-dispatch.module';
import { DispatchStats, type StatsBatch } from './webhook-stats';

/** What the main thread gives the dispatch worker (webhook-worker-host.ts). */
export interface DispatchWorkerData {
  readonly config: AppConfig;
  readonly databaseUrl: string;
  readonly directUrl: string;
}

/** Messages between the main thread and the dispatch worker. */
export type ToWorker = { readonly type: 'stop' };
export type FromWorker =
  { readonly type: 'stats'; readonly batch: StatsBatch } | { readonly type: 'started' } | { readonly type: 'stopped' };

/**
 * The dispatcher thread's nice value: when the cores are all busy, the main thread (requests and
 * the posting group's round trips) goes first and deliveries wait a little; when they are not,
 * it makes no difference. Deliveries are never dropped for it, only sent later.
 */
const WORKER_NICE = 10;

/** How long the worker gathers metrics before sending them to the main thread (one message per batch, not per attempt). */
const STATS_GATHER_MS = 25;

/** The dispatcher's metrics, gathered here and sent to the main thread's registry in batches. */
class StatsRelay extends DispatchStats {
  private attempts: [boolean, number, number][] = [];
  private delivered = 0;
  private failed = 0;
  private timer: NodeJS.Timeout | null = null;

  attempted(delivered: boolean, seconds: number, occurredAt: Date | null): void {
    this.attempts.push([delivered, seconds, occurredAt ? Math.max(0, (Date.now() - occurredAt.getTime()) / 1000) : -1]);
    this.soon();
  }

  recorded(ended: { delivered: number; failed: number }): void {
    this.delivered += ended.delivered;
    this.failed += ended.failed;
    this.soon();
  }

  private soon(): void {
    this.timer ??= setTimeout(() => this.send(), STATS_GATHER_MS);
  }

  send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.attempts.length === 0 && this.delivered === 0 && this.failed === 0) return;
    const batch: StatsBatch = { attempts: this.attempts, delivered: this.delivered, failed: this.failed };
    this.attempts = [];
    this.delivered = 0;
    this.failed = 0;
    post({ type: 'stats', batch });
  }
}

function post(message: FromWorker): void {
  parentPort?.postMessage(message);
}

/**
 * The webhook dispatcher's thread (docs/webhooks.md, "How it works"): its own small application
 * context, pool and event loop, so that fan-out, claims, signing, sends, answers and retention
 * never wait in front of the posting group's round trips on the main event loop.
 */
async function main(): Promise<void> {
  const { config, databaseUrl, directUrl } = workerData as DispatchWorkerData;
  const logger = createLogger(config.logLevel, config.logFormat, { async: config.isProduction });
  Logger.overrideLogger(new NestPinoLogger(logger));
  lowerPriority();
  const stats = new StatsRelay();
  const app = await NestFactory.createApplicationContext(WebhookDispatchModule.forWorker({ config, databaseUrl, directUrl, stats }), {
    logger: new NestPinoLogger(logger),
  });
  parentPort?.on('message', (message: ToWorker) => {
    if (message.type !== 'stop') return;
    // The dispatcher lets its sends finish and writes them (beforeApplicationShutdown), then the pool closes.
    void app
      .close()
      .catch((error: unknown) => new Logger('WebhookWorker').error(`stopping the webhook dispatcher: ${(error as Error).message}`))
      .finally(() => {
        stats.send();
        logger.flush();
        post({ type: 'stopped' });
        parentPort?.close();
      });
  });
  post({ type: 'started' });
}

/**
 * On Linux a nice value is a thread's own: this thread's id (from /proc/thread-self) lowers this
 * thread alone. Elsewhere, or where it is not allowed, the dispatcher runs at the process's priority.
 */
function lowerPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, WORKER_NICE);
  } catch {
    // Not Linux, or not permitted: the same priority as the main thread.
  }
}

// A failure to start is thrown out of the worker: the host logs it and starts another.
void main();
