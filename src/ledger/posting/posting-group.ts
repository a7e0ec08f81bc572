import { randomUUID } from 'node:crypto';
import { assertUnreachable, atItem, DomainError, ErrorCode, validationFailed } from '../../common/domain-error';
import { timeOrderedUuid } from '../../common/ids';
import { epochMicros, fromEpochMicros, type PreciseDate } from '../../common/instant';
import { CommitUnacknowledged, type TransactionSql } from '../../database/database';
import { holdEvent, type LedgerEvent, transactionPosted, type UnitOf } from '../events/ledger-events';
import { MAX_POSTING_MINOR } from '../money/amount';
import { HASH_VERSION, jsonbText, transactionHashV2 } from './hash-chain';
import * as repo from './posting.repository';
import type { AheadExpectations, GroupTip, HoldChange, IdempotencyRow, LoadedGroup, ReversibleTransaction } from './posting.repository';
import {
  availableMinor,
  ceilingMinor,
  checkBalanced,
  checkLimit,
  checkMaxBalance,
  checkMovable,
  checkPostingShape,
  checkSameCurrency,
  WorkingSet,
} from './posting.rules';
import type {
  CaptureHoldOp,
  Command,
  CreateHoldOp,
  ExpiryListener,
  HoldRecord,
  Idempotency,
  Op,
  OpResult,
  PostingSpec,
  PostOp,
  ReverseOp,
  TransactionKind,
  TransactionRecord,
  VoidHoldOp,
} from './posting.types';

/**
 * One posting group: several commands of one network posted in one database transaction. The
 * network's head is locked first (which serialises the network's groups across instances, and
 * leaves other networks alone), then holds, then
 * accounts in id order. Each command is checked and applied in memory on its own: a refused
 * command is rolled back in memory and reported to its caller alone, the others go on. The
 * survivors are written with one set-based statement per table, and the chain advances once.
 */

/**
 * What the caller of a group hears while it runs; `onExpired` runs in its transaction.
 * `onWriting` hears the state the group is about to commit when nothing runs after its write (a
 * tip the next group may be applied to, `runAhead`), else null.
 */
export interface GroupHooks {
  readonly onLoaded?: (xid: string) => void;
  /** The group writes its transactions' TRANSACTION_POSTED events naming them (once it commits, their payloads may be kept: PostedPayloads). */
  readonly onEventsNamed?: (network: string, transactions: readonly TransactionRecord[], unitOf: UnitOf) => void;
  readonly onWriting?: (tip: GroupTip | null) => void;
  readonly onExpired?: ExpiryListener;
}

export interface GroupOptions {
  /**
   * A group whose only outbox events are TRANSACTION_POSTED writes them naming their transactions
   * (migrations/0034) rather than as documents (WEBHOOK_EVENTS_BY_REFERENCE).
   */
  readonly eventsByReference?: boolean;
}

/** An outbox event of the group: a document, or a transaction posted (written by reference when the group allows). */
type GroupEvent = LedgerEvent | { readonly posted: TransactionRecord };

export type Outcome = { readonly ok: true; readonly results: OpResult[] } | { readonly ok: false; readonly error: DomainError };

/** What a group decided, and the id of its database transaction (to ask after a lost COMMIT acknowledgement). */
export interface GroupRun {
  readonly outcomes: Outcome[];
  readonly xid: string;
}

interface Scratch {
  readonly transactions: TransactionRecord[];
  readonly newHolds: HoldRecord[];
  readonly holdUpdates: Map<string, HoldRecord>;
  readonly reversed: Set<string>;
  readonly idempotency: IdempotencyRow[];
}

/** Where an idempotency record is found: its scope (the caller's party, or the network), or for records written before scopes, its API key. */
function scopedKey(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}

function legacyKey(apiKeyId: string, key: string): string {
  return `legacy\u0000${apiKeyId}\u0000${key}`;
}

function rowKey(row: IdempotencyRow): string {
  return row.scope === null ? legacyKey(row.apiKeyId, row.key) : scopedKey(row.scope, row.key);
}

function opIdempotency(op: Op): Idempotency | undefined {
  return 'idempotency' in op ? op.idempotency : undefined;
}

