import { createHash } from 'node:crypto';

/**
 * The ledger-wide hash chain. Each transaction's hash covers its own content and the previous
 * transaction's hash, so changing any posted byte breaks every later link. The recipe is
 * documented in docs/hash-chain.md; `npm run verify` recomputes it outside the service.
 */
export const GENESIS_HASH = '0'.repeat(64);
export const HASH_VERSION = 1;

export interface HashableTransaction {
  readonly id: string;
  readonly sequence: bigint;
  readonly kind: string;
  readonly postedAt: Date;
  readonly previousHash: string;
  readonly memo: string | null;
  readonly metadata: unknown;
  readonly externalRef: string | null;
  readonly reversesId: string | null;
  readonly postings: readonly { readonly accountId: string; readonly amountMinor: bigint }[];
}

/** JSON with object keys sorted at every depth and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value);
}

function nullableString(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/**
 * The exact text that is hashed; see docs/hash-chain.md. It is `canonicalJson` of the array
 * [version, sequence, id, kind, postedAt, previousHash, memo, metadata, externalRef, reversesId,
 * [[accountId, amountMinor], ...]], written out directly because this runs for every posted
 * transaction (a unit test holds it to the same bytes).
 */
export function hashPayload(tx: HashableTransaction): string {
  let postings = '';
  for (const p of tx.postings)
    postings += `${postings.length === 0 ? '' : ','}[${JSON.stringify(p.accountId)},"${p.amountMinor.toString()}"]`;
  return (
    `[${HASH_VERSION},"${tx.sequence.toString()}",${JSON.stringify(tx.id)},${JSON.stringify(tx.kind)},"${tx.postedAt.toISOString()}",` +
    `${JSON.stringify(tx.previousHash)},${nullableString(tx.memo)},${canonicalJson(tx.metadata ?? null)},` +
    `${nullableString(tx.externalRef)},${nullableString(tx.reversesId)},[${postings}]]`
  );
}

export function transactionHash(tx: HashableTransaction): string {
  return createHash('sha256').update(hashPayload(tx)).digest('hex');
}
