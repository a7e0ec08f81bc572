import { isoMicros, parseInstant, type PreciseDate } from '../../common/instant';
import type { Sql, TransactionSql } from '../../database/database';
import { eventRowsJson, type LedgerEvent } from '../events/ledger-events';
import type { AccountState } from './posting.rules';
import type { AccountStatus, HoldRecord, HoldStatus, TransactionKind, TransactionRecord } from './posting.types';

/**
 * The SQL of a posting group and nothing else: one call reads and locks everything a group
 * needs (`ledger_group_load`, migrations/0013, 0014, 0028 and 0030), one call writes everything it decided
 * (`ledger_group_write`, migrations/0019 and 0028). A group is of one network. With BEGIN and COMMIT a group
 * costs two round trips however many commands it carries when nothing runs after the write (BEGIN travels with the load, COMMIT with the write), more when something does (its own queries, then COMMIT). Only the posting group calls these.
 */

export interface IdempotencyRow {
  /** The key that first used it. */
  readonly apiKeyId: string;
  readonly key: string;
  /** `party:<id>` or `network`; null for records written before idempotency was scoped to the party (per key). */
  readonly scope: string | null;
  readonly requestHash: string;
  readonly resultType: 'transaction' | 'hold';
  readonly resultId: string;
}

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

export interface GroupNeeds {
  readonly idempotencyKeys: readonly { apiKeyId: string; key: string }[];
  readonly accountIds: readonly string[];
  readonly holdIds: readonly string[];
  readonly reverseIds: readonly string[];
  /** Release every expired hold (the sweeper), not only those on the group's accounts. */
  readonly sweepAll: boolean;
  /** Null: every expired hold on the group's accounts. */
  readonly expiredLimit: number | null;
}

export interface LoadedGroup {
  /** The network whose head was locked: every transaction of the group belongs to it. */
  readonly network: string;
  readonly sequence: bigint;
  readonly hash: string;
  /** The database's clock, read after the head was locked. */
  readonly clock: PreciseDate;
  /** When the last transaction was posted (the epoch before the first). */
  readonly headPostedAt: PreciseDate;
  /** This database transaction's id, to ask after an unacknowledged COMMIT whether it committed. */
  readonly xid: string;
  /** The idempotency scope of each API key of the group. */
  readonly scopes: ReadonlyMap<string, string>;
  /** Every transaction so far was imported with its original time (SPEC B.6). */
  readonly historyOpen: boolean;
  /**
   * The network had a live webhook when the head was locked: only then are outbox events built
   * (a webhook created later is created after this group's clock, migrations/0014).
   */
  readonly webhooksExist: boolean;
  readonly idempotency: IdempotencyRow[];
  readonly reversible: Map<string, ReversibleTransaction>;
  /** The holds asked for, and pending holds past their expiry on the group's accounts. */
  readonly holds: Map<string, HoldRecord>;
  readonly accounts: Map<string, AccountState>;
}

interface HoldJson {
  id: string;
  from_account_id: string;
  to_account_id: string;
  amount_minor: string;
  status: HoldStatus;
  kind: TransactionKind;
  memo: string | null;
  expires_at: string | null;
  api_key_id: string | null;
  transaction_id: string | null;
  captured_minor: string | null;
  created_at: string;
  resolved_at: string | null;
}

interface AccountJson {
  id: string;
  party_id: string;
  currency_code: string;
  scale: number;
  status: AccountStatus;
  credit_limit_minor: string;
  unlimited: boolean;
  max_balance_minor: string | null;
  posted_minor: string;
  pending_debits_minor: string;
  pending_credits_minor: string;
}

interface LoadJson {
  network: string;
  sequence: string;
  hash: string;
  clock: string;
  headPostedAt: string;
  xid: string;
  scopes: Record<string, string>;
  historyOpen: boolean;
  keys: IdempotencyRow[];
  reversible: { id: string; kind: TransactionKind; reversedById: string | null; postings: [string, string][] }[];
  holds: HoldJson[];
  expired: HoldJson[];
  accounts: AccountJson[];
}

/** Keeps the microseconds: expiry is judged against the group's clock at that precision. */
function date(text: string | null): Date | null {
  return text === null ? null : parseInstant(text);
}

