import type { Sql } from '../../database/database';
import type { AccountState } from './posting.rules';
import type { AccountStatus, HoldRecord, HoldStatus, TransactionKind, TransactionRecord } from './posting.types';

/**
 * The SQL of a posting group and nothing else. Every write is set-based (one statement per
 * table per group, over `unnest` arrays), so a group of 1000 transactions costs a handful of
 * round trips. Only the posting service calls these.
 */

export interface LedgerHead {
  readonly sequence: bigint;
  readonly hash: string;
  readonly postedAt: Date;
}

export interface IdempotencyRow {
  readonly apiKeyId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly resultType: 'transaction' | 'hold';
  readonly resultId: string;
}

export type NewIdempotencyRow = IdempotencyRow;

export interface HoldChange {
  readonly id: string;
  readonly status: HoldStatus;
  readonly transactionId: string | null;
  readonly capturedMinor: bigint | null;
  readonly resolvedAt: Date;
}

export interface ReversibleTransaction {
  readonly id: string;
  readonly kind: TransactionKind;
  readonly reversedById: string | null;
  readonly postings: readonly { accountId: string; amountMinor: bigint }[];
}

export async function lockHead(tx: Sql): Promise<LedgerHead> {
  const [row] = await tx.query<{ sequence: string; hash: string; posted_at: Date }>(
    'SELECT sequence, hash, posted_at FROM ledger_head WHERE id FOR UPDATE',
  );
  if (!row) throw new Error('ledger_head row is missing: the migrations have not run');
  return { sequence: BigInt(row.sequence), hash: row.hash, postedAt: row.posted_at };
}

export async function updateHead(tx: Sql, head: LedgerHead): Promise<void> {
  await tx.query('UPDATE ledger_head SET sequence = $1, hash = $2, posted_at = $3 WHERE id', [
    head.sequence.toString(),
    head.hash,
    head.postedAt,
  ]);
}

export async function findIdempotency(tx: Sql, apiKeyIds: readonly string[], keys: readonly string[]): Promise<IdempotencyRow[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<{
    api_key_id: string;
    key: string;
    request_hash: string;
    result_type: 'transaction' | 'hold';
    result_id: string;
  }>(
    `SELECT i.api_key_id, i.key, i.request_hash, i.result_type, i.result_id
       FROM idempotency_keys i
       JOIN unnest($1::uuid[], $2::text[]) AS w(api_key_id, key) ON w.api_key_id = i.api_key_id AND w.key = i.key`,
    [apiKeyIds, keys],
  );
  return rows.map((r) => ({
    apiKeyId: r.api_key_id,
    key: r.key,
    requestHash: r.request_hash,
    resultType: r.result_type,
    resultId: r.result_id,
  }));
}