export class PostingGroup {
  /** The chain's head as this group advances it; `historyOpen`: every transaction so far was imported (B.6). */
  private readonly head: { sequence: bigint; hash: string; historyOpen: boolean };
  private readonly historyOpenAtLoad: boolean;
  private readonly network: string;
  private readonly startSequence: bigint;
  /** The database's clock under the head lock: expiry is judged by it, holds are dated by it. */
  private readonly now: PreciseDate;
  private readonly clockMicros: bigint;
  /** Posting time of the last transaction chained so far, in microseconds since the epoch. */
  private lastPostedMicros: bigint;
  private readonly scopes: ReadonlyMap<string, string>;
  private readonly accounts: WorkingSet;
  private readonly holds: Map<string, HoldRecord>;
  private readonly reversible: Map<string, ReversibleTransaction>;
  private readonly existingKeys: Map<string, IdempotencyRow>;
  /** Whether the load found records written before scopes: only then is a key also looked up by its API key. */
  private readonly legacyLoaded: boolean;
  private readonly reversedInGroup = new Set<string>();
  private readonly written: Scratch = { transactions: [], newHolds: [], holdUpdates: new Map(), reversed: new Set(), idempotency: [] };
  /**
   * The webhook outbox's events of every applied command in the order the ledger decided them,
   * written with the group (docs/webhooks.md); gathered only while the network has a live webhook
   * (`webhooksExist`). A transaction posted is kept as its record: its document is built only if
   * the group writes documents.
   */
  private readonly events: GroupEvent[] = [];
  private readonly buildEvents: boolean;
  private readonly unitOf: UnitOf = (accountId) => this.accounts.get(accountId);
  /** Holds released by their time in this group, for the expiry listener. */
  private readonly expiredHolds: HoldRecord[] = [];
  private scratch: Scratch = this.written;
  private apiKeyId: string | null = null;
  private postedAt: Date | undefined = undefined;

  private readonly xid: string;

  private constructor(
    private readonly tx: TransactionSql,
    loaded: LoadedGroup,
    private readonly commands: readonly Command[],
    private readonly hooks: GroupHooks,
    private readonly options: GroupOptions,
    private readonly expect: AheadExpectations | null = null,
  ) {
    this.xid = loaded.xid;
    this.head = { sequence: loaded.sequence, hash: loaded.hash, historyOpen: loaded.historyOpen };
    this.historyOpenAtLoad = loaded.historyOpen;
    this.buildEvents = loaded.webhooksExist;
    this.network = loaded.network;
    this.startSequence = loaded.sequence;
    this.now = loaded.clock;
    this.clockMicros = epochMicros(loaded.clock);
    this.lastPostedMicros = epochMicros(loaded.headPostedAt);
    this.scopes = loaded.scopes;
    this.accounts = new WorkingSet(loaded.accounts);
    this.holds = loaded.holds;
    this.reversible = loaded.reversible;
    this.existingKeys = new Map(loaded.idempotency.map((row) => [rowKey(row), row]));
    this.legacyLoaded = loaded.idempotency.some((row) => row.scope === null);
  }

  /**
   * Runs the group (commands of one network) inside `tx` and returns one outcome per command, in
   * order. `onLoaded` hears the database transaction's id as soon as it is known, so the caller
   * can still ask whether the group committed when the COMMIT's acknowledgement is lost;
   * `onWriting` hears that the group is about to send its write (the head is released soon).
   */
  static async run(
    tx: TransactionSql,
    commands: readonly Command[],
    hooks: GroupHooks = {},
    options: GroupOptions = {},
  ): Promise<Outcome[]> {
    const network = commands[0]?.networkId;
    if (!network || commands.some((c) => c.networkId !== network)) throw new Error('a posting group is of one network');
    const loaded = await repo.loadGroup(tx, network, needsOf(commands));
    hooks.onLoaded?.(loaded.xid);
    return new PostingGroup(tx, loaded, commands, hooks, options).execute();
  }

