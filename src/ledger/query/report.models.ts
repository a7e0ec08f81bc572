import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection, type ConnectionShape } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { Account } from '../accounts/account.model';
import type { AccountRecord } from '../accounts/account.record';
import { Currency } from '../currencies/currency.model';

export enum ExportFormat {
  HLEDGER = 'HLEDGER',
  CSV = 'CSV',
}
registerEnumType(ExportFormat, {
  name: 'ExportFormat',
  valuesMap: {
    HLEDGER: { description: 'A plain-text hledger journal with the hash chain, balance assertions and a seal; see docs/reports.md.' },
    CSV: { description: 'RFC 4180 CSV, one row per posting, safe to open in a spreadsheet.' },
  },
});

/** `transaction` is resolved (in batches) from `transactionId`. */
@ObjectType({ description: 'One posting of the account, with the running balance just after it.' })
export class StatementEntry {
  @Field(() => AmountScalar, { description: "Positive raised the account's balance, negative lowered it." })
  amount!: string;

  @Field(() => AmountScalar, { description: 'The posted balance just after this entry.' })
  balance!: string;

  @Field(() => DateTimeScalar)
  postedAt!: Date;

  transactionId!: string;
}

export const StatementEntryConnection = Connection(StatementEntry, 'StatementEntry');

@ObjectType({
  description:
    'The postings of one account over a half-open period [from, to), in posting order. openingBalance plus the amounts of ' +
    'all entries (over every page) equals closingBalance. The statement is taken when its first page is read: following ' +
    'pages (with `after`) continue that same statement even while new transactions arrive.',
})
export class Statement {
  @Field(() => Account)
  account!: Account;

  @Field(() => AmountScalar, { description: 'The posted balance just before `from` (zero before any history).' })
  openingBalance!: string;

  @Field(() => AmountScalar, { description: 'The posted balance just before `to`, or when the statement was taken.' })
  closingBalance!: string;

  @Field(() => StatementEntryConnection)
  entries!: ConnectionShape<StatementEntry>;
}

/** `account` is resolved from `accountRecord` when the report read it, else (in batches) from `accountId`. */
@ObjectType()
export class TrialBalanceLine {
  @Field(() => AmountScalar, { description: 'The posted balance at `asOf`.' })
  balance!: string;

  accountId!: string;
  accountRecord?: AccountRecord;
}

@ObjectType({
  description:
    'Every account of a currency the caller may read, with its posted balance at `asOf`. Over a whole currency the total ' +
    'is zero: time credits are mutual credit, and a local dollar issued is the issuance account owing it.',
})
export class TrialBalance {
  @Field(() => Currency)
  currency!: Currency;

  @Field(() => DateTimeScalar, { description: 'Balances include every transaction posted at or before this instant.' })
  asOf!: Date;

  @Field(() => [TrialBalanceLine])
  lines!: TrialBalanceLine[];

  @Field(() => AmountScalar, { description: 'The sum of the lines.' })
  total!: string;
}

@ObjectType({ description: 'Totals of an activity report over the accounts the caller may read.' })
export class ActivityTotals {
  @Field(() => Int, { description: 'Transactions with at least one posting on a reported account.' })
  transactions!: number;

  @Field(() => Int, { description: 'Reported accounts with at least one posting in the period.' })
  activeAccounts!: number;

  @Field(() => AmountScalar, { description: 'The sum of every line’s credited.' })
  volume!: string;
}

/** `account` is resolved (in batches) from `accountId`. */
@ObjectType({ description: 'What moved on one account over the period. Accounts without postings in it have no line.' })
export class ActivityLine {
  @Field(() => AmountScalar, { description: 'The sum of its positive postings.' })
  credited!: string;

  @Field(() => AmountScalar, { description: 'The sum of the magnitudes of its negative postings.' })
  debited!: string;

  @Field(() => Int, { description: 'Transactions touching it (an account appears at most once in a transaction).' })
  transactions!: number;

  accountId!: string;
}

export const ActivityLineConnection = Connection(ActivityLine, 'ActivityLine');

@ObjectType({
  description:
    'Per account, what was credited and debited over a half-open period [from, to) of posting time, and totals. Every ' +
    'posting counts: reversals, the community pool’s grants and imported history alike (docs/reports.md). Pages after ' +
    'the first continue the same report even while new transactions arrive.',
})
export class Activity {
  @Field(() => Currency)
  currency!: Currency;

  @Field(() => DateTimeScalar)
  from!: Date;

  @Field(() => DateTimeScalar)
  to!: Date;

  @Field(() => ActivityTotals)
  totals!: ActivityTotals;

  @Field(() => ActivityLineConnection, { description: 'Lines in account id order.' })
  lines!: ConnectionShape<ActivityLine>;
}