export async function insertIdempotency(tx: Sql, rows: readonly NewIdempotencyRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO idempotency_keys (api_key_id, key, request_hash, result_type, result_id)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[])`,
    [
      rows.map((r) => r.apiKeyId),
      rows.map((r) => r.key),
      rows.map((r) => r.requestHash),
      rows.map((r) => r.resultType),
      rows.map((r) => r.resultId),
    ],
  );
}

interface AccountRow {
  id: string;
  party_id: string;
  currency_code: string;
  scale: number;
  status: AccountStatus;
  credit_limit_minor: string;
  unlimited: boolean;
  posted_minor: string;
  pending_debits_minor: string;
  pending_credits_minor: string;
}

/** Locks the accounts in id order, the one order every writer uses, so writers cannot deadlock. */
export async function lockAccounts(tx: Sql, ids: readonly string[]): Promise<Map<string, AccountState>> {
  const rows = await tx.query<AccountRow>(
    `SELECT a.id, a.party_id, a.currency_code, c.scale, a.status, a.credit_limit_minor, a.unlimited,
            a.posted_minor, a.pending_debits_minor, a.pending_credits_minor
       FROM accounts a JOIN currencies c ON c.code = a.currency_code
      WHERE a.id = ANY($1::uuid[])
      ORDER BY a.id
      FOR UPDATE OF a`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        partyId: r.party_id,
        currencyCode: r.currency_code,
        scale: r.scale,
        status: r.status,
        creditLimitMinor: BigInt(r.credit_limit_minor),
        unlimited: r.unlimited,
        postedMinor: BigInt(r.posted_minor),
        pendingDebitsMinor: BigInt(r.pending_debits_minor),
        pendingCreditsMinor: BigInt(r.pending_credits_minor),
      },
    ]),
  );
}

export async function updateAccountBalances(tx: Sql, accounts: readonly AccountState[]): Promise<void> {
  if (accounts.length === 0) return;
  await tx.query(
    `UPDATE accounts a
        SET posted_minor = v.posted, pending_debits_minor = v.pending_debits, pending_credits_minor = v.pending_credits
       FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, posted, pending_debits, pending_credits)
      WHERE a.id = v.id`,
    [
      accounts.map((a) => a.id),
      accounts.map((a) => a.postedMinor.toString()),
      accounts.map((a) => a.pendingDebitsMinor.toString()),
      accounts.map((a) => a.pendingCreditsMinor.toString()),
    ],
  );
}

export async function insertTransactions(tx: Sql, records: readonly TransactionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await tx.query(
    `INSERT INTO transactions (id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id)
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::uuid[],
                          $8::timestamptz[], $9::text[], $10::text[], $11::uuid[])`,
    [
      records.map((r) => r.id),
      records.map((r) => r.sequence.toString()),
      records.map((r) => r.kind),
      records.map((r) => r.memo),
      records.map((r) => (r.metadata === null || r.metadata === undefined ? null : JSON.stringify(r.metadata))),
      records.map((r) => r.externalRef),
      records.map((r) => r.apiKeyId),
      records.map((r) => r.postedAt),
      records.map((r) => r.previousHash),
      records.map((r) => r.hash),
      records.map((r) => r.reversesId),
    ],
  );
  const txIds: string[] = [];
  const idx: number[] = [];
  const accountIds: string[] = [];
  const amounts: string[] = [];
  const balances: string[] = [];
  const sequences: string[] = [];
  for (const record of records) {
    record.postings.forEach((p, i) => {
      txIds.push(record.id);
      idx.push(i);
      accountIds.push(p.accountId);
      amounts.push(p.amountMinor.toString());
      balances.push(p.balanceAfterMinor.toString());
      sequences.push(record.sequence.toString());
    });
  }
  await tx.query(
    `INSERT INTO postings (transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
     SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[])`,
    [txIds, idx, accountIds, amounts, balances, sequences],
  );
}

export async function loadReversible(tx: Sql, ids: readonly string[]): Promise<Map<string, ReversibleTransaction>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.query<{ id: string; kind: TransactionKind; reversed_by: string | null; account_id: string; amount_minor: string }>(
    `SELECT t.id, t.kind, r.id AS reversed_by, p.account_id, p.amount_minor
       FROM transactions t
       JOIN postings p ON p.transaction_id = t.id
       LEFT JOIN transactions r ON r.reverses_id = t.id
      WHERE t.id = ANY($1::uuid[])
      ORDER BY t.id, p.idx`,
    [ids],
  );
  const found = new Map<string, ReversibleTransaction & { postings: { accountId: string; amountMinor: bigint }[] }>();
  for (const row of rows) {
    let entry = found.get(row.id);
    if (!entry) {
      entry = { id: row.id, kind: row.kind, reversedById: row.reversed_by, postings: [] };
      found.set(row.id, entry);
    }
    entry.postings.push({ accountId: row.account_id, amountMinor: BigInt(row.amount_minor) });
  }
  return found;
}

interface HoldRow {
  id: string;
  from_account_id: string;
  to_account_id: string;
  amount_minor: string;
  status: HoldStatus;
  kind: TransactionKind;
  memo: string | null;
  expires_at: Date | null;
  api_key_id: string | null;
  transaction_id: string | null;
  captured_minor: string | null;
  created_at: Date;
  resolved_at: Date | null;
}

export const HOLD_COLUMNS = `h.id, h.from_account_id, h.to_account_id, h.amount_minor, h.status, h.kind, h.memo, h.expires_at,
  h.api_key_id, h.transaction_id, h.captured_minor, h.created_at, h.resolved_at`;

export function holdFromRow(r: HoldRow): HoldRecord {
  return {
    id: r.id,
    fromAccountId: r.from_account_id,
    toAccountId: r.to_account_id,
    amountMinor: BigInt(r.amount_minor),
    status: r.status,
    kind: r.kind,
    memo: r.memo,
    expiresAt: r.expires_at,
    apiKeyId: r.api_key_id,
    transactionId: r.transaction_id,
    capturedMinor: r.captured_minor === null ? null : BigInt(r.captured_minor),
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
  };
}

export async function lockHolds(tx: Sql, ids: readonly string[]): Promise<Map<string, HoldRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM holds h WHERE h.id = ANY($1::uuid[]) ORDER BY h.id FOR UPDATE`, [ids]);
  return new Map(rows.map((r) => [r.id, holdFromRow(r)]));
}

