import { randomUUID } from 'node:crypto';
import { validationFailed } from './domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every id in this API is a UUID; anything else is refused before it reaches SQL. */
export function checkId(id: string, field = 'id'): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw validationFailed(field, 'not a valid id');
  return id.toLowerCase();
}

export function checkIds(ids: readonly string[], field: string): string[] {
  return ids.map((id, i) => checkId(id, `${field}.${i}`));
}

/**
 * A UUID version 7 (RFC 9562): the first 48 bits are the milliseconds since the epoch, the rest
 * random (74 bits, from `randomUUID`). Ids made close in time sort close together, so a table
 * whose primary key is such an id grows at the right edge of its index instead of touching a
 * random page per row: the ledger's transaction ids (and their postings' key), a thousand per
 * deposit batch. It tells no more than the row's own time (a transaction's `postedAt`).
 */
export function timeOrderedUuid(nowMs: number = Date.now()): string {
  // random is xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its variant and random bits, version 7.
  return `${timePrefix(nowMs)}${randomUUID().slice(15)}`;
}

let lastPrefixMs = -1;
let lastPrefix = '';

/** `tttttttt-tttt-7` for a millisecond; kept for the last one (a deposit batch makes a thousand ids in a few). */
function timePrefix(nowMs: number): string {
  if (nowMs !== lastPrefixMs) {
    const time = nowMs.toString(16).padStart(12, '0');
    lastPrefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    lastPrefixMs = nowMs;
  }
  return lastPrefix;
}