  /**
   * Runs the group applied to `tip`, the state a group ahead of it (of this instance) is about to
   * commit, without waiting for the head (migrations/0036). Its write takes the head and checks
   * that the head and every account it read are what it was applied to, or raises SL001 (the
   * whole transaction then rolls back, and the caller runs the group the ordinary way, as it must
   * when this returns null: a hold of its accounts is due to be released). Only for groups whose
   * every operation is a posting (`mayRunAhead`).
   */
  static async runAhead(
    tx: TransactionSql,
    commands: readonly Command[],
    tip: GroupTip,
    hooks: GroupHooks = {},
    options: GroupOptions = {},
  ): Promise<Outcome[] | null> {
    if (!mayRunAhead(commands, tip)) throw new Error('only a group of postings, not of imported history, is applied ahead');
    const ahead = await repo.loadAhead(tx, tip, needsOf(commands));
    if (ahead === null) return null;
    hooks.onLoaded?.(ahead.loaded.xid);
    return new PostingGroup(tx, ahead.loaded, commands, hooks, options, ahead.expect).execute();
  }

  private async execute(): Promise<Outcome[]> {
    this.expireDueHolds();
    const outcomes = this.commands.map((command) => this.applyCommand(command));
    const last = this.writeIsLast(outcomes);
    this.hooks.onWriting?.(last ? this.tip() : null);
    if (last) {
      try {
        await this.write(true);
      } catch (error) {
        if (error instanceof CommitUnacknowledged) throw new CommitUnacknowledged(error.cause, outcomes);
        throw error;
      }
      return outcomes;
    }
    await this.write(false);
    // Before any command's own work, which may count on what the expiries ended (pending claims).
    if (this.expiredHolds.length > 0 && this.hooks.onExpired) await this.hooks.onExpired(this.tx, this.network, this.expiredHolds);
    for (const [index, command] of this.commands.entries()) {
      const outcome = outcomes[index];
      if (command.afterPost && outcome?.ok) await command.afterPost(this.tx, outcome.results);
    }
    return outcomes;
  }

  /**
   * Whether nothing runs after the write in this transaction (no expiry listener, no command's
   * `afterPost`, no history to close): the write then carries the COMMIT, and the head is
   * released one round trip sooner (a long write sends it right after, posting.repository.ts).
   */
  private writeIsLast(outcomes: readonly Outcome[]): boolean {
    if (this.expiredHolds.length > 0 && this.hooks.onExpired) return false;
    if (this.historyOpenAtLoad && !this.head.historyOpen) return false;
    return this.commands.every((command, index) => !command.afterPost || !outcomes[index]?.ok);
  }

  /**
   * The state this group is about to commit: its head, and the accounts it writes. Built for
   * every group that commits with its write (transfers too), so nothing is copied here: the
   * accounts are read through its working set, which no longer changes (`GroupTip.decided`).
   */
  private tip(): GroupTip {
    const { accounts } = this;
    return {
      network: this.network,
      xmin: repo.xminOf(this.xid),
      sequence: this.head.sequence,
      hash: this.head.hash,
      postedAt: fromEpochMicros(this.lastPostedMicros),
      historyOpen: this.head.historyOpen,
      decided: (accountId) => (accounts.touched.has(accountId) ? accounts.get(accountId) : undefined),
    };
  }

  /** Releases the reservation of every pending hold whose time has passed. */
  private expireDueHolds(): void {
    for (const hold of [...this.holds.values()]) {
      if (hold.status !== 'PENDING' || hold.expiresAt === null || hold.expiresAt > this.now) continue;
      this.release(hold);
      const expired: HoldRecord = { ...hold, status: 'EXPIRED', resolvedAt: this.now };
      this.setHold(expired);
      if (this.buildEvents) this.events.push(holdEvent(expired, this.unitOf, this.now));
      this.expiredHolds.push(expired);
    }
    this.accounts.commit();
  }

  private applyCommand(command: Command): Outcome {
    const savedHead = { ...this.head };
    const savedPostedMicros = this.lastPostedMicros;
    this.apiKeyId = command.apiKeyId;
    this.postedAt = command.postedAt;
    this.scratch = { transactions: [], newHolds: [], holdUpdates: new Map(), reversed: new Set(), idempotency: [] };
    try {
      const results = command.ops.map((op, index) => this.applyItem(op, index, command.ops.length));
      this.accounts.commit();
      this.keep(this.scratch);
      return { ok: true, results };
    } catch (error) {
      this.accounts.rollback();
      Object.assign(this.head, savedHead);
      this.lastPostedMicros = savedPostedMicros;
      if (error instanceof DomainError) return { ok: false, error };
      throw error;
    } finally {
      this.scratch = this.written;
    }
  }

