import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { Database } from '../database/database';

/** Latency buckets, in seconds: a posting takes milliseconds, an export may take seconds. */
const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one instance, served at GET /metrics. Request metrics are labelled
 * by operation (the GraphQL root field or the route: a bounded set) and outcome ('ok' or the
 * first error's code); the retry helper's and the pool's counters are read when scraped, and so
 * are those other modules register (`registerCounter`: the posting module's, in
 * ledger/posting/posting-metrics.ts; observability knows no feature, features report to it). Process metrics (CPU, memory, event loop lag, GC) come with the prefix `ledger_`.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'operation' | 'outcome'>;
  private readonly latency: Histogram<'operation'>;

  constructor(
    @Inject(APP_CONFIG) readonly config: AppConfig,
    private readonly db: Database,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ledger_' });
    this.requests = new Counter({
      name: 'ledger_http_requests_total',
      help: 'HTTP requests served, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'ledger_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const counterOf = (name: string, help: string, read: () => number) => this.registerCounter(name, help, read);
    counterOf('ledger_db_retries_total', 'Transactions re-run after a serialization failure or deadlock', () => this.db.retries);
    counterOf(
      'ledger_db_pool_errors_total',
      'Errors of pooled database connections (for example a database restart)',
      () => this.db.poolErrors,
    );
    const database = this.db;
    new Gauge({
      name: 'ledger_db_pool_connections',
      help: 'Connections of the primary pool: total, idle, and requests waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = database.poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }

  /**
   * Who may scrape /metrics: everyone only with METRICS_PUBLIC=true; otherwise the identity
   * module installs a check of the bearer key (ADMIN or AUDITOR), and until it has, no one.
   */
  scrapeAllowed: (authorization: string | undefined) => boolean | Promise<boolean> = () => this.config.metricsPublic;

  /** A counter whose value is read from `read()` when scraped (a running total kept elsewhere). */
  registerCounter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  observeRequest(operation: string, outcome: string, seconds: number): void {
    this.requests.inc({ operation, outcome });
    this.latency.observe({ operation }, seconds);
  }
}
