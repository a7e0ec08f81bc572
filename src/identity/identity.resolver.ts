import { Args, Context, Field, ID, Mutation, ObjectType, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { checkId } from '../common/ids';
import { partyLoader } from '../ledger/currencies/currency.resolver';
import { Party } from '../ledger/parties/party.model';
import { PartyRepository } from '../ledger/parties/party.repository';
import { cleanText } from '../ledger/parties/party.service';
import type { ApiKeyRow } from './api-key.repository';
import { ApiKeyService } from './api-key.service';
import { Allow, CurrentCaller } from './auth.guard';
import { ALL_ROLES, type Caller, Role } from './caller';

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field()
  revoked!: boolean;

  partyId!: string | null;
}

@ObjectType({ description: "The only time a key's secret is shown: store it now." })
export class ApiKeySecret {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field()
  secret!: string;
}

@ObjectType()
export class Me {
  @Field(() => Role)
  role!: Role;

  @Field(() => ApiKey)
  apiKey!: ApiKey;

  partyId!: string | null;
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return { id: row.id, role: row.role, label: row.label, revoked: row.revoked_at !== null, partyId: row.party_id };
}

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly parties: PartyRepository,
  ) {}

  @Mutation(() => ApiKeySecret, { description: 'Issues a key. MEMBER, TREASURER and INTEGRATION keys are bound to a party.' })
  @Allow(Role.ADMIN)
  async createApiKey(
    @Args('partyId', { type: () => ID, nullable: true }) partyId: string | null,
    @Args('role', { type: () => Role }) role: Role,
    @Args('label', { type: () => String, nullable: true }) label: string | null,
  ): Promise<ApiKeySecret> {
    const { key, secret } = await this.keys.create(
      role,
      partyId ? checkId(partyId, 'partyId') : null,
      cleanText(label, 'label', 200, false),
    );
    return { apiKey: toApiKey(key), secret };
  }

  @Mutation(() => ApiKey, { description: 'Revokes a key at once.' })
  @Allow(Role.ADMIN)
  async revokeApiKey(@Args('id', { type: () => ID }) id: string): Promise<ApiKey> {
    return toApiKey(await this.keys.revoke(checkId(id)));
  }

  @ResolveField(() => Party, { nullable: true })
  async party(@Parent() key: ApiKey, @Context() context: object): Promise<Party | null> {
    return key.partyId ? ((await partyLoader(context, this.parties).load(key.partyId)) ?? null) : null;
  }
}

@Resolver(() => Me)
export class MeResolver {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly parties: PartyRepository,
  ) {}

  @Query(() => Me, { description: 'The API key making the request, its role and party.' })
  @Allow(...ALL_ROLES)
  async me(@CurrentCaller() caller: Caller): Promise<Me> {
    const row = await this.keys.findById(caller.apiKeyId);
    if (!row) throw new Error('the authenticated key vanished');
    return { role: caller.role, apiKey: toApiKey(row), partyId: caller.partyId };
  }

  @ResolveField(() => Party, { nullable: true })
  async party(@Parent() me: Me, @Context() context: object): Promise<Party | null> {
    return me.partyId ? ((await partyLoader(context, this.parties).load(me.partyId)) ?? null) : null;
  }
}
