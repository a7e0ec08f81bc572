import { Args, Context, ID, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Allow, contextNetwork, CurrentCaller, type LedgerContext } from '../../identity/auth.guard';
import { ReadKind, ReadRule, ReadRules } from '../../identity/read-rules';
import { type Caller, READERS } from '../../identity/caller';
import { loaderFor } from '../../graphql/batch-loader';
import { PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { Account } from '../accounts/account.model';
import { AccountRepository } from '../accounts/account.repository';
import { toAccountModel } from '../accounts/account.mapper';
import { loadAccount } from '../holds/hold.resolver';
import { Transaction } from '../transactions/transaction.model';
import { TransactionReader } from '../transactions/transaction.reader';
import { Activity, ActivityLine, Statement, StatementEntry, TrialBalance, TrialBalanceLine } from './report.models';
import { ReportService } from './report.service';

/** Reports for treasurers and auditors. Every one is scoped to what the caller may read. */
@Resolver()
export class ReportResolver {
  constructor(private readonly reports: ReportService) {}

  @Query(() => AmountScalar, { description: 'The posted balance of an account including every transaction posted at or before `asOf`.' })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  balanceAt(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('asOf', { type: () => DateTimeScalar }) asOf: Date,
  ): Promise<string> {
    return this.reports.balanceAt(caller, accountId, asOf);
  }

  @Query(() => Statement, { description: 'Opening balance, entries with running balances, and closing balance over [from, to).' })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  statement(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('from', { type: () => DateTimeScalar, nullable: true }) from: Date | null,
    @Args('to', { type: () => DateTimeScalar, nullable: true }) to: Date | null,
    @Args() page: PageArgs,
  ): Promise<Statement> {
    return this.reports.statement(caller, { accountId, from, to, first: page.first, after: page.after });
  }

  @Query(() => TrialBalance, { description: 'Every readable account of a currency with its balance at `asOf` (now when omitted).' })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  trialBalance(
    @CurrentCaller() caller: Caller,
    @Args('currency') currency: string,
    @Args('asOf', { type: () => DateTimeScalar, nullable: true }) asOf: Date | null,
  ): Promise<TrialBalance> {
    return this.reports.trialBalance(caller, currency, asOf);
  }

  @Query(() => Activity, { description: 'Per readable account, credited, debited and transactions over [from, to), with totals.' })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  activity(
    @CurrentCaller() caller: Caller,
    @Args('currency') currency: string,
    @Args('from', { type: () => DateTimeScalar }) from: Date,
    @Args('to', { type: () => DateTimeScalar }) to: Date,
    @Args() page: PageArgs,
  ): Promise<Activity> {
    return this.reports.activity(caller, { currency, from, to, first: page.first, after: page.after });
  }
}

@Resolver(() => StatementEntry)
export class StatementEntryResolver {
  constructor(
    private readonly reader: TransactionReader,
    private readonly rules: ReadRules,
  ) {}

  @ResolveField(() => Transaction)
  @ReadRule(ReadKind.TRANSACTION)
  async transaction(@Parent() entry: StatementEntry, @Context() context: LedgerContext): Promise<Transaction> {
    const loader = loaderFor<string, Transaction>(
      context,
      'transaction',
      async (ids) => new Map((await this.reader.byIds(contextNetwork(context), ids)).map((t) => [t.id, t])),
    );
    const transaction = await loader.load(entry.transactionId);
    if (!transaction) throw new Error(`transaction ${entry.transactionId} of a statement entry is missing`);
    return this.rules.required(context.caller, transaction, 'transaction');
  }
}

/*
 * The lines' `account` fields below take graphql-js's resolver arguments (parent, args, context)
 * as they are, with no parameter decorators: @nestjs/graphql then calls the method directly
 * instead of through its per-call pipeline (parameter extraction and pipes), which is run once
 * per line, 100 times in a trial balance of 100 accounts, and was a fifth of its CPU. Field
 * resolvers run no guards here either way (no `fieldResolverEnhancers`); the read rule stays
 * declared, and lines only ever name accounts the report's scope let the caller read.
 */

@Resolver(() => ActivityLine)
export class ActivityLineResolver {
  constructor(private readonly accounts: AccountRepository) {}

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  account(line: ActivityLine, _args: unknown, context: object): Promise<Account> {
    return loadAccount(context, this.accounts, line.accountId);
  }
}

@Resolver(() => TrialBalanceLine)
export class TrialBalanceLineResolver {
  constructor(private readonly accounts: AccountRepository) {}

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  account(line: TrialBalanceLine, _args: unknown, context: object): Account | Promise<Account> {
    // A trial balance as of now read its accounts with its lines: no second query.
    return line.accountRecord ? toAccountModel(line.accountRecord) : loadAccount(context, this.accounts, line.accountId);
  }
}