  private keep(scratch: Scratch): void {
    this.written.transactions.push(...scratch.transactions);
    this.written.newHolds.push(...scratch.newHolds);
    for (const [id, hold] of scratch.holdUpdates) this.setHold(hold, id);
    scratch.reversed.forEach((id) => this.reversedInGroup.add(id));
    this.written.idempotency.push(...scratch.idempotency);
    if (this.buildEvents) {
      // Holds created, holds resolved, then the transactions posted: a capture's HOLD_RESOLVED comes before its transaction.
      for (const hold of scratch.newHolds) this.events.push(holdEvent(hold, this.unitOf, this.now));
      for (const hold of scratch.holdUpdates.values()) this.events.push(holdEvent(hold, this.unitOf, this.now));
      for (const posted of scratch.transactions) this.events.push({ posted });
    }
    for (const row of scratch.idempotency) this.existingKeys.set(rowKey(row), row);
  }

  private setHold(hold: HoldRecord, id = hold.id): void {
    this.holds.set(id, hold);
    this.written.holdUpdates.set(id, hold);
  }

  /** Applies one operation of a command; a refusal of one of several names the operation's index. */
  private applyItem(op: Op, index: number, count: number): OpResult {
    if (count === 1) return this.applyIdempotent(op);
    try {
      return this.applyIdempotent(op);
    } catch (error) {
      throw error instanceof DomainError ? atItem(error, index) : error;
    }
  }

  private applyIdempotent(op: Op): OpResult {
    const idem = opIdempotency(op);
    if (!idem || !this.apiKeyId) return this.apply(op);
    const scope = this.scopes.get(this.apiKeyId);
    if (scope === undefined) throw new Error(`no idempotency scope was loaded for API key ${this.apiKeyId}`);
    // The party's scope first, then a record the same key wrote before scopes existed.
    // (A group writes scoped records only, so a legacy record can only have come from the load.)
    const existing =
      this.existingKeys.get(scopedKey(scope, idem.key)) ??
      (this.legacyLoaded ? this.existingKeys.get(legacyKey(this.apiKeyId, idem.key)) : undefined);
    if (existing) {
      if (existing.requestHash !== idem.requestHash) {
        throw new DomainError(ErrorCode.IDEMPOTENCY_CONFLICT, `idempotency key "${idem.key}" was already used for a different request`);
      }
      return { type: existing.resultType, id: existing.resultId, replayed: true };
    }
    const result = this.apply(op);
    if (result.type === 'sweep') throw new Error('a sweep takes no idempotency key');
    this.scratch.idempotency.push({
      apiKeyId: this.apiKeyId,
      key: idem.key,
      scope,
      requestHash: idem.requestHash,
      resultType: result.type,
      resultId: result.id,
    });
    return result;
  }

  private apply(op: Op): OpResult {
    switch (op.type) {
      case 'post':
        return this.post(op);
      case 'reverse':
        return this.reverse(op);
      case 'hold.create':
        return this.createHold(op);
      case 'hold.capture':
        return this.captureHold(op);
      case 'hold.void':
        return this.voidHold(op);
      case 'hold.sweep':
        return { type: 'sweep', expired: this.expiredHolds.length };
      default:
        return assertUnreachable(op);
    }
  }

  private post(op: PostOp): OpResult {
    const transaction = this.append(
      op.kind,
      op.postings,
      { memo: op.memo ?? null, metadata: op.metadata ?? null, externalRef: op.externalRef ?? null, reversesId: null },
      op.postedAt,
    );
    return { type: 'transaction', id: transaction.id, replayed: false, transaction };
  }

  private reverse(op: ReverseOp): OpResult {
    const original = this.reversible.get(op.transactionId);
    if (!original) throw new DomainError(ErrorCode.NOT_FOUND, `transaction ${op.transactionId} was not found`);
    if (original.reversedById !== null || this.reversedInGroup.has(original.id) || this.scratch.reversed.has(original.id)) {
      throw new DomainError(ErrorCode.ALREADY_REVERSED, `transaction ${original.id} has already been reversed`);
    }
    const mirrored = original.postings.map((p) => ({ accountId: p.accountId, amountMinor: -p.amountMinor }));
    const transaction = this.append('REVERSAL', mirrored, { memo: op.reason, metadata: null, externalRef: null, reversesId: original.id });
    this.scratch.reversed.add(original.id);
    return { type: 'transaction', id: transaction.id, replayed: false, transaction };
  }

