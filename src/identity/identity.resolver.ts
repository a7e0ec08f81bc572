import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { checkId } from '../common/ids';
import { cleanText } from '../common/text';
import { loaderFor } from '../graphql/batch-loader';
// Network first: the printed schema keeps its order of types.
import { Network } from './network.model';
import { toApiKeyModel } from './api-key.mapper';
import { ApiKey, ApiKeySecret, Me } from './api-key.model';
import type { ApiKeyRecord } from './api-key.record';
import { ApiKeyService } from './api-key.service';
import { Allow, CurrentCaller } from './auth.guard';
import { ALL_ROLES, type Caller, Role } from './caller';
import { NetworkService } from './network.service';

export { ApiKey, ApiKeySecret, Me };

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly networks: NetworkService,
  ) {}

  @Mutation(() => ApiKeySecret, {
    description:
      'Issues a key. MEMBER, TREASURER and INTEGRATION keys are bound to a party. A deployment admin may issue it in another network (networkId) and may make another deployment admin.',
  })
  @Allow(Role.ADMIN)
  async createApiKey(
    @CurrentCaller() caller: Caller,
    @Args('partyId', { type: () => ID, nullable: true }) partyId: string | null,
    @Args('role', { type: () => Role }) role: Role,
    @Args('label', { type: () => String, nullable: true }) label: string | null,
    @Args('networkId', { type: () => ID, nullable: true }) networkId: string | null,
    @Args('deploymentAdmin', { type: () => Boolean, nullable: true }) deploymentAdmin: boolean | null,
  ): Promise<ApiKeySecret> {
    const { key, secret } = await this.keys.create(caller, {
      role,
      partyId: partyId ? checkId(partyId, 'partyId') : null,
      label: cleanText(label, 'label', 200, false),
      networkId: networkId ? checkId(networkId, 'networkId') : null,
      deploymentAdmin: deploymentAdmin ?? false,
    });
    return { apiKey: toApiKeyModel(key), secret };
  }

  @Mutation(() => ApiKey, { description: "Revokes a key of the caller's network at once (a deployment admin: any key)." })
  @Allow(Role.ADMIN)
  async revokeApiKey(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<ApiKey> {
    return toApiKeyModel(await this.keys.revoke(caller, checkId(id)));
  }

  @ResolveField(() => Network)
  network(@Parent() key: ApiKey, @Context() context: object): Promise<Network> {
    return this.networks.load(context, key.networkId);
  }
}

@Resolver(() => Me)
export class MeResolver {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly networks: NetworkService,
  ) {}

  @Query(() => Me, { description: 'The API key making the request, its role and party.' })
  @Allow(...ALL_ROLES)
  async me(@CurrentCaller() caller: Caller, @Context() context: object): Promise<Me> {
    // One lookup per request however many aliases of `me` it holds.
    const row = await loaderFor<string, ApiKeyRecord>(context, 'api-key', async (ids) => {
      const rows = await Promise.all(ids.map((id) => this.keys.findById(caller.networkId, id)));
      return new Map(rows.filter((r): r is ApiKeyRecord => r !== undefined).map((r) => [r.id, r]));
    }).load(caller.apiKeyId);
    if (!row) throw new Error('the authenticated key vanished');
    return {
      role: caller.role,
      apiKey: toApiKeyModel(row),
      partyId: caller.partyId,
      networkId: caller.networkId,
      deploymentAdmin: caller.deploymentAdmin,
    };
  }

  @ResolveField(() => Network, { description: 'The network this key acts in.' })
  network(@Parent() me: Me, @Context() context: object): Promise<Network> {
    return this.networks.load(context, me.networkId);
  }
}
