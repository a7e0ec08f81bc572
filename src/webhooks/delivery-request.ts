import { signatureHeader } from './signature';

/** The fields of one delivery's request (SPEC B.7). */
export interface DeliveryFields {
  readonly eventId: string;
  readonly eventType: string;
  readonly networkId: string;
  readonly occurredAtMs: number;
  /** The event's `data` as JSON text, spliced into the body as it is. */
  readonly data: string;
  readonly attempts: number;
}

/**
 * One delivery's body and header fields (name, value, name, value: written into the request as
 * they are, webhook-sender.ts). The event's data goes out as the database keeps it: spliced in,
 * never parsed and written again. The other fields are uuids, a type name of the LedgerEventType
 * enum and an ISO time, none with a character JSON escapes: written as they are, as
 * JSON.stringify of the object would write them. The body is encoded once: those bytes are signed
 * and sent.
 */
export function deliveryRequest(d: DeliveryFields, secret: Uint8Array | string): { body: Buffer; headers: string[] } {
  const body = Buffer.from(
    `{"id":"${d.eventId}","type":"${d.eventType}","network":"${d.networkId}","occurredAt":"${new Date(d.occurredAtMs).toISOString()}","data":${d.data}}`,
  );
  const headers = [
    'content-type',
    'application/json',
    'ledger-signature',
    signatureHeader(secret, body, Math.floor(Date.now() / 1000)),
    'ledger-event-id',
    d.eventId,
    'ledger-event-type',
    d.eventType,
    'ledger-delivery-attempt',
    String(d.attempts),
    'user-agent',
    'SolidarityLedger-Webhooks/1',
  ];
  return { body, headers };
}
