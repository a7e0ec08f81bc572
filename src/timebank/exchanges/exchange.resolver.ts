import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { mapNodes, PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { Allow, contextNetwork, CurrentCaller, type LedgerContext } from '../../identity/auth.guard';
import { ReadKind, ReadRule, ReadRules } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { Account } from '../../ledger/accounts/account.model';
import { toHoldModel } from '../../ledger/holds/hold.mapper';
import { Hold } from '../../ledger/holds/hold.model';
import { loadAccount } from '../../ledger/holds/hold.resolver';
import { AccountReader, HoldReader } from '../../ledger/ledger-readers';
import { Transaction } from '../../ledger/transactions/transaction.model';
import { TransactionReader } from '../../ledger/transactions/transaction.reader';
import { IDEMPOTENCY_KEY_DESCRIPTION } from '../../ledger/posting/idempotency';
// The Exchange model before the listing models: the printed schema keeps its order of types.
import { Exchange, ExchangeConnection, ExchangeRole, ExchangeStatus } from './exchange.model';
import { HelpRequest, Offer } from '../listings/listing.model';
import { ListingService } from '../listings/listing.service';
import { toExchangeModel } from './exchange.mapper';
import { ExchangeService } from './exchange.service';

const MOVERS = [Role.ADMIN, Role.MEMBER, Role.TREASURER];

@Resolver(() => Exchange)
export class ExchangeResolver {
  constructor(
    private readonly exchangeService: ExchangeService,
    private readonly listings: ListingService,
    private readonly accounts: AccountReader,
    private readonly holds: HoldReader,
    private readonly reader: TransactionReader,
    private readonly rules: ReadRules,
  ) {}

  @Mutation(() => Exchange, {
    description:
      'Records a service given for some hours. By the receiver (or a coordinator) the hours move at once; by the provider, a hold waits for the receiver to confirm or dispute.',
  })
  @Allow(...MOVERS)
  async recordExchange(
    @CurrentCaller() caller: Caller,
    @Args('provider', { type: () => ID, description: "The provider's account (receives the hours)." }) provider: string,
    @Args('receiver', { type: () => ID, description: "The receiver's account (pays the hours)." }) receiver: string,
    @Args('hours', { type: () => AmountScalar }) hours: string,
    @Args('description') description: string,
    @Args('offerId', { type: () => ID, nullable: true, description: "The provider's offer this exchange fulfils." }) offerId: string | null,
    @Args('requestId', { type: () => ID, nullable: true, description: "The receiver's request this exchange fulfils." })
    requestId: string | null,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Exchange> {
    const input = { provider, receiver, hours, description, offerId, requestId, idempotencyKey };
    return toExchangeModel(await this.exchangeService.record(caller, input));
  }

  @Mutation(() => Exchange, { description: 'The receiver (or a coordinator) accepts a pending exchange: the hours move.' })
  @Allow(...MOVERS)
  async confirmExchange(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
    idempotencyKey?: string | null,
  ): Promise<Exchange> {
    return toExchangeModel(await this.exchangeService.confirm(caller, id, idempotencyKey));
  }

  @Mutation(() => Exchange, {
    description: 'The receiver (or a coordinator) rejects a pending exchange: the hold is released, the reason kept.',
  })
  @Allow(...MOVERS)
  async disputeExchange(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('reason') reason: string,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
    idempotencyKey?: string | null,
  ): Promise<Exchange> {
    return toExchangeModel(await this.exchangeService.dispute(caller, id, reason, idempotencyKey));
  }

  @Mutation(() => Exchange, {
    description:
      'The provider (or a coordinator) takes back its pending claim: the hold on the receiver is voided, nothing moves, the exchange is WITHDRAWN.',
  })
  @Allow(...MOVERS)
  async withdrawExchange(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
    idempotencyKey?: string | null,
  ): Promise<Exchange> {
    return toExchangeModel(await this.exchangeService.withdraw(caller, id, idempotencyKey));
  }

  @Query(() => Exchange, { nullable: true })
  @Allow(...READERS)
  @ReadRule(ReadKind.EXCHANGE)
  async exchange(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Exchange | null> {
    const exchange = await this.exchangeService.find(caller, id);
    return exchange ? toExchangeModel(exchange) : null;
  }

  @Query(() => ExchangeConnection, {
    description:
      'Exchanges an account gave or received, oldest first. `status: PENDING` lists open claims; `role` one direction only ' +
      '(PROVIDER: claims the account made, RECEIVER: claims on its hours).',
  })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  async exchanges(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('status', { type: () => ExchangeStatus, nullable: true }) status: ExchangeStatus | null,
    @Args('role', { type: () => ExchangeRole, nullable: true, description: 'One side only; both when omitted.' }) role: ExchangeRole | null,
    @Args() page: PageArgs,
  ) {
    const exchanges = await this.exchangeService.page(caller, { accountId, status, role, first: page.first, after: page.after });
    return mapNodes(exchanges, toExchangeModel);
  }

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  provider(@Parent() exchange: Exchange, @Context() context: object): Promise<Account> {
    return loadAccount(context, this.accounts, exchange.providerAccountId);
  }

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  receiver(@Parent() exchange: Exchange, @Context() context: object): Promise<Account> {
    return loadAccount(context, this.accounts, exchange.receiverAccountId);
  }

  @ResolveField(() => Hold, { nullable: true, description: "The hold on the receiver's account, when the provider recorded it." })
  @ReadRule(ReadKind.HOLD)
  async hold(@Parent() exchange: Exchange, @Context() context: LedgerContext): Promise<Hold | null> {
    const hold = await this.rules.shown(
      context.caller,
      exchange.holdId ? await this.holds.findById(contextNetwork(context), exchange.holdId) : null,
    );
    return hold ? toHoldModel(hold) : null;
  }

  @ResolveField(() => Transaction, { nullable: true, description: 'The EXCHANGE transaction, once the hours have moved.' })
  @ReadRule(ReadKind.TRANSACTION)
  async transaction(@Parent() exchange: Exchange, @Context() context: LedgerContext): Promise<Transaction | null> {
    return this.rules.shown(
      context.caller,
      exchange.transactionId ? await this.reader.byId(contextNetwork(context), exchange.transactionId) : null,
    );
  }

  @ResolveField(() => Offer, { nullable: true })
  @ReadRule(ReadKind.DIRECTORY)
  async offer(@Parent() exchange: Exchange, @Context() context: object): Promise<Offer | null> {
    return exchange.offerId ? ((await this.listings.findByIds(contextNetwork(context), [exchange.offerId]))[0] ?? null) : null;
  }

  @ResolveField(() => HelpRequest, { nullable: true })
  @ReadRule(ReadKind.DIRECTORY)
  async request(@Parent() exchange: Exchange, @Context() context: object): Promise<HelpRequest | null> {
    return exchange.requestId ? ((await this.listings.findByIds(contextNetwork(context), [exchange.requestId]))[0] ?? null) : null;
  }
}
