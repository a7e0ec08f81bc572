import { fromMinor } from '../../ledger/money/amount';
import type { Listing } from './listing.model';
import { HOURS_SCALE, type ListingRecord } from './listing.record';

/** The GraphQL `Offer` or `Request` of a listing record: hours as decimal text, open while not closed. */
export function toListingModel(record: ListingRecord): Listing {
  return {
    id: record.id,
    seq: record.seq,
    kind: record.kind,
    partyId: record.partyId,
    title: record.title,
    category: record.category,
    description: record.description,
    hours: record.hoursMinor === null ? null : fromMinor(record.hoursMinor, HOURS_SCALE),
    open: record.closedAt === null,
    createdAt: record.createdAt,
    closedAt: record.closedAt,
    exchangeId: record.exchangeId,
  };
}
