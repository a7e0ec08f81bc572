import type { DeliveryStatus, Webhook, WebhookDelivery } from './webhook.model';
import type { DeliveryRecord, WebhookRecord } from './webhook.record';

export function toWebhookModel(record: WebhookRecord): Webhook {
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    description: record.description,
    createdAt: record.createdAt,
    networkId: record.networkId,
    accountId: record.accountId,
    apiKeyId: record.apiKeyId,
  };
}

/** The next attempt is shown only while the delivery is pending. */
export function toDeliveryModel(record: DeliveryRecord): WebhookDelivery {
  return {
    id: record.id,
    eventId: record.eventId,
    event: record.eventType,
    status: record.status as DeliveryStatus,
    attempts: record.attempts,
    lastStatusCode: record.lastStatusCode,
    lastError: record.lastError,
    nextAttemptAt: record.status === 'PENDING' ? record.nextAttemptAt : null,
    deliveredAt: record.deliveredAt,
    networkId: record.networkId,
    seq: record.seq,
    webhookId: record.webhookId,
  };
}
