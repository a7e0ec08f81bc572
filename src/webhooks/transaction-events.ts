import { nextTurn } from '../common/event-loop';
import type { Sql } from '../database/database';
import { type AccountUnit, postingAccounts, transactionPostedJson } from '../ledger/events/ledger-events';
import type { PostedPayloads } from '../ledger/events/posted-payloads';

/**
 * TRANSACTION_POSTED events written by reference (migrations/0034): the outbox row names its
 * transaction by sequence (`transaction_sequence`), and its payload is read from the ledger when
 * the event is fanned out or sent. `withPostedData` fills such rows' `data` and `account_ids` as
 * a document would have held them (with the posting group's own builder, so both kinds of row give
 * the same payload).
 */

/**
 * Sequences of one network at most this far apart are read as one range of the sequence indexes:
 * one index descent per run of events rather than one per event. The transactions in between that
 * no event names (those of groups that wrote documents) are read and passed over.
 */
const MAX_GAP = 64;

/** Payloads built in one stretch of the event loop (common/event-loop.ts). */
const PAYLOADS_PER_SLICE = 64;

interface EventRow {
  network_id: string;
  /** The payload as JSON text; null when written by reference. */
  data: string | null;
  account_ids: string[] | null;
  /** The transaction named, when written by reference (decimal text). */
  transaction_sequence: string | null;
}

interface TransactionRow {
  network_id: string;
  sequence: string;
  id: string;
  kind: string;
  memo: string | null;
  posted_at: string;
  hash: string;
  /** `account:amount_minor` of each posting, in order, joined by commas (one row per transaction, not per posting). */
  postings: string;
}

/** Accounts whose units are kept at most; past it the cache starts again (each is looked up again when next met). */
const MAX_KNOWN_ACCOUNTS = 100_000;

/** What each account's amounts are written in; learnt once per account and kept (an account's currency never changes). */
export class AccountUnits {
  private readonly known = new Map<string, AccountUnit>();

  readonly unitOf = (accountId: string): AccountUnit => {
    const unit = this.known.get(accountId);
    if (!unit) throw new Error(`the currency of account ${accountId} was not loaded`);
    return unit;
  };

  knows(accountId: string): boolean {
    return this.known.has(accountId);
  }

  /** Loads the units of the accounts not known yet, in one query. */
  async load(sql: Pick<Sql, 'query'>, accounts: readonly { networkId: string; accountId: string }[]): Promise<void> {
    const missing = new Map<string, string>();
    for (const { networkId, accountId } of accounts) if (!this.known.has(accountId)) missing.set(accountId, networkId);
    if (missing.size === 0) return;
    const rows = await sql.query<{ id: string; currency_code: string; scale: number }>(
      `SELECT a.id, a.currency_code, c.scale
         FROM unnest($1::uuid[], $2::uuid[]) AS v(network_id, id)
         JOIN accounts a ON a.network_id = v.network_id AND a.id = v.id
         JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code`,
      [[...missing.values()], [...missing.keys()]],
    );
    if (this.known.size + rows.length > MAX_KNOWN_ACCOUNTS) this.known.clear();
    for (const row of rows) this.known.set(row.id, { currencyCode: row.currency_code, scale: row.scale });
  }
}

/**
 * Fills, in place, `data` (JSON text) and `account_ids` of the rows written by reference; rows
 * written as documents are left as they are: one query, whatever the number of rows (and one more
 * for the currencies of accounts not met before). With `kept`, the transactions this instance
 * posted and still keeps are built from what their group decided, and only the others are read.
 */
export async function withPostedData<T extends EventRow>(
  sql: Pick<Sql, 'query'>,
  units: AccountUnits,
  rows: T[],
  kept?: PostedPayloads,
): Promise<(T & { data: string; account_ids: string[] })[]> {
  if (kept) {
    let built = 0;
    for (const row of rows) {
      if (row.data !== null || row.transaction_sequence === null) continue;
      // A payload is a few microseconds of JSON: built in slices, between which the event loop serves the posting groups.
      if (++built % PAYLOADS_PER_SLICE === 0) await nextTurn();
      const payload = kept.take(row.network_id, row.transaction_sequence);
      if (!payload) continue;
      row.data = payload.data;
      row.account_ids = payload.accountIds;
    }
  }
  const byReference = rows.filter((row) => row.data === null);
  if (byReference.length > 0) {
    const ranges = runsOf(byReference);
    const transactions = await sql.query<TransactionRow>(
      `SELECT t.network_id, t.sequence::text AS sequence, t.id, t.kind, t.memo,
              to_char(t.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS posted_at, t.hash, p.postings
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(network_id, lo, hi)
         JOIN transactions t ON t.network_id = r.network_id AND t.sequence BETWEEN r.lo AND r.hi
         JOIN (SELECT p.network_id, p.sequence, string_agg(p.account_id || ':' || p.amount_minor, ',' ORDER BY p.idx) AS postings
                 FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(network_id, lo, hi)
                 JOIN postings p ON p.network_id = r.network_id AND p.sequence BETWEEN r.lo AND r.hi
                GROUP BY p.network_id, p.sequence) p ON p.network_id = t.network_id AND p.sequence = t.sequence`,
      [ranges.map((r) => r.networkId), ranges.map((r) => r.lo.toString()), ranges.map((r) => r.hi.toString())],
    );
    const found = new Map<string, { row: TransactionRow; postings: { accountId: string; amountMinor: bigint }[] }>();
    const unknown: { networkId: string; accountId: string }[] = [];
    for (const t of transactions) {
      const postings = t.postings.split(',').map((posting) => {
        const colon = posting.indexOf(':');
        return { accountId: posting.slice(0, colon), amountMinor: BigInt(posting.slice(colon + 1)) };
      });
      for (const p of postings) if (!units.knows(p.accountId)) unknown.push({ networkId: t.network_id, accountId: p.accountId });
      found.set(`${t.network_id}:${t.sequence}`, { row: t, postings });
    }
    await units.load(sql, unknown);
    for (let i = 0; i < byReference.length; i++) {
      if (i > 0 && i % PAYLOADS_PER_SLICE === 0) await nextTurn();
      const row = byReference[i] as T;
      const key = `${row.network_id}:${row.transaction_sequence}`;
      const named = found.get(key);
      if (!named) throw new Error(`an outbox event names transaction ${key}, which is not in the ledger`);
      const { row: t, postings } = named;
      row.data = transactionPostedJson(
        { id: t.id, sequence: t.sequence, kind: t.kind, memo: t.memo, postedAt: t.posted_at, hash: t.hash, postings },
        units.unitOf,
      );
      row.account_ids = postingAccounts(postings);
    }
  }
  return rows as (T & { data: string; account_ids: string[] })[];
}

/** The rows' transaction sequences as ranges, per network, each covering a run of sequences at most MAX_GAP apart. */
function runsOf(rows: readonly EventRow[]): { networkId: string; lo: bigint; hi: bigint }[] {
  const byNetwork = new Map<string, bigint[]>();
  for (const row of rows) {
    let list = byNetwork.get(row.network_id);
    if (!list) byNetwork.set(row.network_id, (list = []));
    list.push(BigInt(row.transaction_sequence as string));
  }
  const ranges: { networkId: string; lo: bigint; hi: bigint }[] = [];
  for (const [networkId, sequences] of byNetwork) {
    sequences.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let range: { networkId: string; lo: bigint; hi: bigint } | null = null;
    for (const sequence of sequences) {
      if (range && sequence - range.hi <= MAX_GAP) range.hi = sequence;
      else ranges.push((range = { networkId, lo: sequence, hi: sequence }));
    }
  }
  return ranges;
}
