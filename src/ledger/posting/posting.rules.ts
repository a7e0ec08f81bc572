import { DomainError, ErrorCode, validationFailed } from '../../common/domain-error';
import { fromMinor, MAX_POSTING_MINOR, MAX_STORED_MINOR, MIN_STORED_MINOR } from '../money/amount';
import type { AccountStatus, PostingSpec } from './posting.types';

/**
 * Pure rules of posting: no database, no clock. The posting service loads and locks the
 * accounts, then asks these functions whether each operation may happen, and applies it to an
 * in-memory working set that can be rolled back when a later operation of the same command is
 * refused.
 */

export const MAX_POSTINGS_PER_TRANSACTION = 1001;

export interface AccountState {
  readonly id: string;
  readonly partyId: string;
  readonly currencyCode: string;
  readonly scale: number;
  readonly status: AccountStatus;
  readonly creditLimitMinor: bigint;
  readonly unlimited: boolean;
  /** The most `posted + pendingCredits` may reach; null: no upper bound (SPEC B.4). */
  readonly maxBalanceMinor: bigint | null;
  postedMinor: bigint;
  pendingDebitsMinor: bigint;
  pendingCreditsMinor: bigint;
}

export function availableMinor(account: AccountState): bigint {
  return account.postedMinor - account.pendingDebitsMinor;
}

/** Shape of a transaction's postings: count, amounts, no account twice. */
export function checkPostingShape(postings: readonly PostingSpec[]): void {
  if (postings.length < 2) throw validationFailed('postings', 'a transaction needs at least two postings');
  if (postings.length > MAX_POSTINGS_PER_TRANSACTION) {
    throw validationFailed('postings', `a transaction has at most ${MAX_POSTINGS_PER_TRANSACTION} postings`);
  }
  const seen = new Set<string>();
  for (const [index, posting] of postings.entries()) {
    if (posting.amountMinor === 0n) {
      throw new DomainError(ErrorCode.INVALID_AMOUNT, `posting ${index}: the amount must not be zero`);
    }
    const magnitude = posting.amountMinor < 0n ? -posting.amountMinor : posting.amountMinor;
    if (magnitude > MAX_POSTING_MINOR) {
      throw new DomainError(ErrorCode.INVALID_AMOUNT, `posting ${index}: the amount is larger than one posting may carry`);
    }
    if (seen.has(posting.accountId)) {
      throw validationFailed(`postings.${index}.accountId`, 'an account appears twice in one transaction');
    }
    seen.add(posting.accountId);
  }
}

/** For every currency in the transaction the postings sum to exactly zero. */
export function checkBalanced(postings: readonly PostingSpec[], accounts: ReadonlyMap<string, AccountState>): void {
  // Two postings in one currency that cancel out (every transfer and deposit): no map. Anything
  // else, refusals included, takes the general path below.
  const first = postings[0];
  const second = postings[1];
  if (postings.length === 2 && first && second && first.amountMinor + second.amountMinor === 0n) {
    if (mustHave(accounts, first.accountId).currencyCode === mustHave(accounts, second.accountId).currencyCode) return;
  }
  const sums = new Map<string, bigint>();
  for (const posting of postings) {
    const account = mustHave(accounts, posting.accountId);
    sums.set(account.currencyCode, (sums.get(account.currencyCode) ?? 0n) + posting.amountMinor);
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0n) {
      const scale = [...accounts.values()].find((a) => a.currencyCode === currency)?.scale ?? 0;
      throw new DomainError(ErrorCode.UNBALANCED, `postings in ${currency} sum to ${fromMinor(sum, scale)}, not zero`);
    }
  }
}

/** A frozen or closed account is neither debited nor credited. */
export function checkMovable(account: AccountState): void {
  if (account.status === 'FROZEN') throw new DomainError(ErrorCode.ACCOUNT_FROZEN, `account ${account.id} is frozen`);
  if (account.status === 'CLOSED') throw new DomainError(ErrorCode.ACCOUNT_CLOSED, `account ${account.id} is closed`);
}

export function checkSameCurrency(a: AccountState, b: AccountState): void {
  if (a.currencyCode !== b.currencyCode) {
    throw new DomainError(
      ErrorCode.CURRENCY_MISMATCH,
      `account ${a.id} holds ${a.currencyCode} but account ${b.id} holds ${b.currencyCode}`,
    );
  }
}