  /** Applies postings to balances, checks every invariant, and chains the new transaction. */
  private append(
    kind: TransactionKind,
    postings: readonly PostingSpec[],
    fields: Pick<TransactionRecord, 'memo' | 'metadata' | 'externalRef' | 'reversesId'>,
    importedAt?: Date,
  ): TransactionRecord {
    checkPostingShape(postings);
    const accounts = postings.map((p) => this.accounts.get(p.accountId));
    checkBalanced(postings, this.accounts.accounts);
    accounts.forEach(checkMovable);
    const before = accounts.map(availableMinor);
    const ceilingsBefore = accounts.map(ceilingMinor);
    const applied = postings.map((p) => ({
      accountId: p.accountId,
      amountMinor: p.amountMinor,
      balanceAfterMinor: this.accounts.change(p.accountId, { postedMinor: p.amountMinor }).postedMinor,
    }));
    accounts.forEach((account, i) => checkLimit(account, before[i] ?? 0n));
    accounts.forEach((account, i) => checkMaxBalance(account, ceilingsBefore[i] ?? 0n));

    const sequence = this.head.sequence + 1n;
    const postedAt = this.nextPostedAt(importedAt);
    const metadataText = fields.metadata === null || fields.metadata === undefined ? null : jsonbText(fields.metadata);
    // Object literals, not spreads: this runs for every transaction under the head lock. The id is
    // time-ordered, so the group's rows land together at the end of the id indexes.
    const id = timeOrderedUuid();
    const previousHash = this.head.hash;
    const hash = transactionHashV2({
      networkId: this.network,
      id,
      sequence,
      kind,
      postedAt,
      previousHash,
      memo: fields.memo,
      metadataText,
      externalRef: fields.externalRef,
      reversesId: fields.reversesId,
      apiKeyId: this.apiKeyId,
      postings: applied.map((p, idx) => ({
        idx,
        accountId: p.accountId,
        amountMinor: p.amountMinor,
        balanceAfterMinor: p.balanceAfterMinor,
        sequence,
      })),
    });
    const transaction: TransactionRecord = {
      networkId: this.network,
      id,
      sequence,
      kind,
      postedAt,
      previousHash,
      apiKeyId: this.apiKeyId,
      hashVersion: HASH_VERSION,
      metadataText,
      memo: fields.memo,
      metadata: fields.metadata,
      externalRef: fields.externalRef,
      reversesId: fields.reversesId,
      postings: applied,
      hash,
    };
    this.head.sequence = sequence;
    this.head.hash = transaction.hash;
    this.scratch.transactions.push(transaction);
    return transaction;
  }

  /**
   * Each transaction is posted at least a microsecond after the one before it: at the database's
   * clock, or later when the clock reads no later than the last posting (a burst within one
   * microsecond, or a clock set back). Imported history brings its own time, which may repeat
   * but never go back, and never lies in the future.
   */
  private nextPostedAt(importedAt: Date | undefined): PreciseDate {
    let micros: bigint;
    const given = importedAt ?? this.postedAt;
    if (given) {
      // Only while every transaction of the network was imported (docs/import.md): live history
      // never gets older transactions slipped in underneath it.
      if (!this.head.historyOpen) {
        throw validationFailed(
          'postedAt',
          'history can be imported only into a ledger whose every transaction was imported; this one has live transactions',
        );
      }
      micros = epochMicros(given);
      if (micros < this.lastPostedMicros) throw validationFailed('postedAt', 'must not be earlier than the last posted transaction');
      if (micros > this.clockMicros) throw validationFailed('postedAt', 'must not be in the future');
    } else {
      // The first transaction posted at the clock closes history for good (undone with the head if refused).
      this.head.historyOpen = false;
      micros = this.clockMicros > this.lastPostedMicros ? this.clockMicros : this.lastPostedMicros + 1n;
    }
    this.lastPostedMicros = micros;
    return fromEpochMicros(micros);
  }

