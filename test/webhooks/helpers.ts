import { waitFor } from '../timebank/helpers';
import type { GqlClient } from '../support/graphql';

export const WEBHOOK_FIELDS = 'id url events description createdAt account { id }';
export const DELIVERY_FIELDS = 'id eventId event status attempts lastStatusCode lastError nextAttemptAt deliveredAt';

export function createWebhook(
  client: GqlClient,
  args: { url: string; events: string[]; accountId?: string | null; description?: string | null },
) {
  return client.request<{ createWebhook: { webhook: { id: string; url: string }; secret: string } }>(
    `mutation($url: String!, $events: [WebhookEvent!]!, $accountId: ID, $description: String) {
       createWebhook(url: $url, events: $events, accountId: $accountId, description: $description) { webhook { ${WEBHOOK_FIELDS} } secret } }`,
    { accountId: null, description: null, ...args },
  );
}

export interface DeliveryView {
  id: string;
  eventId: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export async function deliveries(client: GqlClient, webhookId: string, first = 100): Promise<DeliveryView[]> {
  const data = await client.ok<{ webhookDeliveries: { edges: { node: DeliveryView }[] } }>(
    `query($id: ID!, $first: Int) { webhookDeliveries(webhookId: $id, first: $first) { edges { node { ${DELIVERY_FIELDS} } } } }`,
    { id: webhookId, first },
  );
  return data.webhookDeliveries.edges.map((e) => e.node);
}

/** Waits until a synchronous condition holds (the receiver's records), polling. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, () => Promise.resolve(check() ? true : undefined), timeoutMs);
}
