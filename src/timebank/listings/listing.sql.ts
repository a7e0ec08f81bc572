import type { ListingKind } from './listing.record';

/** Plain statement builders for listings, kept free of framework imports so tests can check the plans. */

export const LISTING_COLUMNS = 'id, seq, kind, party_id, title, category, description, hours_minor, created_at, closed_at, exchange_id';

export interface ListingQuery {
  readonly networkId: string;
  readonly kind: ListingKind;
  readonly partyId: string | null;
  readonly category: string | null;
  readonly open: boolean | null;
  /** Free text, read with PostgreSQL's websearch syntax ("garden -weeding", "\"bike repair\""). */
  readonly search: string | null;
  readonly beforeSeq: string | null;
  readonly limit: number;
}

/**
 * The statement of a page of offers or requests: newest first, keyset on `seq`. Only the
 * conditions asked for are put in the statement, so each query shape gets its own index:
 * (network_id, kind, category, seq), (network_id, party_id, seq), the partial index of open listings, or the GIN index
 * over `search`.
 */
export function listingPageSql(q: ListingQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [q.networkId, q.kind];
  const where = ['network_id = $1', 'kind = $2'];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (q.partyId !== null) add((p) => `party_id = ${p}`, q.partyId);
  if (q.category !== null) add((p) => `category = ${p}`, q.category);
  if (q.open === true) where.push('closed_at IS NULL');
  if (q.open === false) where.push('closed_at IS NOT NULL');
  if (q.search !== null) add((p) => `search @@ websearch_to_tsquery('english', ${p})`, q.search);
  if (q.beforeSeq !== null) add((p) => `seq < ${p}::bigint`, q.beforeSeq);
  params.push(q.limit);
  return { text: `SELECT ${LISTING_COLUMNS} FROM listings WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`, params };
}