/** After an operation, an account whose available balance fell must stay within its limit. */
export function checkLimit(account: AccountState, availableBeforeMinor: bigint): void {
  if (account.unlimited) return;
  const available = availableMinor(account);
  if (available >= availableBeforeMinor) return;
  if (available < -account.creditLimitMinor) {
    // No numbers: the account may be someone else's (a claim recorded by its provider), and a
    // refusal must not tell the caller another member's balance or limit (SPEC B.1).
    throw new DomainError(
      ErrorCode.INSUFFICIENT_FUNDS,
      `the available balance of account ${account.id} does not cover this, its credit limit included`,
    );
  }
}

/** What counts against an account's maximum balance: holds in its favour count at once. */
export function ceilingMinor(account: AccountState): bigint {
  return account.postedMinor + account.pendingCreditsMinor;
}

/**
 * The mirror of the credit limit (SPEC B.4): after an operation, an account whose posted balance
 * plus pending credits rose must stay at or below its maximum balance. The message names no
 * number: the account refused is usually the receiver's, whose balances the payer may not read.
 */
export function checkMaxBalance(account: AccountState, ceilingBeforeMinor: bigint): void {
  if (account.maxBalanceMinor === null) return;
  const ceiling = ceilingMinor(account);
  if (ceiling <= ceilingBeforeMinor || ceiling <= account.maxBalanceMinor) return;
  throw new DomainError(ErrorCode.BALANCE_LIMIT_EXCEEDED, `account ${account.id} would rise above the maximum balance it may hold`);
}

/**
 * Balances are stored as BIGINT: a change that would carry one (or the available balance
 * derived from them) beyond it is refused here, with the caller's code, rather than by the
 * database as an internal error. The command's undo log restores the values.
 */
export function checkStorable(account: AccountState): void {
  // Four comparisons, no array: this runs for every posting of every group.
  if (
    !storable(account.postedMinor) ||
    !storable(account.pendingDebitsMinor) ||
    !storable(account.pendingCreditsMinor) ||
    !storable(availableMinor(account))
  ) {
    throw new DomainError(ErrorCode.INVALID_AMOUNT, `account ${account.id}: the balance would exceed what the ledger can store`);
  }
}

function storable(value: bigint): boolean {
  return value <= MAX_STORED_MINOR && value >= MIN_STORED_MINOR;
}

export function mustHave<T>(map: ReadonlyMap<string, T>, id: string): T {
  const found = map.get(id);
  if (found === undefined) throw new DomainError(ErrorCode.NOT_FOUND, `account ${id} was not found`);
  return found;
}

type Balances = Pick<AccountState, 'postedMinor' | 'pendingDebitsMinor' | 'pendingCreditsMinor'>;

/**
 * Account states of one posting group, with an undo log per command: a refused command leaves
 * the states exactly as the previous command left them.
 */
export class WorkingSet {
  private readonly undo = new Map<string, Balances>();
  readonly touched = new Set<string>();

  constructor(readonly accounts: ReadonlyMap<string, AccountState>) {}

  get(id: string): AccountState {
    return mustHave(this.accounts, id);
  }

  /** Changes balances, remembering the first value seen in this command for rollback. */
  change(id: string, delta: Partial<Balances>): AccountState {
    const account = this.get(id);
    if (!this.undo.has(id)) {
      this.undo.set(id, {
        postedMinor: account.postedMinor,
        pendingDebitsMinor: account.pendingDebitsMinor,
        pendingCreditsMinor: account.pendingCreditsMinor,
      });
    }
    // Only the balances that change: each bigint sum is a new heap number.
    if (delta.postedMinor !== undefined) account.postedMinor += delta.postedMinor;
    if (delta.pendingDebitsMinor !== undefined) account.pendingDebitsMinor += delta.pendingDebitsMinor;
    if (delta.pendingCreditsMinor !== undefined) account.pendingCreditsMinor += delta.pendingCreditsMinor;
    if (account.pendingDebitsMinor < 0n || account.pendingCreditsMinor < 0n) {
      throw new Error(`pending balance of account ${id} went negative: the hold bookkeeping is wrong`);
    }
    checkStorable(account);
    return account;
  }

  commit(): void {
    for (const id of this.undo.keys()) this.touched.add(id);
    this.undo.clear();
  }

  rollback(): void {
    for (const [id, saved] of this.undo) Object.assign(this.get(id), saved);
    this.undo.clear();
  }
}
