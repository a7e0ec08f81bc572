/**
 * The vocabulary of the posting module: what callers ask for (commands made of operations)
 * and what they get back (records). Amounts are minor units; decimal text never gets here.
 */
export const TRANSACTION_KINDS = ['TRANSFER', 'EXCHANGE', 'DEPOSIT', 'WITHDRAWAL', 'DISTRIBUTION', 'ADJUSTMENT', 'REVERSAL'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

export const HOLD_STATUSES = ['PENDING', 'CAPTURED', 'VOIDED', 'EXPIRED'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

export const ACCOUNT_STATUSES = ['OPEN', 'FROZEN', 'CLOSED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const CURRENCY_KINDS = ['TIME', 'MONEY'] as const;
export type CurrencyKind = (typeof CURRENCY_KINDS)[number];

/** The same caller sending the same key again gets the first result back. */
export interface Idempotency {
  readonly key: string;
  /** SHA-256 of the operation's canonical input; a different hash under one key is refused. */
  readonly requestHash: string;
}

export interface PostingSpec {
  readonly accountId: string;
  readonly amountMinor: bigint;
}

export interface PostOp {
  readonly type: 'post';
  readonly kind: TransactionKind;
  readonly postings: readonly PostingSpec[];
  readonly memo?: string | null;
  readonly metadata?: unknown;
  readonly externalRef?: string | null;
  /**
   * Imported history only (SPEC B.6): the time it happened in the other system, kept as postedAt.
   * Refused once any transaction was posted at the clock. Absent: now.
   */
  readonly postedAt?: Date;
  readonly idempotency?: Idempotency;
}

export interface ReverseOp {
  readonly type: 'reverse';
  readonly transactionId: string;
  readonly reason: string;
  readonly idempotency?: Idempotency;
}

export interface CreateHoldOp {
  readonly type: 'hold.create';
  readonly kind: TransactionKind;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: bigint;
  readonly memo?: string | null;
  readonly expiresAt?: Date | null;
  /**
   * Instead of `expiresAt`: the hold expires this long after it is created, by the database's
   * clock under the head lock (a time bank claim's deadline, SPEC B.2).
   */
  readonly expiresAfterMs?: number;
  readonly idempotency?: Idempotency;
}

export interface CaptureHoldOp {
  readonly type: 'hold.capture';
  readonly holdId: string;
  /** Omitted: the full held amount. */
  readonly amountMinor?: bigint;
  readonly idempotency?: Idempotency;
}

export interface VoidHoldOp {
  readonly type: 'hold.void';
  readonly holdId: string;
  readonly idempotency?: Idempotency;
}

/** Releases every hold whose `expiresAt` has passed (the sweeper's work). */
export interface SweepHoldsOp {
  readonly type: 'hold.sweep';
  readonly limit: number;
}

export type Op = PostOp | ReverseOp | CreateHoldOp | CaptureHoldOp | VoidHoldOp | SweepHoldsOp;

/** Work run inside the posting transaction after the ledger rows are written (for example an
 * exchange row that must exist exactly when its hold or transaction does). */
export type AfterPost = (tx: import('../../database/database').Sql, results: readonly OpResult[]) => Promise<void>;

/**
 * Work run inside a posting group's transaction, after its rows are written, with the holds that
 * expired in the group (released by their time, not by any command): what a feature keeps beside
 * a hold (an exchange whose claim ends with it) ends in the same transaction.
 */
export type ExpiryListener = (tx: import('../../database/database').Sql, network: string, expired: readonly HoldRecord[]) => Promise<void>;

/** Who a command is posted for: the network whose books it writes, and the key that asked. */
export interface Actor {
  /** The API key that asked; null for the service's own work (hold expiry). */
  readonly apiKeyId: string | null;
  readonly networkId: string;
}

/** All operations of a command succeed together or are refused together. */
export interface Command {
  readonly ops: readonly Op[];
  /** The network whose head, sequence and chain the command posts on; it touches no other network's rows. */
  readonly networkId: string;
  /** The API key that asked; null for the service's own work (hold expiry). */
  readonly apiKeyId: string | null;
  readonly afterPost?: AfterPost;
  /**
   * Imported history only (SPEC B.6): the posting time of this command's transactions, used
   * instead of the database's clock. The group refuses a time earlier than the last posted
   * transaction's or later than the clock; who may ask for it is the caller's to check.
   */
  readonly postedAt?: Date;
}

export interface PostingRecord {
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly balanceAfterMinor: bigint;
}

/** A `transactions` row's columns as `pg` returns them (bigints as decimal text), for the readers that select them all. */
export interface TransactionColumns {
  id: string;
  sequence: string;
  kind: TransactionKind;
  memo: string | null;
  metadata: unknown;
  external_ref: string | null;
  api_key_id: string | null;
  posted_at: Date;
  previous_hash: string;
  hash: string;
  hash_version: number;
  reverses_id: string | null;
}

export interface TransactionRecord {
  readonly networkId: string;
  readonly id: string;
  readonly sequence: bigint;
  readonly kind: TransactionKind;
  readonly memo: string | null;
  readonly metadata: unknown;
  readonly externalRef: string | null;
  readonly apiKeyId: string | null;
  /** The database's clock under the head lock, at microsecond precision (a `PreciseDate`). */
  readonly postedAt: Date;
  readonly previousHash: string;
  readonly hash: string;
  readonly hashVersion: number;
  /** The metadata as jsonb stores it, which is what version 2 hashes. */
  readonly metadataText: string | null;
  readonly reversesId: string | null;
  readonly postings: readonly PostingRecord[];
}

export interface HoldRecord {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: bigint;
  readonly status: HoldStatus;
  readonly kind: TransactionKind;
  readonly memo: string | null;
  readonly expiresAt: Date | null;
  readonly apiKeyId: string | null;
  readonly transactionId: string | null;
  readonly capturedMinor: bigint | null;
  readonly createdAt: Date;
  readonly resolvedAt: Date | null;
}

/** What one operation produced. `replayed` means an idempotent repeat: nothing was posted now. */
export type OpResult =
  | { readonly type: 'transaction'; readonly id: string; readonly replayed: boolean; readonly transaction?: TransactionRecord }
  | {
      readonly type: 'hold';
      readonly id: string;
      readonly replayed: boolean;
      readonly hold?: HoldRecord;
      readonly transaction?: TransactionRecord;
    }
  | { readonly type: 'sweep'; readonly expired: number };
