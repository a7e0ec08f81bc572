import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { mapNodes, PageArgs } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { Allow, contextNetwork, CurrentCaller, type LedgerContext } from '../../identity/auth.guard';
import { ReadKind, ReadRule, ReadRules } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { partyLoader } from '../../ledger/currencies/currency.resolver';
import { Party } from '../../ledger/parties/party.model';
import { toExchangeModel } from '../exchanges/exchange.mapper';
import { Exchange } from '../exchanges/exchange.model';
import { ExchangeService } from '../exchanges/exchange.service';
import { HelpRequest, type Listing, Offer, OfferConnection, RequestConnection } from './listing.model';
import { toListingModel } from './listing.mapper';
import { ListingService } from './listing.service';
import { PartyReader } from '../../ledger/ledger-readers';

const POSTERS = [Role.ADMIN, Role.MEMBER, Role.TREASURER];

/** `party` and `exchange` of an offer or request. */
async function partyOf(listing: Listing, context: object, parties: PartyReader): Promise<Party> {
  const party = await partyLoader(context, parties, contextNetwork(context)).load(listing.partyId);
  if (!party) throw new Error(`party ${listing.partyId} of ${listing.kind} ${listing.id} is missing`);
  return party;
}

/** Everyone reads offers and requests; the exchange that fulfilled one only whoever may read that exchange. */
async function exchangeOf(
  listing: Listing,
  exchanges: ExchangeService,
  rules: ReadRules,
  context: LedgerContext,
): Promise<Exchange | null> {
  const exchange = await rules.shown(
    context.caller,
    listing.exchangeId ? (await exchanges.findByIds(contextNetwork(context), [listing.exchangeId]))[0] : null,
  );
  return exchange ? toExchangeModel(exchange) : null;
}

@Resolver(() => Offer)
export class OfferResolver {
  constructor(
    private readonly listings: ListingService,
    private readonly parties: PartyReader,
    private readonly exchanges: ExchangeService,
    private readonly rules: ReadRules,
  ) {}

  @Mutation(() => Offer, { description: 'Posts what a party can give. By a key of that party, or a coordinator.' })
  @Allow(...POSTERS)
  async postOffer(
    @CurrentCaller() caller: Caller,
    @Args('partyId', { type: () => ID }) partyId: string,
    @Args('title') title: string,
    @Args('category') category: string,
    @Args('description', { type: () => String, nullable: true }) description: string | null,
    @Args('hours', { type: () => AmountScalar, nullable: true }) hours: string | null,
  ): Promise<Offer> {
    return toListingModel(await this.listings.post(caller, 'OFFER', { partyId, title, category, description, hours }));
  }

  @Mutation(() => Offer)
  @Allow(...POSTERS)
  async closeOffer(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Offer> {
    return toListingModel(await this.listings.close(caller, 'OFFER', id));
  }

  @ReadRule(ReadKind.DIRECTORY)
  @Query(() => OfferConnection, { description: 'Everyone’s offers, newest first. `search` is full-text (web search syntax).' })
  @Allow(...READERS)
  async offers(
    @CurrentCaller() caller: Caller,
    @Args('category', { type: () => String, nullable: true }) category: string | null,
    @Args('search', { type: () => String, nullable: true }) search: string | null,
    @Args('open', { type: () => Boolean, nullable: true }) open: boolean | null,
    @Args() page: PageArgs,
    @Args('partyId', { type: () => ID, nullable: true, description: 'Only this party’s.' }) partyId: string | null,
  ) {
    const args = { partyId, category, search, open, first: page.first, after: page.after };
    return mapNodes(await this.listings.page(caller.networkId, 'OFFER', args), toListingModel);
  }

  @ResolveField(() => Party)
  @ReadRule(ReadKind.DIRECTORY)
  party(@Parent() offer: Offer, @Context() context: object): Promise<Party> {
    return partyOf(offer, context, this.parties);
  }

  @ResolveField(() => Exchange, { nullable: true, description: 'The latest exchange that fulfilled this offer.' })
  @ReadRule(ReadKind.EXCHANGE)
  exchange(@Parent() offer: Offer, @Context() context: LedgerContext): Promise<Exchange | null> {
    return exchangeOf(offer, this.exchanges, this.rules, context);
  }
}

@Resolver(() => HelpRequest)
export class RequestResolver {
  constructor(
    private readonly listings: ListingService,
    private readonly parties: PartyReader,
    private readonly exchanges: ExchangeService,
    private readonly rules: ReadRules,
  ) {}

  @Mutation(() => HelpRequest, { description: 'Posts what a party needs. By a key of that party, or a coordinator.' })
  @Allow(...POSTERS)
  async postRequest(
    @CurrentCaller() caller: Caller,
    @Args('partyId', { type: () => ID }) partyId: string,
    @Args('title') title: string,
    @Args('category') category: string,
    @Args('description', { type: () => String, nullable: true }) description: string | null,
    @Args('hours', { type: () => AmountScalar, nullable: true }) hours: string | null,
  ): Promise<HelpRequest> {
    return toListingModel(await this.listings.post(caller, 'REQUEST', { partyId, title, category, description, hours }));
  }

  @Mutation(() => HelpRequest)
  @Allow(...POSTERS)
  async closeRequest(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<HelpRequest> {
    return toListingModel(await this.listings.close(caller, 'REQUEST', id));
  }

  @ReadRule(ReadKind.DIRECTORY)
  @Query(() => RequestConnection, { description: 'Everyone’s requests, newest first. `search` is full-text (web search syntax).' })
  @Allow(...READERS)
  async requests(
    @CurrentCaller() caller: Caller,
    @Args('category', { type: () => String, nullable: true }) category: string | null,
    @Args('search', { type: () => String, nullable: true }) search: string | null,
    @Args('open', { type: () => Boolean, nullable: true }) open: boolean | null,
    @Args() page: PageArgs,
    @Args('partyId', { type: () => ID, nullable: true, description: 'Only this party’s.' }) partyId: string | null,
  ) {
    const args = { partyId, category, search, open, first: page.first, after: page.after };
    return mapNodes(await this.listings.page(caller.networkId, 'REQUEST', args), toListingModel);
  }

  @ResolveField(() => Party)
  @ReadRule(ReadKind.DIRECTORY)
  party(@Parent() request: HelpRequest, @Context() context: object): Promise<Party> {
    return partyOf(request, context, this.parties);
  }

  @ResolveField(() => Exchange, { nullable: true, description: 'The exchange that fulfilled this request.' })
  @ReadRule(ReadKind.EXCHANGE)
  exchange(@Parent() request: HelpRequest, @Context() context: LedgerContext): Promise<Exchange | null> {
    return exchangeOf(request, this.exchanges, this.rules, context);
  }
}
