import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { JsonScalar } from '../../graphql/scalars/json.scalar';
import { Connection } from '../../graphql/pagination';
import { enumOf } from '../../common/vocabulary';
import { TRANSACTION_KINDS, type TransactionKind as Kind } from '../posting/posting.types';

/** The kinds of transaction: declared once, in posting.types (TRANSACTION_KINDS). */
export const TransactionKind = enumOf(TRANSACTION_KINDS);
export type TransactionKind = Kind;
registerEnumType(TransactionKind, { name: 'TransactionKind' });

/** `account` is resolved by PostingResolver from `accountId`. */
@ObjectType()
export class Posting {
  @Field(() => AmountScalar, { description: "Positive raises the holder's balance, negative lowers it." })
  amount!: string;

  accountId!: string;
  amountMinor!: bigint;
}

@ObjectType({ description: 'An immutable journal entry. Mistakes are corrected by a reversal, never by an edit.' })
export class Transaction {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Ledger-wide, strictly increasing (a decimal string: it may exceed 2^53).' })
  sequence!: string;

  @Field(() => TransactionKind)
  kind!: Kind;

  @Field(() => String, { nullable: true })
  memo!: string | null;

  @Field(() => JsonScalar, { nullable: true })
  metadata!: unknown;

  @Field(() => String, { nullable: true })
  externalRef!: string | null;

  @Field(() => [Posting])
  postings!: Posting[];

  @Field(() => DateTimeScalar)
  postedAt!: Date;

  @Field({ description: 'SHA-256 of this transaction chained to the previous one; see docs/hash-chain.md.' })
  hash!: string;

  @Field()
  previousHash!: string;

  @Field(() => Int, { description: 'The hash recipe this transaction was hashed under (docs/hash-chain.md): 1 before B.2, 2 since.' })
  hashVersion!: number;

  reversesId!: string | null;
  apiKeyId!: string | null;
}

export const TransactionConnection = Connection(Transaction, 'Transaction');
