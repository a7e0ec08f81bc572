/**
 * An exchange as ExchangeRepository reads it and ExchangeService works on it; the GraphQL
 * `Exchange` is built from it at the edge (exchange.mapper.ts), so the repository knows no GraphQL.
 */
export enum ExchangeStatus {
  PENDING = 'PENDING',
  CONFIRMED = 'CONFIRMED',
  DISPUTED = 'DISPUTED',
  /** A claim nobody answered within EXCHANGE_CLAIM_TTL_DAYS: its hold expired, nothing moved. */
  EXPIRED = 'EXPIRED',
  /** A claim its provider took back (withdrawExchange): its hold was voided, nothing moved. */
  WITHDRAWN = 'WITHDRAWN',
}

/** Which side of an exchange an account is on, to list one direction only. */
export enum ExchangeRole {
  PROVIDER = 'PROVIDER',
  RECEIVER = 'RECEIVER',
}

/**
 * An exchange as read: a pending claim whose hold has passed its deadline is EXPIRED, resolved at
 * the deadline, even before a posting group has stored it so.
 */
export interface ExchangeRecord {
  readonly id: string;
  /** Keyset of the exchange lists (bigint as text). */
  readonly seq: string;
  readonly providerAccountId: string;
  readonly receiverAccountId: string;
  readonly hoursMinor: bigint;
  /** The scale of the time currency, to write the hours as a decimal. */
  readonly scale: number;
  readonly description: string;
  readonly status: ExchangeStatus;
  /** The hold on the receiver's account, when the provider recorded it (a claim). */
  readonly holdId: string | null;
  /** The EXCHANGE transaction, once the hours have moved. */
  readonly transactionId: string | null;
  readonly offerId: string | null;
  readonly requestId: string | null;
  readonly disputeReason: string | null;
  readonly createdAt: Date;
  /** When it was confirmed, disputed, withdrawn or expired. */
  readonly resolvedAt: Date | null;
}
