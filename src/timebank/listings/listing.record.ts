export const LISTING_KINDS = ['OFFER', 'REQUEST'] as const;
export type ListingKind = (typeof LISTING_KINDS)[number];

/** Hours estimates are written with two decimals (hundredths of an hour), like `HOUR`. */
export const HOURS_SCALE = 2;

/**
 * An offer or request as ListingRepository reads it and ListingService decides on it; the GraphQL
 * `Offer` and `Request` are built from it at the edge (listing.mapper.ts).
 */
export interface ListingRecord {
  readonly id: string;
  /** The listing's place in its network's order (BIGINT as decimal text), newest last. */
  readonly seq: string;
  readonly kind: ListingKind;
  readonly partyId: string;
  readonly title: string;
  readonly category: string;
  readonly description: string | null;
  /** Estimated hours in hundredths (HOURS_SCALE); null: no estimate. */
  readonly hoursMinor: bigint | null;
  readonly createdAt: Date;
  /** null while open. */
  readonly closedAt: Date | null;
  readonly exchangeId: string | null;
}