  private createHold(op: CreateHoldOp): OpResult {
    if (op.fromAccountId === op.toAccountId) throw validationFailed('to', 'a hold needs two different accounts');
    if (op.amountMinor <= 0n || op.amountMinor > MAX_POSTING_MINOR) {
      throw new DomainError(ErrorCode.INVALID_AMOUNT, 'a hold amount must be greater than zero and at most one posting');
    }
    if (op.expiresAt && op.expiresAt <= this.now) throw validationFailed('expiresAt', 'must be in the future');
    if (op.expiresAfterMs !== undefined && !(op.expiresAfterMs > 0)) throw new Error('a hold expires a positive time after it is created');
    const expiresAt =
      op.expiresAt ??
      (op.expiresAfterMs === undefined ? null : fromEpochMicros(this.clockMicros + BigInt(Math.round(op.expiresAfterMs)) * 1000n));
    const from = this.accounts.get(op.fromAccountId);
    const to = this.accounts.get(op.toAccountId);
    checkSameCurrency(from, to);
    checkMovable(from);
    checkMovable(to);
    const before = availableMinor(from);
    const ceilingBefore = ceilingMinor(to);
    this.accounts.change(from.id, { pendingDebitsMinor: op.amountMinor });
    this.accounts.change(to.id, { pendingCreditsMinor: op.amountMinor });
    checkLimit(from, before);
    checkMaxBalance(to, ceilingBefore);
    const hold: HoldRecord = {
      id: randomUUID(),
      fromAccountId: from.id,
      toAccountId: to.id,
      amountMinor: op.amountMinor,
      status: 'PENDING',
      kind: op.kind,
      memo: op.memo ?? null,
      expiresAt,
      apiKeyId: this.apiKeyId,
      transactionId: null,
      capturedMinor: null,
      createdAt: this.now,
      resolvedAt: null,
    };
    this.scratch.newHolds.push(hold);
    return { type: 'hold', id: hold.id, replayed: false, hold };
  }

  private pendingHold(holdId: string): HoldRecord {
    const hold = this.scratch.holdUpdates.get(holdId) ?? this.holds.get(holdId);
    if (!hold) throw new DomainError(ErrorCode.NOT_FOUND, `hold ${holdId} was not found`);
    if (hold.status !== 'PENDING') throw new DomainError(ErrorCode.HOLD_NOT_PENDING, `hold ${holdId} is ${hold.status}, not PENDING`);
    return hold;
  }

  private release(hold: HoldRecord): void {
    this.accounts.change(hold.fromAccountId, { pendingDebitsMinor: -hold.amountMinor });
    this.accounts.change(hold.toAccountId, { pendingCreditsMinor: -hold.amountMinor });
  }

  private captureHold(op: CaptureHoldOp): OpResult {
    const hold = this.pendingHold(op.holdId);
    const amount = op.amountMinor ?? hold.amountMinor;
    if (amount <= 0n || amount > hold.amountMinor) {
      throw new DomainError(ErrorCode.INVALID_AMOUNT, `a capture must be greater than zero and at most the held amount`);
    }
    this.release(hold);
    const transaction = this.append(
      hold.kind,
      [
        { accountId: hold.fromAccountId, amountMinor: -amount },
        { accountId: hold.toAccountId, amountMinor: amount },
      ],
      { memo: hold.memo, metadata: { holdId: hold.id }, externalRef: null, reversesId: null },
    );
    const captured: HoldRecord = {
      ...hold,
      status: 'CAPTURED',
      transactionId: transaction.id,
      capturedMinor: amount,
      resolvedAt: this.now,
    };
    this.scratch.holdUpdates.set(hold.id, captured);
    return { type: 'hold', id: hold.id, replayed: false, hold: captured, transaction };
  }

  private voidHold(op: VoidHoldOp): OpResult {
    const hold = this.pendingHold(op.holdId);
    this.release(hold);
    const voided: HoldRecord = { ...hold, status: 'VOIDED', resolvedAt: this.now };
    this.scratch.holdUpdates.set(hold.id, voided);
    return { type: 'hold', id: hold.id, replayed: false, hold: voided };
  }

