import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { WebhookFanOut } from './webhook-fan-out';
import { WebhookSender } from './webhook-sender';
import { signatureHeader } from './signature';
import { type SecretBox, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { type AttemptResult, type ClaimedRow, WebhookRepository } from './webhook.repository';
import { WebhookStats } from './webhook-stats';

/** Longest delay between two attempts: later retries come hourly until the window closes. */
const MAX_RETRY_DELAY_MS = 3_600_000;
/** A claimed delivery is taken again by any instance this long after its answer was due. */
const LEASE_MARGIN_MS = 5_000;
/** Results are written together, at most this many per statement. */
const MAX_RESULTS_PER_WRITE = 500;

/** Retry n (1 for the first retry): doubling from the minimum, capped, with up to 25 % jitter on top. */
export function retryDelayMs(attempt: number, minMs: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, minMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (1 + random() * 0.25));
}

/**
 * Sends webhook deliveries; every instance runs one. Each turn of its loop fans new outbox
 * events out into deliveries, writes the answers received since the last turn, and claims as
 * many due deliveries as it has free slots (at most `webhookConcurrencyPerWebhook` per webhook,
 * so a slow or dead receiver holds a few slots and never all). Sends run beside the loop, each
 * bounded by the timeout; the posting path never waits for any of this: it only wrote the events.
 * A crash loses nothing: claimed deliveries come due again when their lease ends (at least once).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly sender: WebhookSender;
  private readonly inFlightPerWebhook = new Map<string, number>();
  private inFlight = 0;
  private results: AttemptResult[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox | null,
    private readonly webhooks: WebhookRepository,
    private readonly fanOut: WebhookFanOut,
    private readonly stats: WebhookStats,
  ) {
    // Sockets per origin: as many as deliveries in flight, since two webhooks may share a host (the per-webhook share is the dispatcher's).
    this.sender = new WebhookSender(config.webhookTimeoutMs, config.webhookAllowPrivate, config.webhookConcurrency);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  /** Lets the sends in flight finish (each is bounded by the timeout) and records their answers. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.sending);
    await this.flush().catch(() => undefined);
    this.sender.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let busy = false;
      try {
        busy = await this.turn();
      } catch (error) {
        this.logger.warn(`webhook dispatch: ${(error as Error).message}`);
      }
      if (!this.stopped) await this.pause(busy ? 0 : this.config.webhookPollMs);
    }
  }

  /** One turn; true when there may be more work right away. */
  private async turn(): Promise<boolean> {
    const fanned = await this.fanOut.round();
    await this.flush();
    const free = this.config.webhookConcurrency - this.inFlight;
    if (free <= 0 || !this.box) return fanned > 0;
    const busyWebhooks = [...this.inFlightPerWebhook].filter(([, n]) => n >= this.config.webhookConcurrencyPerWebhook).map(([id]) => id);
    const claimed = await this.webhooks.claim(
      free,
      this.config.webhookConcurrencyPerWebhook,
      busyWebhooks,
      this.config.webhookTimeoutMs + LEASE_MARGIN_MS,
    );
    for (const delivery of claimed) this.start(delivery);
    return fanned > 0 || claimed.length === free;
  }

  private start(delivery: ClaimedRow): void {
    this.inFlight++;
    this.inFlightPerWebhook.set(delivery.webhook_id, (this.inFlightPerWebhook.get(delivery.webhook_id) ?? 0) + 1);
    const sending: Promise<void> = this.attempt(delivery)
      .then((result) => {
        this.results.push(result);
      })
      .finally(() => {
        this.sending.delete(sending);
        this.inFlight--;
        const left = (this.inFlightPerWebhook.get(delivery.webhook_id) ?? 1) - 1;
        if (left === 0) this.inFlightPerWebhook.delete(delivery.webhook_id);
        else this.inFlightPerWebhook.set(delivery.webhook_id, left);
        this.wake?.();
      });
    this.sending.add(sending);
  }

  private async attempt(d: ClaimedRow): Promise<AttemptResult> {
    const base = { networkId: d.network_id, id: d.id, attempts: d.attempts };
    const retryDelay = retryDelayMs(d.attempts, this.config.webhookRetryMinMs);
    if (d.stopped !== null) return { ...base, delivered: false, final: true, statusCode: null, error: d.stopped, retryDelayMs: 0 };
    const body = JSON.stringify({ id: d.event_id, type: d.event_type, network: d.network_id, occurredAt: d.occurred_at, data: d.data });
    let secret: string;
    try {
      secret = (this.box as SecretBox).open(d.secret_ciphertext, d.webhook_id);
    } catch {
      const error = 'the signing secret cannot be opened (was WEBHOOK_SECRET_KEY or the admin key changed?)';
      return { ...base, delivered: false, final: false, statusCode: null, error, retryDelayMs: retryDelay };
    }
    const started = process.hrtime.bigint();
    const outcome = await this.sender.send(d.url, body, {
      'ledger-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)),
      'ledger-event-id': d.event_id,
      'ledger-event-type': d.event_type,
      'ledger-delivery-attempt': String(d.attempts),
      'user-agent': 'SolidarityLedger-Webhooks/1',
    });
    const delivered = outcome.error === null;
    this.stats.attempted(delivered, Number(process.hrtime.bigint() - started) / 1e9, delivered ? d.occurred_at : null);
    return { ...base, delivered, final: false, statusCode: outcome.statusCode, error: outcome.error, retryDelayMs: retryDelay };
  }

  private async flush(): Promise<void> {
    while (this.results.length > 0) {
      const batch = this.results.splice(0, MAX_RESULTS_PER_WRITE);
      try {
        this.stats.recorded(await this.webhooks.record(batch, this.config.webhookRetryWindowMs));
      } catch (error) {
        // Not recorded: the deliveries come due again when their lease ends and are sent again.
        this.logger.warn(`recording ${batch.length} webhook attempts failed: ${(error as Error).message}`);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    if (ms === 0 && this.inFlight < this.config.webhookConcurrency) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms === 0 ? this.config.webhookPollMs : ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
