import { Field, ObjectType } from '@nestjs/graphql';
import { AmountScalar } from '../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../graphql/scalars/date-time.scalar';
import { Currency } from '../ledger/currencies/currency.model';

@ObjectType({ description: "A local dollar's circulation in the ledger compared with the reserve its credit union reports." })
export class Reconciliation {
  @Field(() => Currency)
  currency!: Currency;

  @Field(() => AmountScalar, { description: 'Local dollars held by everyone: minus the balance of the issuance account.' })
  circulation!: string;

  @Field(() => AmountScalar, { description: 'The reserve the credit union reports holding outside the ledger.' })
  reserve!: string;

  @Field(() => AmountScalar, { description: 'reserve - circulation: positive when the reserve holds more than circulates.' })
  difference!: string;

  @Field({ description: 'Whether the reserve equals the circulation exactly.' })
  balanced!: boolean;

  @Field(() => DateTimeScalar, { description: 'When the circulation was read.' })
  asOf!: Date;
}
