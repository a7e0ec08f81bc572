import { timeOrderedUuid } from '../common/ids';

/**
 * Delivery ids of a fan-out round. The deliveries a round claims for one webhook share a batch id
 * (a time-ordered UUID whose last 16 bits are zero) and each takes the next place in it: its id is
 * the batch id with those 16 bits replaced by its place. Those the round delivers are written as
 * one row of `webhook_delivered_batches` under the batch id (migrations/0037), and any of them is
 * found from its own id alone: the batch's key and the place in it.
 */
export class RoundDeliveryIds {
  private readonly batches = new Map<string, { base: string; next: number }>();

  /** The next delivery id of the webhook's batch in this round. */
  take(webhookId: string): string {
    let batch = this.batches.get(webhookId);
    if (!batch || batch.next === PLACES) {
      batch = { base: timeOrderedUuid(), next: 0 };
      this.batches.set(webhookId, batch);
    }
    return deliveryIdAt(batch.base, batch.next++);
  }
}

/** Places per batch: what the last 16 bits of an id hold. */
const PLACES = 0x10000;
/** Where the place starts in an id's text (its last four hex digits). */
const PLACE_AT = 32;

/** The id of the delivery at `place` (0-based) of the batch whose id (or its first 32 characters) is given. */
export function deliveryIdAt(batchId: string, place: number): string {
  return batchId.slice(0, PLACE_AT) + place.toString(16).padStart(4, '0');
}

/** The batch a delivery id would belong to, and its place (0-based) there. The id is a checked, lower-case UUID. */
export function batchPlaceOf(id: string): { batchId: string; place: number } {
  return { batchId: deliveryIdAt(id, 0), place: Number.parseInt(id.slice(PLACE_AT), 16) };
}