  /**
   * The group's outbox rows: when its only events are transactions posted (and the group may), a
   * flag that has the write add one naming each transaction; otherwise every event as a document,
   * in order.
   */
  private outboxEvents(): { events: LedgerEvent[]; transactionEvents: boolean } {
    if (this.events.length === 0) return { events: [], transactionEvents: false };
    if (this.options.eventsByReference && this.events.every((e) => 'posted' in e)) return { events: [], transactionEvents: true };
    return { events: this.events.map((e) => ('posted' in e ? transactionPosted(e.posted, this.unitOf) : e)), transactionEvents: false };
  }

  /** The transactions of the group's TRANSACTION_POSTED events, in order. */
  private postedTransactions(): TransactionRecord[] {
    return this.events.flatMap((e) => ('posted' in e ? [e.posted] : []));
  }

  /** Writes the group; `commit`: with the transaction's COMMIT in the same round trip. */
  private async write(commit: boolean): Promise<void> {
    const { transactions, newHolds, holdUpdates, idempotency } = this.written;
    const newHoldIds = new Set(newHolds.map((h) => h.id));
    const holdChanges: HoldChange[] = [...holdUpdates.values()]
      .filter((h) => !newHoldIds.has(h.id))
      .map((h) => ({
        id: h.id,
        status: h.status,
        transactionId: h.transactionId,
        capturedMinor: h.capturedMinor,
        resolvedAt: h.resolvedAt ?? this.now,
      }));
    const outbox = this.outboxEvents();
    if (outbox.transactionEvents) this.hooks.onEventsNamed?.(this.network, this.postedTransactions(), this.unitOf);
    await repo.writeGroup(this.tx, this.network, commit, {
      transactions,
      accounts: [...this.accounts.touched].map((id) => this.accounts.get(id)),
      newHolds,
      holdChanges,
      idempotency,
      head:
        this.head.sequence === this.startSequence
          ? null
          : { sequence: this.head.sequence, hash: this.head.hash, postedAt: fromEpochMicros(this.lastPostedMicros) },
      ...outbox,
      ...(this.expect ? { expect: this.expect } : {}),
    });
    if (this.historyOpenAtLoad && !this.head.historyOpen) await repo.closeHistory(this.tx, this.network);
  }
}

/**
 * Whether a group may be applied ahead (`runAhead`): every operation a posting, nothing run after
 * its write, and the tip's history closed (imported history takes the ordinary way).
 */
export function mayRunAhead(commands: readonly Command[], tip: GroupTip): boolean {
  if (tip.historyOpen) return false;
  return commands.every(
    (command) => !command.afterPost && !command.postedAt && command.ops.every((op) => op.type === 'post' && !op.postedAt),
  );
}

/** Everything a group may touch, gathered from its operations before anything is locked. */
function needsOf(commands: readonly Command[]): repo.GroupNeeds {
  const idempotencyKeys: { apiKeyId: string; key: string }[] = [];
  const accountIds = new Set<string>();
  const holdIds = new Set<string>();
  const reverseIds = new Set<string>();
  let sweep = 0;
  for (const command of commands) {
    for (const op of command.ops) {
      const idem = opIdempotency(op);
      if (idem && command.apiKeyId) idempotencyKeys.push({ apiKeyId: command.apiKeyId, key: idem.key });
      switch (op.type) {
        case 'post':
          op.postings.forEach((p) => accountIds.add(p.accountId));
          break;
        case 'reverse':
          reverseIds.add(op.transactionId);
          break;
        case 'hold.create':
          accountIds.add(op.fromAccountId).add(op.toAccountId);
          break;
        case 'hold.capture':
        case 'hold.void':
          holdIds.add(op.holdId);
          break;
        case 'hold.sweep':
          sweep = Math.max(sweep, op.limit);
          break;
        default:
          assertUnreachable(op);
      }
    }
  }
  return {
    idempotencyKeys,
    accountIds: [...accountIds],
    holdIds: [...holdIds],
    reverseIds: [...reverseIds],
    sweepAll: sweep > 0,
    // Only the sweeper pages; a group releases every expired hold of its accounts, since their
    // available balances (which the group's limits are checked against) depend on all of them.
    expiredLimit: sweep || null,
  };
}
