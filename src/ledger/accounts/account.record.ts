import type { AccountStatus, CurrencyKind } from '../posting/posting.types';

/**
 * An account as AccountRepository reads it and services compute on it; the GraphQL `Account` is
 * built from it at the edge (account.mapper.ts), so the repository knows no GraphQL.
 */
/** An account as read: balances already exclude holds whose expiry has passed. */
export interface AccountRecord {
  readonly id: string;
  readonly networkId: string;
  readonly partyId: string;
  readonly currencyCode: string;
  readonly scale: number;
  readonly currencyKind: CurrencyKind;
  readonly status: AccountStatus;
  readonly statusReason: string | null;
  readonly creditLimitMinor: bigint;
  /** null: no upper bound. */
  readonly maxBalanceMinor: bigint | null;
  readonly unlimited: boolean;
  readonly postedMinor: bigint;
  readonly pendingDebitsMinor: bigint;
  readonly pendingCreditsMinor: bigint;
}
