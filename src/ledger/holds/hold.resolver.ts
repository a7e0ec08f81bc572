import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { loaderFor } from '../../graphql/batch-loader';
import { mapNodes, PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { Allow, contextNetwork, CurrentCaller, type LedgerContext } from '../../identity/auth.guard';
import { ReadKind, ReadRule, ReadRules } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { toAccountModel } from '../accounts/account.mapper';
import { Account } from '../accounts/account.model';
import { AccountRepository } from '../accounts/account.repository';
import type { HoldStatus as Status } from '../posting/posting.types';
import { IDEMPOTENCY_KEY_DESCRIPTION } from '../posting/idempotency';
import { Transaction } from '../transactions/transaction.model';
import { TransactionReader } from '../transactions/transaction.reader';
import { toHoldModel } from './hold.mapper';
import { Hold, HoldConnection, HoldStatus } from './hold.model';
import { HoldService } from './hold.service';

const MOVERS = [Role.ADMIN, Role.MEMBER, Role.TREASURER];

/**
 * Loads accounts of the caller's network by id as GraphQL `Account`s, batched per request (the
 * same loader, under the same key, the postings of a transaction use).
 */
export async function loadAccount(context: object, accounts: Pick<AccountRepository, 'findByIds'>, id: string): Promise<Account> {
  const network = contextNetwork(context);
  const loader = loaderFor<string, Account>(
    context,
    'account',
    async (ids) => new Map((await accounts.findByIds(network, ids)).map((a) => [a.id, toAccountModel(a)])),
  );
  const account = await loader.load(id);
  if (!account) throw new Error(`account ${id} is missing`);
  return account;
}

@Resolver(() => Hold)
export class HoldResolver {
  constructor(
    private readonly holdService: HoldService,
    private readonly accounts: AccountRepository,
    private readonly reader: TransactionReader,
    private readonly rules: ReadRules,
  ) {}

  @Mutation(() => Hold, {
    description: "Reserves `amount` on the payer's account at once; it counts against the payer's credit limit until resolved.",
  })
  @Allow(...MOVERS)
  async createHold(
    @CurrentCaller() caller: Caller,
    @Args('from', { type: () => ID }) from: string,
    @Args('to', { type: () => ID }) to: string,
    @Args('amount', { type: () => AmountScalar }) amount: string,
    @Args('memo', { type: () => String, nullable: true }) memo: string | null,
    @Args('expiresAt', { type: () => DateTimeScalar, nullable: true }) expiresAt: Date | null,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Hold> {
    return toHoldModel(await this.holdService.create(caller, { from, to, amount, memo, expiresAt, idempotencyKey }));
  }

  @Mutation(() => Hold, { description: 'Posts the held amount, or a smaller `amount`, and releases the rest.' })
  @Allow(...MOVERS)
  async captureHold(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('amount', { type: () => AmountScalar, nullable: true }) amount: string | null,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
    idempotencyKey?: string | null,
  ): Promise<Hold> {
    return toHoldModel(await this.holdService.capture(caller, id, amount, idempotencyKey));
  }

  @Mutation(() => Hold, { description: 'Releases the whole reservation without posting anything.' })
  @Allow(...MOVERS)
  async voidHold(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
    idempotencyKey?: string | null,
  ): Promise<Hold> {
    return toHoldModel(await this.holdService.void(caller, id, idempotencyKey));
  }

  @Query(() => Hold, { nullable: true })
  @Allow(...READERS)
  @ReadRule(ReadKind.HOLD)
  async hold(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Hold | null> {
    const hold = await this.holdService.find(caller, id);
    return hold ? toHoldModel(hold) : null;
  }

  @Query(() => HoldConnection, { description: 'Holds on an account as payer or payee, oldest first.' })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  async holds(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('status', { type: () => HoldStatus, nullable: true }) status: Status | null,
    @Args() page: PageArgs,
  ) {
    return mapNodes(await this.holdService.page(caller, { accountId, status, first: page.first, after: page.after }), toHoldModel);
  }

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  from(@Parent() hold: Hold, @Context() context: object): Promise<Account> {
    return loadAccount(context, this.accounts, hold.fromAccountId);
  }

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  to(@Parent() hold: Hold, @Context() context: object): Promise<Account> {
    return loadAccount(context, this.accounts, hold.toAccountId);
  }

  @ResolveField(() => Transaction, { nullable: true, description: 'The transaction posted when the hold was captured.' })
  @ReadRule(ReadKind.TRANSACTION)
  async transaction(@Parent() hold: Hold, @Context() context: LedgerContext): Promise<Transaction | null> {
    return this.rules.shown(
      context.caller,
      hold.transactionId ? await this.reader.byId(contextNetwork(context), hold.transactionId) : null,
    );
  }
}
