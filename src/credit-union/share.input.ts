import { Field, ID, InputType, Int } from '@nestjs/graphql';

/** One recipient of a distribution and its integer weight (greater than zero). */
@InputType()
export class ShareInput {
  @Field(() => ID)
  accountId!: string;

  @Field(() => Int)
  weight!: number;
}
