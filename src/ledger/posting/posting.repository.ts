import type { Sql } from '../../database/database';
import type { AccountState } from './posting.rules';
import type { AccountStatus, HoldRecord, HoldStatus, TransactionKind, TransactionRecord } from './posting.types';

/**
 * The SQL of a posting group and nothing else: one call reads and locks everything a group
 * needs (`ledger_group_load`), one call writes everything it decided (`ledger_group_write`),
 * both defined in migrations/0005_posting_group_functions.sql. With BEGIN and COMMIT a group
 * costs four round trips however many commands it carries. Only the posting group calls these.
 */

export interface IdempotencyRow {
  readonly apiKeyId: string;
  readonly key: string;
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
  readonly now: Date;
  readonly idempotencyKeys: readonly { apiKeyId: string; key: string }[];
  readonly accountIds: readonly string[];
  readonly holdIds: readonly string[];
  readonly reverseIds: readonly string[];
  /** Release every expired hold (the sweeper), not only those on the group's accounts. */
  readonly sweepAll: boolean;
  readonly expiredLimit: number;
}

export interface LoadedGroup {
  readonly sequence: bigint;
  readonly hash: string;
  /** Never earlier than the last posted transaction, so posting time follows `sequence`. */
  readonly now: Date;
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
  posted_minor: string;
  pending_debits_minor: string;
  pending_credits_minor: string;
}

interface LoadJson {
  sequence: string;
  hash: string;
  now: string;
  keys: IdempotencyRow[];
  reversible: { id: string; kind: TransactionKind; reversedById: string | null; postings: [string, string][] }[];
  holds: HoldJson[];
  expired: HoldJson[];
  accounts: AccountJson[];
}

function date(text: string | null): Date | null {
  return text === null ? null : new Date(text);
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
    createdAt: new Date(h.created_at),
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
    postedMinor: BigInt(a.posted_minor),
    pendingDebitsMinor: BigInt(a.pending_debits_minor),
    pendingCreditsMinor: BigInt(a.pending_credits_minor),
  };
}

/** Locks the ledger head, then holds, then accounts in id order, and reads what the group needs. */
export async function loadGroup(tx: Sql, needs: GroupNeeds): Promise<LoadedGroup> {
  const [row] = await tx.query<{ loaded: LoadJson }>('SELECT ledger_group_load($1, $2, $3, $4, $5, $6, $7, $8) AS loaded', [
    needs.now,
    needs.idempotencyKeys.map((k) => k.apiKeyId),
    needs.idempotencyKeys.map((k) => k.key),
    needs.accountIds,
    needs.holdIds,
    needs.reverseIds,
    needs.sweepAll,
    needs.expiredLimit,
  ]);
  if (!row) throw new Error('ledger_group_load returned nothing: have the migrations run?');
  const loaded = row.loaded;
  return {
    sequence: BigInt(loaded.sequence),
    hash: loaded.hash,
    now: new Date(loaded.now),
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

/** Channel on which every instance hears of every posted transaction (SPEC section 9). */
export const POSTED_CHANNEL = 'ledger_posted';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const NOTIFY_PAYLOAD_LIMIT = 7000;

/** Announces posted transactions as `id:account,account;id:account,...`, chunked under the limit. */
export function notifyPayloads(records: readonly TransactionRecord[]): string[] {
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
  return chunks;
}

export interface GroupWrites {
  readonly transactions: readonly TransactionRecord[];
  readonly accounts: readonly AccountState[];
  readonly newHolds: readonly HoldRecord[];
  readonly holdChanges: readonly HoldChange[];
  readonly idempotency: readonly IdempotencyRow[];
  /** The new head, when the group posted anything. */
  readonly head: { sequence: bigint; hash: string; postedAt: Date } | null;
}

const text = (value: bigint) => value.toString();

/** Writes a whole group in one call; transactions are NOTIFYed, delivered when the group commits. */
export async function writeGroup(tx: Sql, w: GroupWrites): Promise<void> {
  const t = w.transactions;
  const postings = t.flatMap((r) => r.postings.map((p, idx) => ({ r, p, idx })));
  await tx.query(
    `SELECT ledger_group_write($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
       $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46)`,
    [
      t.map((r) => r.id),
      t.map((r) => text(r.sequence)),
      t.map((r) => r.kind),
      t.map((r) => r.memo),
      t.map((r) => (r.metadata === null || r.metadata === undefined ? null : JSON.stringify(r.metadata))),
      t.map((r) => r.externalRef),
      t.map((r) => r.apiKeyId),
      t.map((r) => r.postedAt),
      t.map((r) => r.previousHash),
      t.map((r) => r.hash),
      t.map((r) => r.reversesId),
      postings.map(({ r }) => r.id),
      postings.map(({ idx }) => idx),
      postings.map(({ p }) => p.accountId),
      postings.map(({ p }) => text(p.amountMinor)),
      postings.map(({ p }) => text(p.balanceAfterMinor)),
      postings.map(({ r }) => text(r.sequence)),
      w.accounts.map((a) => a.id),
      w.accounts.map((a) => text(a.postedMinor)),
      w.accounts.map((a) => text(a.pendingDebitsMinor)),
      w.accounts.map((a) => text(a.pendingCreditsMinor)),
      w.newHolds.map((h) => h.id),
      w.newHolds.map((h) => h.fromAccountId),
      w.newHolds.map((h) => h.toAccountId),
      w.newHolds.map((h) => text(h.amountMinor)),
      w.newHolds.map((h) => h.status),
      w.newHolds.map((h) => h.kind),
      w.newHolds.map((h) => h.memo),
      w.newHolds.map((h) => h.expiresAt),
      w.newHolds.map((h) => h.apiKeyId),
      w.newHolds.map((h) => h.createdAt),
      w.holdChanges.map((c) => c.id),
      w.holdChanges.map((c) => c.status),
      w.holdChanges.map((c) => c.transactionId),
      w.holdChanges.map((c) => (c.capturedMinor === null ? null : text(c.capturedMinor))),
      w.holdChanges.map((c) => c.resolvedAt),
      w.idempotency.map((i) => i.apiKeyId),
      w.idempotency.map((i) => i.key),
      w.idempotency.map((i) => i.requestHash),
      w.idempotency.map((i) => i.resultType),
      w.idempotency.map((i) => i.resultId),
      w.head ? text(w.head.sequence) : null,
      w.head?.hash ?? null,
      w.head?.postedAt ?? null,
      POSTED_CHANNEL,
      notifyPayloads(t),
    ],
  );
}
