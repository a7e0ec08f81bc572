import type { HoldStatus, TransactionKind } from '../posting/posting.types';

/**
 * A hold as HoldRepository reads it and HoldService works on it; the GraphQL `Hold` is built from
 * it at the edge (hold.mapper.ts), so the repository knows no GraphQL. A pending hold past its
 * expiry is read as EXPIRED, resolved at its expiry.
 */
export interface HoldRecord {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amountMinor: bigint;
  /** The scale of the hold's currency, to write its amounts as decimals. */
  readonly scale: number;
  readonly status: HoldStatus;
  readonly kind: TransactionKind;
  readonly memo: string | null;
  readonly expiresAt: Date | null;
  /** The transaction posted when the hold was captured. */
  readonly transactionId: string | null;
  readonly capturedMinor: bigint | null;
  readonly createdAt: Date;
  /** When it was captured, voided or released on expiry. */
  readonly resolvedAt: Date | null;
}