function holdFromJson(h: HoldJson): HoldRecord {
  return {
    id: h.id,
    fromAccountId: h.from_account_id,
    toAccountId: h.to_account_id,
    amountMinor: BigInt(h.amount_minor),
    status: h.status,
    kind: h.kind,
    memo: h.memo,
    expiresAt: date(h.expires_at),
    apiKeyId: h.api_key_id,
    transactionId: h.transaction_id,
    capturedMinor: h.captured_minor === null ? null : BigInt(h.captured_minor),
    createdAt: parseInstant(h.created_at),
    resolvedAt: date(h.resolved_at),
  };
}

function accountFromJson(a: AccountJson): AccountState {
  return {
    id: a.id,
    partyId: a.party_id,
    currencyCode: a.currency_code,
    scale: a.scale,
    status: a.status,
    creditLimitMinor: BigInt(a.credit_limit_minor),
    unlimited: a.unlimited,
    maxBalanceMinor: a.max_balance_minor === null ? null : BigInt(a.max_balance_minor),
    postedMinor: BigInt(a.posted_minor),
    pendingDebitsMinor: BigInt(a.pending_debits_minor),
    pendingCreditsMinor: BigInt(a.pending_credits_minor),
  };
}

/** Locks the network's head, then holds, then accounts in id order, and reads what the group needs (of that network only). */
export async function loadGroup(tx: Sql, network: string, needs: GroupNeeds): Promise<LoadedGroup> {
  const [row] = await tx.query<{ loaded: LoadJson; webhooks_exist: boolean }>(
    'SELECT loaded, webhooks_exist FROM ledger_group_load_with_webhooks($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      network,
      needs.idempotencyKeys.map((k) => k.apiKeyId),
      needs.idempotencyKeys.map((k) => k.key),
      needs.accountIds,
      needs.holdIds,
      needs.reverseIds,
      needs.sweepAll,
      needs.expiredLimit,
    ],
  );
  if (!row) throw new Error('ledger_group_load returned nothing: have the migrations run?');
  const loaded = row.loaded;
  return {
    network: loaded.network,
    sequence: BigInt(loaded.sequence),
    hash: loaded.hash,
    clock: parseInstant(loaded.clock),
    headPostedAt: parseInstant(loaded.headPostedAt),
    xid: loaded.xid,
    scopes: new Map(Object.entries(loaded.scopes)),
    historyOpen: loaded.historyOpen,
    webhooksExist: row.webhooks_exist,
    idempotency: loaded.keys,
    reversible: new Map(
      loaded.reversible.map((t) => [
        t.id,
        {
          id: t.id,
          kind: t.kind,
          reversedById: t.reversedById,
          postings: t.postings.map(([accountId, amount]) => ({ accountId, amountMinor: BigInt(amount) })),
        },
      ]),
    ),
    holds: new Map([...loaded.holds, ...loaded.expired].map((h) => [h.id, holdFromJson(h)])),
    accounts: new Map(loaded.accounts.map((a) => [a.id, accountFromJson(a)])),
  };
}

/** The first transaction posted at the clock ends the time when history may be imported (SPEC B.6). */
export async function closeHistory(tx: Sql, network: string): Promise<void> {
  await tx.query('UPDATE ledger_head SET history_open = false WHERE network_id = $1 AND history_open', [network]);
}

/** Channel on which every instance hears of every posted transaction (SPEC section 9). */
export const POSTED_CHANNEL = 'ledger_posted';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const NOTIFY_PAYLOAD_LIMIT = 7000;

/**
 * Announces posted transactions as `network|id:account,account;id:account,...`, chunked under
 * the limit: listeners tell networks apart before they read anything.
 */
export function notifyPayloads(network: string, records: readonly TransactionRecord[]): string[] {
  const chunks: string[] = [];
  const prefix = `${network}|`;
  let current = '';
  for (const record of records) {
    // A transaction with very many postings is announced by id alone; listeners look it up.
    const full = `${record.id}:${record.postings.map((p) => p.accountId).join(',')}`;
    const entry = full.length > NOTIFY_PAYLOAD_LIMIT ? `${record.id}:*` : full;
    if (current.length > 0 && current.length + entry.length + 1 > NOTIFY_PAYLOAD_LIMIT) {
      chunks.push(prefix + current);
      current = '';
    }
    current = current.length === 0 ? entry : `${current};${entry}`;
  }
  if (current.length > 0) chunks.push(prefix + current);
  return chunks;
}

export interface GroupWrites {
  readonly transactions: readonly TransactionRecord[];
  readonly accounts: readonly AccountState[];
  readonly newHolds: readonly HoldRecord[];
  readonly holdChanges: readonly HoldChange[];
  readonly idempotency: readonly IdempotencyRow[];
  /** The new head, when the group posted anything. */
  readonly head: { sequence: bigint; hash: string; postedAt: PreciseDate } | null;
  /** The webhook outbox's rows, written only while some webhook exists (migrations/0007). */
  readonly events: readonly LedgerEvent[];
}

