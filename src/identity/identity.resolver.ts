import { Args, Context, Field, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { checkId } from '../common/ids';
import { cleanText } from '../common/text';
import { loaderFor } from '../graphql/batch-loader';
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

  /** Resolved to its Party by the ledger (ledger/parties/key-party.resolver.ts). */
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

export function toApiKey(row: ApiKeyRow): ApiKey {
  return { id: row.id, role: row.role, label: row.label, revoked: row.revoked_at !== null, partyId: row.party_id };
}

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly keys: ApiKeyService) {}

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
}

@Resolver(() => Me)
export class MeResolver {
  constructor(private readonly keys: ApiKeyService) {}

  @Query(() => Me, { description: 'The API key making the request, its role and party.' })
  @Allow(...ALL_ROLES)
  async me(@CurrentCaller() caller: Caller, @Context() context: object): Promise<Me> {
    // One lookup per request however many aliases of `me` it holds.
    const row = await loaderFor<string, ApiKeyRow>(context, 'api-key', async (ids) => {
      const rows = await Promise.all(ids.map((id) => this.keys.findById(id)));
      return new Map(rows.filter((r): r is ApiKeyRow => r !== undefined).map((r) => [r.id, r]));
    }).load(caller.apiKeyId);
    if (!row) throw new Error('the authenticated key vanished');
    return { role: caller.role, apiKey: toApiKey(row), partyId: caller.partyId };
  }
}
