import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { forbidden } from '../common/domain-error';
import { Allow, CurrentCaller } from './auth.guard';
import { type Caller, Role } from './caller';
import { toNetworkModel } from './network.mapper';
import { Network } from './network.model';
import { NetworkService } from './network.service';

/** Networks are the deployment admins' business; every other key sees its own through `me`. */
@Resolver(() => Network)
export class NetworkResolver {
  constructor(private readonly networkService: NetworkService) {}

  @Query(() => [Network], { name: 'networks', description: 'Every network of the deployment (deployment admins).' })
  @Allow(Role.ADMIN)
  async allNetworks(@CurrentCaller() caller: Caller): Promise<Network[]> {
    assertDeploymentAdmin(caller);
    return (await this.networkService.all()).map(toNetworkModel);
  }

  @Mutation(() => Network, {
    description: 'A new network, with its own sequence and hash chain (deployment admins). Act in it through an ADMIN key created for it.',
  })
  @Allow(Role.ADMIN)
  async createNetwork(@CurrentCaller() caller: Caller, @Args('slug') slug: string, @Args('name') name: string): Promise<Network> {
    assertDeploymentAdmin(caller);
    return toNetworkModel(await this.networkService.create(slug, name));
  }
}

function assertDeploymentAdmin(caller: Caller): void {
  if (!caller.deploymentAdmin) throw forbidden('Only a deployment admin may do this');
}
