import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { ReadKind, ReadRule } from '../../identity/read-rules';
import { type Caller, READERS, Role } from '../../identity/caller';
import { Connection, mapNodes, PageArgs } from '../../graphql/pagination';
import { Party, PartyKind } from './party.model';
import { toPartyModel } from './party.mapper';
import { PartyService } from './party.service';

const PartyConnection = Connection(Party, 'Party');

/** The party directory (names and handles only) is readable by every key. */
@Resolver(() => Party)
export class PartyResolver {
  constructor(private readonly partyService: PartyService) {}

  @Query(() => Party, { nullable: true })
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async party(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Party | null> {
    const party = await this.partyService.find(caller.networkId, id);
    return party ? toPartyModel(party) : null;
  }

  @Query(() => PartyConnection)
  @Allow(...READERS)
  @ReadRule(ReadKind.DIRECTORY)
  async parties(
    @CurrentCaller() caller: Caller,
    @Args('kind', { type: () => PartyKind, nullable: true }) kind: PartyKind | null,
    @Args() page: PageArgs,
  ) {
    return mapNodes(await this.partyService.page(caller.networkId, kind, page.first, page.after), toPartyModel);
  }

  @Mutation(() => Party)
  @Allow(Role.ADMIN)
  async registerParty(
    @CurrentCaller() caller: Caller,
    @Args('kind', { type: () => PartyKind }) kind: PartyKind,
    @Args('name') name: string,
    @Args('handle', { type: () => String, nullable: true }) handle: string | null,
  ): Promise<Party> {
    return toPartyModel(await this.partyService.register(caller.networkId, kind, name, handle));
  }

  @Mutation(() => Party, {
    description: "Makes a party a member of an organisation, whose treasurers may then read the member's statements.",
  })
  @Allow(Role.ADMIN)
  async addPartyMember(
    @CurrentCaller() caller: Caller,
    @Args('organisationId', { type: () => ID }) organisationId: string,
    @Args('memberId', { type: () => ID }) memberId: string,
  ): Promise<Party> {
    return toPartyModel(await this.partyService.addMember(caller.networkId, organisationId, memberId));
  }
}
