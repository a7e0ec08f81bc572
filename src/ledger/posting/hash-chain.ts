import { hash } from 'node:crypto';
import Decimal from 'decimal.js';
import { isoMicros } from '../../common/instant';

/**
 * The ledger-wide hash chain. Each transaction's hash covers its own content and the previous
 * transaction's hash, so changing any posted byte breaks every later link. The recipe is
 * documented in docs/hash-chain.md; `npm run verify` recomputes it outside the service.
 */
export const GENESIS_HASH = '0'.repeat(64);
/** The recipe every new transaction is hashed under; each transaction stores its own (`hash_version`). */
export const HASH_VERSION = 2;
export const HASH_VERSIONS = [1, 2] as const;
export type HashVersion = (typeof HASH_VERSIONS)[number];

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

/**
 * JSON with object keys sorted at every depth (by UTF-16 code units, as `<` compares) and no
 * whitespace: one text per value. Properties whose value is undefined are left out. Written as
 * loops over sorted keys: it runs for every idempotent request (its request hash) and every
 * transaction's metadata.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    let out = '{';
    for (const key of keys) {
      const item = object[key];
      if (item === undefined) continue;
      out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(item);
    }
    return out + '}';
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value);
}

function nullableString(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/**
 * Version 1 (transactions posted before hash_version existed): `canonicalJson` of the array
 * [1, sequence, id, kind, postedAt (milliseconds), previousHash, memo, metadata, externalRef,
 * reversesId, [[accountId, amountMinor], ...]]. Kept so that old transactions still verify.
 */
export function hashPayloadV1(tx: HashableTransaction): string {
  let postings = '';
  for (const p of tx.postings)
    postings += `${postings.length === 0 ? '' : ','}[${JSON.stringify(p.accountId)},"${p.amountMinor.toString()}"]`;
  return (
    `[1,"${tx.sequence.toString()}",${JSON.stringify(tx.id)},${JSON.stringify(tx.kind)},"${tx.postedAt.toISOString()}",` +
    `${JSON.stringify(tx.previousHash)},${nullableString(tx.memo)},${canonicalJson(tx.metadata ?? null)},` +
    `${nullableString(tx.externalRef)},${nullableString(tx.reversesId)},[${postings}]]`
  );
}

/** A transaction as stored, every column, for recipe version 2. */
export interface HashableTransactionV2 {
  /** The network (SPEC B.3) whose chain the transaction belongs to. */
  readonly networkId: string;
  readonly id: string;
  readonly sequence: bigint;
  readonly kind: string;
  /** At its stored precision (microseconds): a `PreciseDate` when read from the database. */
  readonly postedAt: Date;
  readonly previousHash: string;
  readonly memo: string | null;
  /** The metadata exactly as jsonb stores and prints it (`metadata::text`), or null. */
  readonly metadataText: string | null;
  readonly externalRef: string | null;
  readonly reversesId: string | null;
  /** The API key that posted it; null for the service's own work. */
  readonly apiKeyId: string | null;
  /** In stored order (`idx` 0, 1, ...). */
  readonly postings: readonly HashablePostingV2[];
}

export interface HashablePostingV2 {
  readonly idx: number;
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly balanceAfterMinor: bigint;
  /** The sequence stored on the posting (always the transaction's own). */
  readonly sequence: bigint;
}

/**
 * Version 2: every stored column of the transaction and of its postings, at full precision. The
 * text is the canonical JSON array
 * [2, networkId, sequence, id, kind, postedAt (microseconds), previousHash, memo, metadataText,
 *  externalRef, reversesId, apiKeyId, [[idx, accountId, amountMinor, balanceAfterMinor, sequence], ...]]
 * written out directly (it runs for every posted transaction); docs/hash-chain.md has a worked example.
 */
export function hashPayloadV2(tx: HashableTransactionV2): string {
  // A posting's sequence is its transaction's: its text is made once (a bigint's text is not cheap).
  const sequence = tx.sequence.toString();
  let postings = '';
  for (const p of tx.postings) {
    postings +=
      `${postings.length === 0 ? '' : ','}[${p.idx},${JSON.stringify(p.accountId)},"${p.amountMinor.toString()}",` +
      `"${p.balanceAfterMinor.toString()}","${p.sequence === tx.sequence ? sequence : p.sequence.toString()}"]`;
  }
  return (
    `[2,${JSON.stringify(tx.networkId)},"${sequence}",${JSON.stringify(tx.id)},${JSON.stringify(tx.kind)},"${isoMicros(tx.postedAt)}",` +
    `${JSON.stringify(tx.previousHash)},${nullableString(tx.memo)},${nullableString(tx.metadataText)},` +
    `${nullableString(tx.externalRef)},${nullableString(tx.reversesId)},${nullableString(tx.apiKeyId)},[${postings}]]`
  );
}

/** @deprecated name kept for version-1 callers: the payload of recipe version 1. */
export const hashPayload = hashPayloadV1;

/** One-shot (`crypto.hash`): no Hash object per call; it runs for every transaction and every idempotent request. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

export function transactionHash(tx: HashableTransaction): string {
  return sha256Hex(hashPayloadV1(tx));
}

export function transactionHashV2(tx: HashableTransactionV2): string {
  return sha256Hex(hashPayloadV2(tx));
}

/**
 * The text PostgreSQL's jsonb prints for a JSON value (what `metadata::text` returns), so that
 * version 2 hashes metadata as stored, not as a JavaScript round trip: object keys ordered by
 * UTF-8 length and then bytes, `": "` and `", "` between items, numbers in plain decimal notation
 * (numeric's output: `1e+21` is `1000000000000000000000`). The posting group's write refuses a
 * text that jsonb would store differently, so a difference here fails loudly, never silently.
 */
export function jsonbText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error('metadata numbers must be finite');
      return new Decimal(JSON.stringify(value)).toFixed();
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new Error(`metadata cannot hold a ${typeof value}`);
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => jsonbText(item)).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ({ bytes: Buffer.from(k, 'utf8'), key: k, value: v }))
    .sort((a, b) => a.bytes.length - b.bytes.length || Buffer.compare(a.bytes, b.bytes));
  return `{${entries.map((e) => `${JSON.stringify(e.key)}: ${jsonbText(e.value)}`).join(', ')}}`;
}
