import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { enumOf } from '../../common/vocabulary';
import { HOLD_STATUSES, type HoldStatus as Status, type TransactionKind } from '../posting/posting.types';

/** Declared once, in posting.types (HOLD_STATUSES). */
export const HoldStatus = enumOf(HOLD_STATUSES);
export type HoldStatus = Status;
registerEnumType(HoldStatus, { name: 'HoldStatus' });

/** `from`, `to` and `transaction` are resolved by HoldResolver from the ids. */
@ObjectType({
  description:
    'A two-phase transfer: reserves `amount` at once (payer pendingDebits, payee pendingCredits), then is captured, voided or expires.',
})
export class Hold {
  @Field(() => ID)
  id!: string;

  @Field(() => AmountScalar, { description: 'The amount reserved.' })
  amount!: string;

  @Field(() => HoldStatus, { description: 'A pending hold past its expiry reads as EXPIRED, whether or not it has been swept yet.' })
  status!: Status;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => String, { nullable: true })
  memo!: string | null;

  @Field(() => AmountScalar, { nullable: true, description: 'The amount posted when captured (at most `amount`).' })
  capturedAmount!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the hold was captured, voided or released on expiry.' })
  resolvedAt!: Date | null;

  fromAccountId!: string;
  toAccountId!: string;
  transactionId!: string | null;
  kind!: TransactionKind;
}

export const HoldConnection = Connection(Hold, 'Hold');
