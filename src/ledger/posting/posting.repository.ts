import { isoMicros, parseInstant, type PreciseDate } from '../../common/instant';
import type { Sql, TransactionSql } from '../../database/database';
import { ArrayText, arrayLiteral, plainArray } from '../../database/array-literal';
import { eventRowsJson, type LedgerEvent } from '../events/ledger-events';
import type { AccountState } from './posting.rules';
import type { AccountStatus, HoldRecord, HoldStatus, TransactionKind, TransactionRecord } from './posting.types';

/**
 * The SQL of a posting group and nothing else: one call reads and locks everything a group
 * needs (`ledger_group_load`, migrations/0013, 0014, 0028, 0030, 0035 and 0036; `ledger_group_load_ahead` for a group
 * applied ahead, 0036), one call writes everything it decided (`ledger_group_write`, migrations/0019, 0028, 0034 and 0036). A group is of one network. With BEGIN and COMMIT a group
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

interface AheadJson {
  clock: string;
  xid: string;
  scopes: Record<string, string>;
  keys: IdempotencyRow[];
  accounts: (AccountJson & { xmin: string })[];
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

/**
 * The state a group of this instance is about to commit, to which the next group may be applied
 * before that commit (`loadAhead`, migrations/0036): the head it leaves, and the balances of the
 * accounts it writes.
 */
export interface GroupTip {
  readonly network: string;
  /** Its database transaction, as the 32-bit id its rows carry (`xmin`). */
  readonly xmin: string;
  readonly sequence: bigint;
  readonly hash: string;
  readonly postedAt: PreciseDate;
  readonly historyOpen: boolean;
  /**
   * An account it writes, as it writes it (undefined for any other). Its own state, not a copy:
   * a group publishes its tip only when nothing runs after its write, so the state no longer
   * changes; whoever applies to it works on a copy.
   */
  readonly decided: (accountId: string) => AccountState | undefined;
}

/** What a group applied ahead counts on; its write checks all of it under the head (ledger_group_write). */
export interface AheadExpectations {
  readonly sequence: bigint;
  readonly hash: string;
  /** Each account the group read, with the row version (`xmin`) it counted on. */
  readonly accounts: ReadonlyMap<string, string>;
}

/** The low 32 bits of a transaction id (`pg_current_xact_id()`): what `xmin` holds of its rows. */
export function xminOf(xid: string): string {
  return (BigInt(xid) & 0xffff_ffffn).toString();
}

/**
 * The load of a group applied on top of `tip` while the group that decided it still holds the
 * network's head (`ledger_group_load_ahead`): its idempotency records, the clock, and the accounts
 * the tip does not write as they are now, each with its row version; nothing is locked or waited
 * for. Null when a pending hold of its accounts is past its expiry (only a group holding the head
 * releases holds).
 */
export async function loadAhead(
  tx: Sql,
  tip: GroupTip,
  needs: GroupNeeds,
): Promise<{ loaded: LoadedGroup; expect: AheadExpectations } | null> {
  const [row] = await tx.query<{ loaded: AheadJson | null }>('SELECT ledger_group_load_ahead($1, $2, $3, $4) AS loaded', [
    tip.network,
    needs.idempotencyKeys.map((k) => k.apiKeyId),
    needs.idempotencyKeys.map((k) => k.key),
    needs.accountIds,
  ]);
  if (!row) throw new Error('ledger_group_load_ahead returned nothing: have the migrations run?');
  const ahead = row.loaded;
  if (ahead === null) return null;
  const accounts = new Map<string, AccountState>();
  const versions = new Map<string, string>();
  for (const a of ahead.accounts) {
    const decided = tip.decided(a.id);
    // A copy: the group ahead keeps its own.
    accounts.set(a.id, decided ? { ...decided } : accountFromJson(a));
    versions.set(a.id, decided ? tip.xmin : a.xmin);
  }
  const loaded: LoadedGroup = {
    network: tip.network,
    sequence: tip.sequence,
    hash: tip.hash,
    clock: parseInstant(ahead.clock),
    headPostedAt: tip.postedAt,
    xid: ahead.xid,
    scopes: new Map(Object.entries(ahead.scopes)),
    historyOpen: tip.historyOpen,
    // Whether some webhook exists is decided by the write, under the head: events are built for it.
    webhooksExist: true,
    idempotency: ahead.keys,
    reversible: new Map(),
    holds: new Map(),
    accounts,
  };
  return { loaded, expect: { sequence: tip.sequence, hash: tip.hash, accounts: versions } };
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
  /** The webhook outbox's rows as documents, written only while some webhook exists (migrations/0007). */
  readonly events: readonly LedgerEvent[];
  /** Instead: a TRANSACTION_POSTED row naming each of the transactions (migrations/0034), under the same rule. */
  readonly transactionEvents: boolean;
  /** A group applied ahead (`loadAhead`): what its write checks before it writes the accounts and the head. */
  readonly expect?: AheadExpectations;
}

const text = (value: bigint) => value.toString();

/** One array literal per column of `rows`. */
function columns<T>(rows: readonly T[], ...pick: ((row: T) => string | null)[]): string[] {
  return pick.map((column) => arrayLiteral(rows, column));
}

