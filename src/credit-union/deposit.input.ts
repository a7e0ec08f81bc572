import { Field, ID, InputType } from '@nestjs/graphql';
import { AmountScalar } from '../graphql/scalars/amount.scalar';

/** One deposit of a batch; each carries its own idempotency key, so a batch can be retried as is. */
@InputType()
export class DepositInput {
  @Field(() => ID)
  accountId!: string;

  @Field(() => AmountScalar)
  amount!: string;

  @Field({ description: "The credit union's own reference for the deposit (kept on the transaction)." })
  externalRef!: string;

  @Field()
  idempotencyKey!: string;
}
