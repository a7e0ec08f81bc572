import type { LedgerEventType } from '../ledger/events/ledger-events';

/**
 * A webhook and a delivery as WebhookRepository reads them and WebhookService decides on them;
 * the GraphQL `Webhook` and `WebhookDelivery` are built from them at the edge (webhook.mapper.ts).
 */
export interface WebhookRecord {
  readonly networkId: string;
  readonly id: string;
  readonly url: string;
  readonly events: LedgerEventType[];
  /** null: every account the creating key may read. */
  readonly accountId: string | null;
  readonly description: string | null;
  readonly apiKeyId: string;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
}

export interface DeliveryRecord {
  readonly networkId: string;
  readonly id: string;
  /** Keyset order of a webhook's deliveries: its event's seq (BIGINT as decimal text), one delivery per webhook and event. */
  readonly seq: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: LedgerEventType;
  readonly status: 'PENDING' | 'DELIVERED' | 'FAILED';
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
}
