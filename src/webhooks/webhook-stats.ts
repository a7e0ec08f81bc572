import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { PostedPayloads } from '../ledger/events/posted-payloads';
import { Metrics } from '../observability/metrics';
import { WebhookRepository } from './webhook.repository';

/**
 * Webhook metrics in the instance's Prometheus registry: deliveries pending (deployment-wide,
 * read when scraped), attempts by outcome, the time a receiver took to answer, and the time
 * from an event to its delivery.
 */
@Injectable()
export class WebhookStats {
  private readonly attempts: Counter<'outcome'>;
  private readonly answerSeconds: Histogram;
  private readonly lagSeconds: Histogram;
  private readonly ended: Counter<'status'>;
  /** The attempts counter's two series, bound once (finding a series by its labels on every attempt hashes them each time). */
  private readonly delivered: Counter.Internal;
  private readonly failed: Counter.Internal;

  constructor(metrics: Metrics, webhooks: WebhookRepository, kept: PostedPayloads) {
    const registers = [metrics.registry];
    metrics.registerCounter(
      'ledger_webhook_payloads_kept_total',
      "TRANSACTION_POSTED payloads the fan-out built from the posting group's own record, without reading the transaction back",
      () => kept.taken,
    );
    this.attempts = new Counter({
      name: 'ledger_webhook_attempts_total',
      help: 'Webhook delivery attempts of this instance, by outcome (delivered or failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.delivered = this.attempts.labels('delivered');
    this.failed = this.attempts.labels('failed');
    this.answerSeconds = new Histogram({
      name: 'ledger_webhook_attempt_duration_seconds',
      help: 'Time a webhook receiver took to answer (or to fail)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.lagSeconds = new Histogram({
      name: 'ledger_webhook_delivery_latency_seconds',
      help: 'Time from a ledger event to its delivery',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
      registers,
    });
    this.ended = new Counter({
      name: 'ledger_webhook_deliveries_total',
      help: 'Webhook deliveries ended by this instance: DELIVERED, or FAILED after their retries (or their webhook deleted, key revoked)',
      labelNames: ['status'],
      registers,
    });
    new Gauge({
      name: 'ledger_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered nor failed (all instances)',
      registers,
      async collect() {
        this.set(await webhooks.pendingCount());
      },
    });
  }

  recorded(ended: { delivered: number; failed: number }): void {
    this.ended.inc({ status: 'DELIVERED' }, ended.delivered);
    this.ended.inc({ status: 'FAILED' }, ended.failed);
  }

  attempted(delivered: boolean, seconds: number, occurredAt: Date | null): void {
    (delivered ? this.delivered : this.failed).inc();
    this.answerSeconds.observe(seconds);
    if (occurredAt) this.lagSeconds.observe(Math.max(0, (Date.now() - occurredAt.getTime()) / 1000));
  }
}
