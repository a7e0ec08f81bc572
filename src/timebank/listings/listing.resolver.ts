import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { Type } from '@nestjs/common';
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
import { HelpRequest, type Listing, type ListingKind, Offer, OfferConnection, RequestConnection } from './listing.model';
import { toListingModel } from './listing.mapper';
import { ListingService } from './listing.service';
import { PartyReader } from '../../ledger/ledger-readers';

const POSTERS = [Role.ADMIN, Role.MEMBER, Role.TREASURER];

/** What sets offers and requests apart in the API: their kind, their types, and their operations' names and descriptions. */
interface ListingApi {
  readonly kind: ListingKind;
  readonly model: Type<Listing>;
  readonly connection: Type<unknown>;
  /** The post and close mutations' and the list query's names. */
  readonly names: { readonly post: string; readonly close: string; readonly list: string };
  readonly describe: { readonly post: string; readonly list: string; readonly exchange: string };
}

/**
 * The operations of one kind of listing (offers or requests): posting, closing, the list, and the
 * `party` and `exchange` of each. Written once for both kinds (NestJS's resolver inheritance: this
 * base is abstract, never registered itself; each resolver below extends it with its kind's types,
 * names and descriptions, and is the one the module provides).
 */
function ListingResolver(api: ListingApi) {
  @Resolver(() => api.model, { isAbstract: true })
  abstract class ListingResolverOfKind {
    constructor(
      private readonly listings: ListingService,
      private readonly parties: PartyReader,
      private readonly exchanges: ExchangeService,
      private readonly rules: ReadRules,
    ) {}

    @Mutation(() => api.model, { name: api.names.post, description: api.describe.post })
    @Allow(...POSTERS)
    async post(
      @CurrentCaller() caller: Caller,
      @Args('partyId', { type: () => ID }) partyId: string,
      @Args('title') title: string,
      @Args('category') category: string,
      @Args('description', { type: () => String, nullable: true }) description: string | null,
      @Args('hours', { type: () => AmountScalar, nullable: true }) hours: string | null,
    ): Promise<Listing> {
      return toListingModel(await this.listings.post(caller, api.kind, { partyId, title, category, description, hours }));
    }

    @Mutation(() => api.model, { name: api.names.close })
    @Allow(...POSTERS)
    async close(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Listing> {
      return toListingModel(await this.listings.close(caller, api.kind, id));
    }

    @ReadRule(ReadKind.DIRECTORY)
    @Query(() => api.connection, { name: api.names.list, description: api.describe.list })
    @Allow(...READERS)
    async list(
      @CurrentCaller() caller: Caller,
      @Args('category', { type: () => String, nullable: true }) category: string | null,
      @Args('search', { type: () => String, nullable: true }) search: string | null,
      @Args('open', { type: () => Boolean, nullable: true }) open: boolean | null,
      @Args() page: PageArgs,
      @Args('partyId', { type: () => ID, nullable: true, description: 'Only this party’s.' }) partyId: string | null,
    ) {
      const args = { partyId, category, search, open, first: page.first, after: page.after };
      return mapNodes(await this.listings.page(caller.networkId, api.kind, args), toListingModel);
    }

    @ResolveField(() => Party)
    @ReadRule(ReadKind.DIRECTORY)
    async party(@Parent() listing: Listing, @Context() context: object): Promise<Party> {
      const party = await partyLoader(context, this.parties, contextNetwork(context)).load(listing.partyId);
      if (!party) throw new Error(`party ${listing.partyId} of ${listing.kind} ${listing.id} is missing`);
      return party;
    }

    /** Everyone reads offers and requests; the exchange that fulfilled one only whoever may read that exchange. */
    @ResolveField(() => Exchange, { nullable: true, description: api.describe.exchange })
    @ReadRule(ReadKind.EXCHANGE)
    async exchange(@Parent() listing: Listing, @Context() context: LedgerContext): Promise<Exchange | null> {
      const exchange = await this.rules.shown(
        context.caller,
        listing.exchangeId ? (await this.exchanges.findByIds(contextNetwork(context), [listing.exchangeId]))[0] : null,
      );
      return exchange ? toExchangeModel(exchange) : null;
    }
  }
  return ListingResolverOfKind;
}

@Resolver(() => Offer)
export class OfferResolver extends ListingResolver({
  kind: 'OFFER',
  model: Offer,
  connection: OfferConnection,
  names: { post: 'postOffer', close: 'closeOffer', list: 'offers' },
  describe: {
    post: 'Posts what a party can give. By a key of that party, or a coordinator.',
    list: 'Everyone’s offers, newest first. `search` is full-text (web search syntax).',
    exchange: 'The latest exchange that fulfilled this offer.',
  },
}) {}

@Resolver(() => HelpRequest)
export class RequestResolver extends ListingResolver({
  kind: 'REQUEST',
  model: HelpRequest,
  connection: RequestConnection,
  names: { post: 'postRequest', close: 'closeRequest', list: 'requests' },
  describe: {
    post: 'Posts what a party needs. By a key of that party, or a coordinator.',
    list: 'Everyone’s requests, newest first. `search` is full-text (web search syntax).',
    exchange: 'The exchange that fulfilled this request.',
  },
}) {}
