import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { enumOf } from '../../common/vocabulary';
import { ACCOUNT_STATUSES, type AccountStatus as Status } from '../posting/posting.types';
import type { CurrencyKind } from '../currencies/currency.model';

/** Declared once, in posting.types (ACCOUNT_STATUSES). */
export const AccountStatus = enumOf(ACCOUNT_STATUSES);
export type AccountStatus = Status;
registerEnumType(AccountStatus, { name: 'AccountStatus' });

/** An account as read: balances already exclude holds whose expiry has passed. */
export interface AccountView {
  readonly id: string;
  readonly networkId: string;
  readonly partyId: string;
  readonly currencyCode: string;
  readonly scale: number;
  readonly currencyKind: CurrencyKind;
  readonly status: Status;
  readonly statusReason: string | null;
  readonly creditLimitMinor: bigint;
  /** null: no upper bound. */
  readonly maxBalanceMinor: bigint | null;
  readonly unlimited: boolean;
  readonly postedMinor: bigint;
  readonly pendingDebitsMinor: bigint;
  readonly pendingCreditsMinor: bigint;
}

/** `party`, `currency` and the balances are resolved by AccountResolver from the view. */
@ObjectType({ description: 'Holds one currency for one party. available = posted - pendingDebits.' })
export class Account implements AccountView {
  @Field(() => ID)
  id!: string;

  @Field(() => AccountStatus)
  status!: Status;

  @Field({ description: 'Reserved for the issuance account of a MONEY currency: no limit applies.' })
  unlimited!: boolean;

  networkId!: string;
  partyId!: string;
  currencyCode!: string;
  scale!: number;
  currencyKind!: CurrencyKind;
  statusReason!: string | null;
  creditLimitMinor!: bigint;
  maxBalanceMinor!: bigint | null;
  postedMinor!: bigint;
  pendingDebitsMinor!: bigint;
  pendingCreditsMinor!: bigint;
}
