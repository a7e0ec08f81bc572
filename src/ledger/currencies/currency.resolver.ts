import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Allow } from '../../identity/auth.guard';
import { READERS, Role } from '../../identity/caller';
import { loaderFor } from '../../graphql/batch-loader';
import { Party } from '../parties/party.model';
import { PartyRepository } from '../parties/party.repository';
import { Currency, CurrencyKind } from './currency.model';
import { CurrencyService } from './currency.service';

/** Loads parties by id, batched per request; shared by every `party` field. */
export function partyLoader(context: object, parties: PartyRepository) {
  return loaderFor<string, Party>(context, 'party', async (ids) => new Map((await parties.findByIds(ids)).map((p) => [p.id, p])));
}

@Resolver(() => Currency)
export class CurrencyResolver {
  constructor(
    private readonly currencyService: CurrencyService,
    private readonly parties: PartyRepository,
  ) {}

  @Query(() => Currency, { nullable: true })
  @Allow(...READERS)
  async currency(@Args('code') code: string): Promise<Currency | null> {
    return (await this.currencyService.find(code)) ?? null;
  }

  @Query(() => [Currency])
  @Allow(...READERS)
  currencies(): Promise<Currency[]> {
    return this.currencyService.all();
  }

  @Mutation(() => Currency)
  @Allow(Role.ADMIN)
  createCurrency(
    @Args('code') code: string,
    @Args('name') name: string,
    @Args('kind', { type: () => CurrencyKind }) kind: CurrencyKind,
    @Args('scale', { type: () => Int }) scale: number,
    @Args('issuerPartyId', { type: () => ID, nullable: true }) issuerPartyId: string | null,
  ): Promise<Currency> {
    return this.currencyService.create(code, name, kind, scale, issuerPartyId);
  }

  @ResolveField(() => Party, { nullable: true })
  async issuer(@Parent() currency: Currency, @Context() context: object): Promise<Party | null> {
    if (!currency.issuerPartyId) return null;
    return (await partyLoader(context, this.parties).load(currency.issuerPartyId)) ?? null;
  }
}
