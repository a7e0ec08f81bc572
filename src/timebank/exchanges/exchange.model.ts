import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';

export enum ExchangeStatus {
  PENDING = 'PENDING',
  CONFIRMED = 'CONFIRMED',
  DISPUTED = 'DISPUTED',
}
registerEnumType(ExchangeStatus, { name: 'ExchangeStatus' });

/** `provider`, `receiver`, `hold`, `transaction`, `offer` and `request` are resolved from the ids. */
@ObjectType({
  description:
    'A service given by a provider to a receiver for some hours. Recorded by the receiver (or a coordinator) it is CONFIRMED at once; ' +
    "recorded by the provider it is a hold on the receiver's account, PENDING until the receiver confirms or disputes it.",
})
export class Exchange {
  @Field(() => ID)
  id!: string;

  @Field(() => AmountScalar)
  hours!: string;

  @Field()
  description!: string;

  @Field(() => ExchangeStatus)
  status!: ExchangeStatus;

  @Field(() => String, { nullable: true, description: 'Why the receiver disputed it.' })
  disputeReason!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was confirmed or disputed.' })
  resolvedAt!: Date | null;

  seq!: string;
  providerAccountId!: string;
  receiverAccountId!: string;
  holdId!: string | null;
  transactionId!: string | null;
  offerId!: string | null;
  requestId!: string | null;
}

export const ExchangeConnection = Connection(Exchange, 'Exchange');