/** Pending holds past their expiry: touching `accountIds`, or any when `accountIds` is null. */
export async function lockExpiredHolds(tx: Sql, now: Date, accountIds: readonly string[] | null, limit: number): Promise<HoldRecord[]> {
  const rows = await tx.query<HoldRow>(
    `SELECT ${HOLD_COLUMNS} FROM holds h
      WHERE h.status = 'PENDING' AND h.expires_at <= $1
        AND ($2::uuid[] IS NULL OR h.from_account_id = ANY($2::uuid[]) OR h.to_account_id = ANY($2::uuid[]))
      ORDER BY h.id LIMIT $3 FOR UPDATE`,
    [now, accountIds, limit],
  );
  return rows.map(holdFromRow);
}

export async function insertHolds(tx: Sql, holds: readonly HoldRecord[]): Promise<void> {
  if (holds.length === 0) return;
  await tx.query(
    `INSERT INTO holds (id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::uuid[], $10::timestamptz[])`,
    [
      holds.map((h) => h.id),
      holds.map((h) => h.fromAccountId),
      holds.map((h) => h.toAccountId),
      holds.map((h) => h.amountMinor.toString()),
      holds.map((h) => h.status),
      holds.map((h) => h.kind),
      holds.map((h) => h.memo),
      holds.map((h) => h.expiresAt),
      holds.map((h) => h.apiKeyId),
      holds.map((h) => h.createdAt),
    ],
  );
}

export async function updateHolds(tx: Sql, changes: readonly HoldChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(
    `UPDATE holds h SET status = v.status, transaction_id = v.transaction_id, captured_minor = v.captured, resolved_at = v.resolved_at
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::timestamptz[]) AS v(id, status, transaction_id, captured, resolved_at)
      WHERE h.id = v.id`,
    [
      changes.map((c) => c.id),
      changes.map((c) => c.status),
      changes.map((c) => c.transactionId),
      changes.map((c) => (c.capturedMinor === null ? null : c.capturedMinor.toString())),
      changes.map((c) => c.resolvedAt),
    ],
  );
}

/** Channel on which every instance hears of every posted transaction (SPEC section 9). */
export const POSTED_CHANNEL = 'ledger_posted';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const NOTIFY_PAYLOAD_LIMIT = 7000;

/** Announces posted transactions as `id:account,account;id:account,...`, chunked under the limit. */
export async function notifyPosted(tx: Sql, records: readonly TransactionRecord[]): Promise<void> {
  const chunks: string[] = [];
  let current = '';
  for (const record of records) {
    // A transaction with very many postings is announced by id alone; listeners look it up.
    const full = `${record.id}:${record.postings.map((p) => p.accountId).join(',')}`;
    const entry = full.length > NOTIFY_PAYLOAD_LIMIT ? `${record.id}:*` : full;
    if (current.length > 0 && current.length + entry.length + 1 > NOTIFY_PAYLOAD_LIMIT) {
      chunks.push(current);
      current = '';
    }
    current = current.length === 0 ? entry : `${current};${entry}`;
  }
  if (current.length > 0) chunks.push(current);
  if (chunks.length === 0) return;
  await tx.query(`SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload`, [POSTED_CHANNEL, chunks]);
}
