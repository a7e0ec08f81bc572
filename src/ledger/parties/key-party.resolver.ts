import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { ApiKey, Me } from '../../identity/identity.resolver';
import { partyLoader } from '../currencies/currency.resolver';
import { Party } from './party.model';
import { PartyRepository } from './party.repository';

/**
 * The party an API key is bound to (`ApiKey.party`, `Me.party`). Resolved here, not in identity:
 * parties are the ledger's, and identity knows no ledger (docs/architecture.md).
 */
@Resolver(() => ApiKey)
export class ApiKeyPartyResolver {
  constructor(private readonly parties: PartyRepository) {}

  @ResolveField(() => Party, { nullable: true })
  async party(@Parent() key: ApiKey, @Context() context: object): Promise<Party | null> {
    return key.partyId ? ((await partyLoader(context, this.parties, key.networkId).load(key.partyId)) ?? null) : null;
  }
}

@Resolver(() => Me)
export class MePartyResolver {
  constructor(private readonly parties: PartyRepository) {}

  @ResolveField(() => Party, { nullable: true })
  async party(@Parent() me: Me, @Context() context: object): Promise<Party | null> {
    return me.partyId ? ((await partyLoader(context, this.parties, me.networkId).load(me.partyId)) ?? null) : null;
  }
}
