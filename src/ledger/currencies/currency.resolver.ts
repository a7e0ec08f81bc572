import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { ReadKind, ReadRule } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { loaderFor } from '../../graphql/batch-loader';
import { Party } from '../parties/party.model';
import { toPartyModel } from '../parties/party.mapper';
import { PartyRepository } from '../parties/party.repository';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { fromMinor } from '../money/amount';
import { toCurrencyModel } from './currency.mapper';
import { Currency, CurrencyKind } from './currency.model';
import type { CurrencyDefaults } from './currency.repository';
import { CurrencyService } from './currency.service';

/** Loads parties of `network` by id, batched per request; shared by every `party` field. */
export function partyLoader(context: object, parties: Pick<PartyRepository, 'findByIds'>, network: string) {
  return loaderFor<string, Party>(
    context,
    `party/${network}`,
    async (ids) => new Map((await parties.findByIds(network, ids)).map((p) => [p.id, toPartyModel(p)])),
  );
}

@Resolver(() => Currency)
export class CurrencyResolver {
  constructor(
    private readonly currencyService: CurrencyService,
    private readonly parties: PartyRepository,
  ) {}

  @Query(() => Currency, { nullable: true })
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async currency(@CurrentCaller() caller: Caller, @Args('code') code: string): Promise<Currency | null> {
    const currency = await this.currencyService.find(caller.networkId, code);
    return currency ? toCurrencyModel(currency) : null;
  }

  @Query(() => [Currency])
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async currencies(@CurrentCaller() caller: Caller): Promise<Currency[]> {
    return (await this.currencyService.all(caller.networkId)).map(toCurrencyModel);
  }

  @Mutation(() => Currency)
  @Allow(Role.ADMIN)
  async createCurrency(
    @CurrentCaller() caller: Caller,
    @Args('code') code: string,
    @Args('name') name: string,
    @Args('kind', { type: () => CurrencyKind }) kind: CurrencyKind,
    @Args('scale', { type: () => Int }) scale: number,
    @Args('issuerPartyId', { type: () => ID, nullable: true }) issuerPartyId: string | null,
    @Args('defaultCreditLimit', { type: () => AmountScalar, nullable: true }) defaultCreditLimit: string | null,
    @Args('defaultMaxBalance', { type: () => AmountScalar, nullable: true }) defaultMaxBalance: string | null,
  ): Promise<Currency> {
    const defaults = { defaultCreditLimit, defaultMaxBalance };
    return toCurrencyModel(await this.currencyService.create(caller.networkId, code, name, kind, scale, issuerPartyId, defaults));
  }

  @Mutation(() => Currency, { description: 'Changes the default bounds of accounts opened later (null clears one).' })
  @Allow(Role.ADMIN)
  async setCurrencyDefaults(
    @CurrentCaller() caller: Caller,
    @Args('code') code: string,
    @Args('defaultCreditLimit', { type: () => AmountScalar, nullable: true }) defaultCreditLimit: string | null,
    @Args('defaultMaxBalance', { type: () => AmountScalar, nullable: true }) defaultMaxBalance: string | null,
  ): Promise<Currency> {
    return toCurrencyModel(await this.currencyService.setDefaults(caller.networkId, code, { defaultCreditLimit, defaultMaxBalance }));
  }

  @ResolveField(() => AmountScalar, { nullable: true, description: 'Credit limit of accounts opened later without their own.' })
  async defaultCreditLimit(@Parent() currency: Currency, @Context() context: object): Promise<string | null> {
    const minor = (await this.defaultsLoader(context, currency.networkId).load(currency.code))?.creditLimitMinor ?? null;
    return minor === null ? null : fromMinor(minor, currency.scale);
  }

  @ResolveField(() => AmountScalar, { nullable: true, description: 'Maximum balance of accounts opened later without their own.' })
  async defaultMaxBalance(@Parent() currency: Currency, @Context() context: object): Promise<string | null> {
    const minor = (await this.defaultsLoader(context, currency.networkId).load(currency.code))?.maxBalanceMinor ?? null;
    return minor === null ? null : fromMinor(minor, currency.scale);
  }

  private defaultsLoader(context: object, network: string) {
    return loaderFor<string, CurrencyDefaults>(context, `currencyDefaults/${network}`, (codes) =>
      this.currencyService.defaultsOf(network, codes),
    );
  }

  @ResolveField(() => Party, { nullable: true })
  async issuer(@Parent() currency: Currency, @Context() context: object): Promise<Party | null> {
    if (!currency.issuerPartyId) return null;
    return (await partyLoader(context, this.parties, currency.networkId).load(currency.issuerPartyId)) ?? null;
  }
}
