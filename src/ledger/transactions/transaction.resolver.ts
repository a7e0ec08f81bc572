import { type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { Args, ArgsType, Context, ID, Mutation, Parent, Query, ResolveField, Resolver, InputType, Field } from '@nestjs/graphql';
import { Allow, AuthGuard, contextNetwork, CurrentCaller, type LedgerContext, ROLES_KEY } from '../../identity/auth.guard';
import { graphqlSchema, resolveDirectly } from '../../graphql/direct-resolver';
import { ReadKind, ReadRule, ReadRules } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { ApiKeyService } from '../../identity/api-key.service';
import { toApiKeyModel } from '../../identity/api-key.mapper';
import { ApiKey } from '../../identity/identity.resolver';
import { loaderFor } from '../../graphql/batch-loader';
import { PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { JsonScalar } from '../../graphql/scalars/json.scalar';
import { toAccountModel } from '../accounts/account.mapper';
import { Account } from '../accounts/account.model';
import { AccountRepository } from '../accounts/account.repository';
import type { TransactionKind as Kind } from '../posting/posting.types';
import { Posting, Transaction, TransactionConnection, TransactionKind } from './transaction.model';
import { TransactionReader } from './transaction.reader';
import { TransactionService } from './transaction.service';

@InputType()
export class PostingInput {
  @Field(() => ID)
  accountId!: string;

  @Field(() => AmountScalar)
  amount!: string;
}

/**
 * The arguments of `transfer`, the hottest mutation, as one object: Nest resolves one parameter
 * per call instead of five. The schema is the same as with one @Args per argument.
 */
@ArgsType()
export class TransferArgs {
  @Field(() => ID)
  from!: string;

  @Field(() => ID)
  to!: string;

  @Field(() => AmountScalar)
  amount!: string;

  @Field(() => String, { nullable: true })
  memo?: string | null;

  @Field(() => String)
  idempotencyKey!: string;
}

const MOVERS = [Role.ADMIN, Role.MEMBER, Role.TREASURER];

@Resolver(() => Transaction)
export class TransactionResolver implements OnApplicationBootstrap {
  constructor(
    private readonly transactionService: TransactionService,
    private readonly reader: TransactionReader,
    private readonly rules: ReadRules,
    private readonly keys: ApiKeyService,
    private readonly guard: AuthGuard,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * `transfer` is called by graphql-js directly (see resolveDirectly), without Nest's per-call
   * pipeline: it authorizes its caller itself, with the roles its method declares below.
   */
  onApplicationBootstrap(): void {
    // The metadata of the method itself, as Nest's guard reads it; it is not called from here.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- read for its metadata, never called unbound
    const roles = this.reflector.get<Role[] | undefined>(ROLES_KEY, TransactionResolver.prototype.transfer);
    const schema = graphqlSchema(this.moduleRef);
    if (!schema) return;
    resolveDirectly<LedgerContext>(schema, 'Mutation', 'transfer', (_root, args, context) => {
      const caller = this.guard.authorize(context, roles);
      return caller instanceof Promise
        ? caller.then((known) => this.transfer(known, args as TransferArgs))
        : this.transfer(caller, args as TransferArgs);
    });
  }

  /** Who posted it (SPEC B.2): the API key, for admins and auditors only; null for others and for the service's own work. */
  @ResolveField(() => ApiKey, { nullable: true, description: 'The API key that posted it (admins and auditors only; null for others).' })
  @ReadRule(ReadKind.AUDIT)
  async postedBy(@Parent() tx: Transaction, @CurrentCaller() caller: Caller): Promise<ApiKey | null> {
    if (!tx.apiKeyId || (caller.role !== Role.ADMIN && caller.role !== Role.AUDITOR)) return null;
    const row = await this.keys.findById(caller.networkId, tx.apiKeyId);
    return row ? toApiKeyModel(row) : null;
  }

  @Mutation(() => Transaction, { description: 'Moves `amount` from one account to another of the same currency.' })
  @Allow(...MOVERS)
  transfer(@CurrentCaller() caller: Caller, @Args() { from, to, amount, memo, idempotencyKey }: TransferArgs): Promise<Transaction> {
    return this.transactionService.transfer(caller, from, to, amount, memo ?? null, idempotencyKey);
  }

  @Mutation(() => Transaction, { description: 'Posts a balanced transaction of two or more postings.' })
  @Allow(...MOVERS)
  postTransaction(
    @CurrentCaller() caller: Caller,
    @Args('postings', { type: () => [PostingInput] }) postings: PostingInput[],
    @Args('kind', { type: () => TransactionKind }) kind: Kind,
    @Args('memo', { type: () => String, nullable: true }) memo: string | null,
    @Args('metadata', { type: () => JsonScalar, nullable: true }) metadata: unknown,
    @Args('externalRef', { type: () => String, nullable: true }) externalRef: string | null,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Transaction> {
    return this.transactionService.post(caller, { postings, kind, memo, metadata, externalRef, idempotencyKey });
  }

  @Mutation(() => Transaction, { description: 'Posts the mirror image of a transaction. A transaction is reversed at most once.' })
  @Allow(Role.ADMIN)
  reverseTransaction(
    @CurrentCaller() caller: Caller,
    @Args('id', { type: () => ID }) id: string,
    @Args('reason') reason: string,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Transaction> {
    return this.transactionService.reverse(caller, id, reason, idempotencyKey);
  }

  @Query(() => Transaction, { nullable: true })
  @Allow(...READERS)
  @ReadRule(ReadKind.TRANSACTION)
  transaction(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Transaction | null> {
    return this.transactionService.find(caller, id);
  }

  @Query(() => TransactionConnection)
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  transactions(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID, nullable: true }) accountId: string | null,
    @Args('kind', { type: () => TransactionKind, nullable: true }) kind: Kind | null,
    @Args('from', { type: () => DateTimeScalar, nullable: true }) from: Date | null,
    @Args('to', { type: () => DateTimeScalar, nullable: true }) to: Date | null,
    @Args() page: PageArgs,
  ) {
    return this.transactionService.page(caller, { accountId, kind, from, to, first: page.first, after: page.after });
  }

  @ResolveField(() => Transaction, { nullable: true, description: 'The transaction this one reverses.' })
  @ReadRule(ReadKind.TRANSACTION)
  async reverses(@Parent() tx: Transaction, @Context() context: LedgerContext): Promise<Transaction | null> {
    return this.rules.shown(context.caller, tx.reversesId ? await this.reader.byId(contextNetwork(context), tx.reversesId) : null);
  }

  @ResolveField(() => Transaction, { nullable: true, description: 'The reversal of this transaction, if any.' })
  @ReadRule(ReadKind.TRANSACTION)
  async reversedBy(@Parent() tx: Transaction, @Context() context: LedgerContext): Promise<Transaction | null> {
    const network = contextNetwork(context);
    const id = await this.reader.reversalOf(network, tx.id);
    return this.rules.shown(context.caller, id ? await this.reader.byId(network, id) : null);
  }
}

@Resolver(() => Posting)
export class PostingResolver {
  constructor(private readonly accounts: AccountRepository) {}

  @ResolveField(() => Account)
  @ReadRule(ReadKind.DIRECTORY)
  async account(@Parent() posting: Posting, @Context() context: object): Promise<Account> {
    const network = contextNetwork(context);
    const loader = loaderFor<string, Account>(
      context,
      'account',
      async (ids) => new Map((await this.accounts.findByIds(network, ids)).map((a) => [a.id, toAccountModel(a)])),
    );
    const account = await loader.load(posting.accountId);
    if (!account) throw new Error(`account ${posting.accountId} of a posting is missing`);
    return account;
  }
}