/**
 * The transactions' twelve columns and their postings' six, in one pass (a deposit batch has a
 * thousand transactions and two thousand postings, built under the head lock). The order of
 * each list is that of `ledger_group_write`'s parameters.
 */
function transactionAndPostingColumns(transactions: readonly TransactionRecord[]): { transactions: string[]; postings: string[] } {
  const plain = () => new ArrayText(true);
  const free = () => new ArrayText(false);
  const [id, sequence, kind, memo, metadata, externalRef] = [plain(), plain(), plain(), free(), free(), free()];
  const [apiKeyId, postedAt, previousHash, hash, reversesId, hashVersion] = [plain(), plain(), plain(), plain(), plain(), plain()];
  const [pTransaction, pIdx, pAccount, pAmount, pBalanceAfter, pSequence] = [plain(), plain(), plain(), plain(), plain(), plain()];
  for (const r of transactions) {
    const sequenceText = text(r.sequence);
    id.push(r.id);
    sequence.push(sequenceText);
    kind.push(r.kind);
    memo.push(r.memo);
    metadata.push(r.metadataText);
    externalRef.push(r.externalRef);
    apiKeyId.push(r.apiKeyId);
    postedAt.push(isoMicros(r.postedAt));
    previousHash.push(r.previousHash);
    hash.push(r.hash);
    reversesId.push(r.reversesId);
    hashVersion.push(String(r.hashVersion));
    r.postings.forEach((posting, idx) => {
      pTransaction.push(r.id);
      pIdx.push(String(idx));
      pAccount.push(posting.accountId);
      pAmount.push(text(posting.amountMinor));
      pBalanceAfter.push(text(posting.balanceAfterMinor));
      pSequence.push(sequenceText);
    });
  }
  return {
    transactions: [id, sequence, kind, memo, metadata, externalRef, apiKeyId, postedAt, previousHash, hash, reversesId, hashVersion].map(
      (c) => c.text(),
    ),
    postings: [pTransaction, pIdx, pAccount, pAmount, pBalanceAfter, pSequence].map((c) => c.text()),
  };
}

/**
 * A write longer than this goes as bound parameters, its COMMIT on its own after it. Written into
 * the SQL text, it is escaped by the service and scanned character by character by PostgreSQL's
 * parser, both under the network's head lock: for a batch of 1,000 deposits (~760 kB) the parser
 * alone took 2 ms (`log_parser_stats`), more than the extra round trip of a separate COMMIT. A
 * group of transfers stays far below it and keeps its COMMIT in the same message.
 */
const INLINE_WRITE_MAX_CHARS = 64 * 1024;

function tooLongToInline(params: readonly unknown[]): boolean {
  let chars = 0;
  for (const p of params) if (typeof p === 'string') chars += p.length;
  return chars > INLINE_WRITE_MAX_CHARS;
}

/** The idempotency records' six columns in one pass; only the caller's key is free text. */
function idempotencyColumnsOf(rows: readonly IdempotencyRow[]): string[] {
  const [apiKeyId, key, requestHash, resultType, resultId, scope] = [
    new ArrayText(true),
    new ArrayText(false),
    new ArrayText(true),
    new ArrayText(true),
    new ArrayText(true),
    new ArrayText(true),
  ];
  for (const row of rows) {
    apiKeyId.push(row.apiKeyId);
    key.push(row.key);
    requestHash.push(row.requestHash);
    resultType.push(row.resultType);
    resultId.push(row.resultId);
    scope.push(row.scope);
  }
  return [apiKeyId, key, requestHash, resultType, resultId, scope].map((c) => c.text());
}

/**
 * Writes a whole group in one call (`ledger_group_write`, migrations/0019); transactions are
 * NOTIFYed, delivered when the group commits. Transactions, postings, balances and idempotency
 * records travel as one array per column (bigints as decimal text), the few holds and events as
 * JSON documents.
 */
/**
 * `commit`: the write is the transaction's last statement; a write of ordinary size then carries
 * the COMMIT in the same round trip (`TransactionSql.queryThenCommit`), a long one leaves it to
 * the transaction (`INLINE_WRITE_MAX_CHARS`).
 */
export async function writeGroup(tx: TransactionSql, network: string, commit: boolean, w: GroupWrites): Promise<void> {
  const { transactions: transactionColumns, postings: postingColumns } = transactionAndPostingColumns(w.transactions);
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
  const idempotencyColumns = idempotencyColumnsOf(w.idempotency);
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
    plainArray(notifyPayloads(network, w.transactions)),
    eventRowsJson(w.events),
    w.transactionEvents,
    w.expect ? text(w.expect.sequence) : null,
    w.expect?.hash ?? null,
    w.expect ? plainArray([...w.expect.accounts.keys()]) : null,
    w.expect ? plainArray([...w.expect.accounts.values()]) : null,
  ];
  const statement = `SELECT ledger_group_write(${params.map((_, i) => `$${i + 1}`).join(', ')})`;
  await (commit && !tooLongToInline(params) ? tx.queryThenCommit(statement, params) : tx.query(statement, params));
}