const text = (value: bigint) => value.toString();

const ARRAY_ESCAPE = /[\\"]/;

/**
 * PostgreSQL's text form of a one-dimensional array, `{"a","b",NULL}`, of `pick` applied to each
 * row, built in one pass: every element quoted, and escaped only when it holds a quote or a
 * backslash (ids, amounts, hashes and times never do). The group write sends some thirty such
 * columns; node-postgres's own array encoding runs two regular-expression replacements per
 * element, this one a test.
 */
export function arrayLiteral<T>(rows: readonly T[], pick: (row: T) => string | null): string {
  let out = '{';
  for (let i = 0; i < rows.length; i++) {
    const value = pick(rows[i] as T);
    if (i > 0) out += ',';
    if (value === null || value === undefined) out += 'NULL';
    else out += ARRAY_ESCAPE.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;
  }
  return `${out}}`;
}

/** One array literal per column of `rows`. */
function columns<T>(rows: readonly T[], ...pick: ((row: T) => string | null)[]): string[] {
  return pick.map((column) => arrayLiteral(rows, column));
}

/**
 * Writes a whole group in one call (`ledger_group_write`, migrations/0019); transactions are
 * NOTIFYed, delivered when the group commits. Transactions, postings, balances and idempotency
 * records travel as one array per column (bigints as decimal text), the few holds and events as
 * JSON documents.
 */
/** `commit`: the write and the transaction's COMMIT in one round trip (`TransactionSql.queryThenCommit`). */
export async function writeGroup(tx: TransactionSql, network: string, commit: boolean, w: GroupWrites): Promise<void> {
  const transactionColumns = columns(
    w.transactions,
    (r) => r.id,
    (r) => text(r.sequence),
    (r) => r.kind,
    (r) => r.memo,
    (r) => r.metadataText,
    (r) => r.externalRef,
    (r) => r.apiKeyId,
    (r) => isoMicros(r.postedAt),
    (r) => r.previousHash,
    (r) => r.hash,
    (r) => r.reversesId,
    (r) => String(r.hashVersion),
  );
  const postings = w.transactions.flatMap((r) => r.postings.map((p, idx) => ({ r, p, idx })));
  const postingColumns = columns(
    postings,
    ({ r }) => r.id,
    ({ idx }) => String(idx),
    ({ p }) => p.accountId,
    ({ p }) => text(p.amountMinor),
    ({ p }) => text(p.balanceAfterMinor),
    ({ r }) => text(r.sequence),
  );
  const accountColumns = columns(
    w.accounts,
    (a) => a.id,
    (a) => text(a.postedMinor),
    (a) => text(a.pendingDebitsMinor),
    (a) => text(a.pendingCreditsMinor),
  );
  const newHolds = w.newHolds.map((h) => ({
    id: h.id,
    from_account_id: h.fromAccountId,
    to_account_id: h.toAccountId,
    amount_minor: text(h.amountMinor),
    status: h.status,
    kind: h.kind,
    memo: h.memo,
    expires_at: h.expiresAt,
    api_key_id: h.apiKeyId,
    created_at: h.createdAt,
  }));
  const holdChanges = w.holdChanges.map((c) => ({
    id: c.id,
    status: c.status,
    transaction_id: c.transactionId,
    captured_minor: c.capturedMinor === null ? null : text(c.capturedMinor),
    resolved_at: c.resolvedAt,
  }));
  const idempotencyColumns = columns(
    w.idempotency,
    (i) => i.apiKeyId,
    (i) => i.key,
    (i) => i.requestHash,
    (i) => i.resultType,
    (i) => i.resultId,
    (i) => i.scope,
  );
  const params = [
    network,
    ...transactionColumns,
    ...postingColumns,
    ...accountColumns,
    JSON.stringify(newHolds),
    JSON.stringify(holdChanges),
    ...idempotencyColumns,
    w.head ? text(w.head.sequence) : null,
    w.head?.hash ?? null,
    w.head ? isoMicros(w.head.postedAt) : null,
    POSTED_CHANNEL,
    notifyPayloads(network, w.transactions),
    eventRowsJson(w.events),
  ];
  const statement = `SELECT ledger_group_write(${params.map((_, i) => `$${i + 1}`).join(', ')})`;
  await (commit ? tx.queryThenCommit(statement, params) : tx.query(statement, params));
}
