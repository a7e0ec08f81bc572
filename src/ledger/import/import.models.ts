import { Field, InputType, Int, ObjectType } from '@nestjs/graphql';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { PartyKind } from '../parties/party.model';

/**
 * What `npm run import` sends (SPEC B.6, docs/import.md). Rows name each other by the refs they
 * had in the other system; the ledger derives its ids from them, so sending a row again finds
 * what the first send made.
 */
@InputType()
export class ImportPartyInput {
  @Field({ description: 'The party’s reference in the other system (1–100 characters).' })
  ref!: string;

  @Field(() => PartyKind)
  kind!: PartyKind;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  handle?: string | null;
}

@InputType()
export class ImportAccountInput {
  @Field()
  ref!: string;

  @Field()
  partyRef!: string;

  @Field()
  currency!: string;

  @Field(() => AmountScalar, { nullable: true, description: 'Absent: the currency’s default, as for openAccount.' })
  creditLimit?: string | null;

  @Field(() => AmountScalar, { nullable: true })
  maxBalance?: string | null;
}

@InputType()
export class ImportTransactionInput {
  @Field({ description: 'The transaction’s reference in the other system: its idempotency key and externalRef.' })
  ref!: string;

  @Field(() => DateTimeScalar, { description: 'When it happened in the other system: kept as postedAt.' })
  postedAt!: Date;

  @Field({ description: 'TRANSFER, EXCHANGE or ADJUSTMENT.' })
  kind!: string;

  @Field(() => String, { nullable: true })
  memo?: string | null;

  @Field()
  fromAccountRef!: string;

  @Field()
  toAccountRef!: string;

  @Field(() => AmountScalar)
  amount!: string;
}

@ObjectType({ description: 'What one batch of imported rows did.' })
export class ImportBatchResult {
  @Field(() => Int, { description: 'Rows made (parties, accounts) or posted (transactions) by this batch.' })
  created!: number;

  @Field(() => Int, { description: 'Rows an earlier run had already made or posted: left as they were.' })
  alreadyImported!: number;
}
