import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { enumOf } from '../../common/vocabulary';
import { ACCOUNT_STATUSES, type AccountStatus as Status } from '../posting/posting.types';
import type { CurrencyKind } from '../currencies/currency.model';
import type { AccountRecord } from './account.record';

/** Declared once, in posting.types (ACCOUNT_STATUSES). */
export const AccountStatus = enumOf(ACCOUNT_STATUSES);
export type AccountStatus = Status;
registerEnumType(AccountStatus, { name: 'AccountStatus' });

/** `party`, `currency` and the balances are resolved by AccountResolver from the record's fields. */
@ObjectType({ description: 'Holds one currency for one party. available = posted - pendingDebits.' })
export class Account implements AccountRecord {
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
