import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { forbidden } from '../../common/domain-error';
import { Allow, CurrentCaller, type LedgerContext } from '../../identity/auth.guard';
import { AccessService } from '../../identity/access.service';
import { ReadKind, ReadRule } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { Connection, mapNodes, PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { toCurrencyModel } from '../currencies/currency.mapper';
import { Currency } from '../currencies/currency.model';
import { CurrencyService } from '../currencies/currency.service';
import { partyLoader } from '../currencies/currency.resolver';
import { fromMinor } from '../money/amount';
import { Party } from '../parties/party.model';
import { PartyRepository } from '../parties/party.repository';
import { toAccountModel } from './account.mapper';
import { Account } from './account.model';
import { AccountService } from './account.service';

const AccountConnection = Connection(Account, 'Account');

/**
 * Accounts. Anyone may see that an account exists (its party, currency and status: a member
 * needs the counterparty of a payment), but balances and limits only whoever may read it.
 */
@Resolver(() => Account)
export class AccountResolver {
  constructor(
    private readonly accountService: AccountService,
    private readonly currencies: CurrencyService,
    private readonly parties: PartyRepository,
    private readonly access: AccessService,
  ) {}

  @Query(() => Account, {
    nullable: true,
    description: 'Any account of the network (the directory); its balances only for keys that may read it.',
  })
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async account(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Account | null> {
    const account = await this.accountService.find(caller.networkId, id);
    return account ? toAccountModel(account) : null;
  }

  @Query(() => AccountConnection, {
    description: "With `partyId`, that party's accounts (the directory, open to every key); without, the accounts this key may read.",
  })
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async accounts(
    @CurrentCaller() caller: Caller,
    @Args('partyId', { type: () => ID, nullable: true }) partyId: string | null,
    @Args('currency', { type: () => String, nullable: true }) currency: string | null,
    @Args() page: PageArgs,
  ) {
    return mapNodes(await this.accountService.page(caller, partyId, currency, page.first, page.after), toAccountModel);
  }

  @Mutation(() => Account)
  @Allow(Role.ADMIN)
  async openAccount(
    @CurrentCaller() caller: Caller,
    @Args('partyId', { type: () => ID }) partyId: string,
    @Args('currency') currency: string,
    @Args('creditLimit', { type: () => AmountScalar, nullable: true }) creditLimit: string | null,
    @Args('unlimited', { type: () => Boolean, nullable: true }) unlimited: boolean | null,
    @Args('maxBalance', { type: () => AmountScalar, nullable: true }) maxBalance: string | null,
  ): Promise<Account> {
    return toAccountModel(await this.accountService.open(caller.networkId, partyId, currency, { creditLimit, maxBalance }, unlimited));
  }

  @Mutation(() => Account, { description: 'Sets the most posted + pendingCredits may reach; null removes the bound.' })
  @Allow(Role.ADMIN)
  async setMaxBalance(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('maxBalance', { type: () => AmountScalar, nullable: true }) maxBalance: string | null,
  ): Promise<Account> {
    return toAccountModel(await this.accountService.setMaxBalance(caller.networkId, accountId, maxBalance));
  }

  @Mutation(() => Account)
  @Allow(Role.ADMIN)
  async setCreditLimit(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('creditLimit', { type: () => AmountScalar }) creditLimit: string,
  ): Promise<Account> {
    return toAccountModel(await this.accountService.setCreditLimit(caller.networkId, accountId, creditLimit));
  }

  @Mutation(() => Account)
  @Allow(Role.ADMIN)
  async freezeAccount(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('reason', { type: () => String, nullable: true }) reason: string | null,
  ): Promise<Account> {
    return toAccountModel(await this.accountService.freeze(caller.networkId, accountId, reason));
  }

  @Mutation(() => Account)
  @Allow(Role.ADMIN)
  async unfreezeAccount(@CurrentCaller() caller: Caller, @Args('accountId', { type: () => ID }) accountId: string): Promise<Account> {
    return toAccountModel(await this.accountService.unfreeze(caller.networkId, accountId));
  }

  @Mutation(() => Account)
  @Allow(Role.ADMIN)
  async closeAccount(@CurrentCaller() caller: Caller, @Args('accountId', { type: () => ID }) accountId: string): Promise<Account> {
    return toAccountModel(await this.accountService.close(caller.networkId, accountId));
  }

  @ResolveField(() => Party)
  @ReadRule(ReadKind.DIRECTORY)
  async party(@Parent() account: Account, @Context() context: object): Promise<Party> {
    const party = await partyLoader(context, this.parties, account.networkId).load(account.partyId);
    if (!party) throw new Error(`party ${account.partyId} of account ${account.id} is missing`);
    return party;
  }

  @ResolveField(() => Currency)
  @ReadRule(ReadKind.DIRECTORY)
  async currency(@Parent() account: Account): Promise<Currency> {
    return toCurrencyModel(await this.currencies.get(account.networkId, account.currencyCode));
  }

  @ResolveField(() => AmountScalar, { description: 'How far below zero the available balance may go.' })
  @ReadRule(ReadKind.ACCOUNT)
  async creditLimit(@Parent() account: Account, @Context() context: LedgerContext): Promise<string> {
    return this.balance(account, context, account.creditLimitMinor);
  }

  @ResolveField(() => AmountScalar, {
    nullable: true,
    description: 'The most posted + pendingCredits may reach (holds count at once); null: no upper bound.',
  })
  @ReadRule(ReadKind.ACCOUNT)
  async maxBalance(@Parent() account: Account, @Context() context: LedgerContext): Promise<string | null> {
    if (account.maxBalanceMinor === null) {
      await this.balance(account, context, 0n);
      return null;
    }
    return this.balance(account, context, account.maxBalanceMinor);
  }

  @ResolveField(() => AmountScalar)
  @ReadRule(ReadKind.ACCOUNT)
  async posted(@Parent() account: Account, @Context() context: LedgerContext): Promise<string> {
    return this.balance(account, context, account.postedMinor);
  }

  @ResolveField(() => AmountScalar, { description: 'Reserved by pending holds on this account as payer.' })
  @ReadRule(ReadKind.ACCOUNT)
  async pendingDebits(@Parent() account: Account, @Context() context: LedgerContext): Promise<string> {
    return this.balance(account, context, account.pendingDebitsMinor);
  }

  @ResolveField(() => AmountScalar, { description: 'Reserved by pending holds on this account as payee.' })
  @ReadRule(ReadKind.ACCOUNT)
  async pendingCredits(@Parent() account: Account, @Context() context: LedgerContext): Promise<string> {
    return this.balance(account, context, account.pendingCreditsMinor);
  }

  @ResolveField(() => AmountScalar, { description: 'posted - pendingDebits.' })
  @ReadRule(ReadKind.ACCOUNT)
  async available(@Parent() account: Account, @Context() context: LedgerContext): Promise<string> {
    return this.balance(account, context, account.postedMinor - account.pendingDebitsMinor);
  }

  private async balance(account: Account, context: LedgerContext, minor: bigint): Promise<string> {
    if (!context.caller || !(await this.access.canRead(context.caller, account))) {
      throw forbidden(`This API key may not read the balances of account ${account.id}`);
    }
    return fromMinor(minor, account.scale);
  }
}
