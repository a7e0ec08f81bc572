import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { validationFailed } from '../common/domain-error';
import { loaderFor } from '../graphql/batch-loader';
import { cleanText } from '../common/text';
import { toNetworkModel } from './network.mapper';
import type { Network } from './network.model';
import type { NetworkRecord } from './network.record';
import { NetworkRepository } from './network.repository';

const SLUG = /^[a-z0-9-]{2,40}$/;

/** Networks: created and listed by deployment admins; each key reads its own. */
@Injectable()
export class NetworkService {
  constructor(private readonly networks: NetworkRepository) {}

  /** A new network, with its own head: sequence from 1, hash chain from the genesis hash. */
  async create(slug: string, name: string): Promise<NetworkRecord> {
    if (typeof slug !== 'string' || !SLUG.test(slug)) throw validationFailed('slug', '2 to 40 of a-z, 0-9 and -');
    const network = await this.networks.insert(randomUUID(), slug, cleanText(name, 'name', 200, true) as string);
    if (!network) throw validationFailed('slug', `network ${slug} already exists`);
    return network;
  }

  all(): Promise<NetworkRecord[]> {
    return this.networks.all();
  }

  /** The GraphQL network of an id, batched per request (Me.network, ApiKey.network). */
  async load(context: object, id: string): Promise<Network> {
    const loader = loaderFor<string, Network>(
      context,
      'network',
      async (ids) => new Map((await this.networks.findByIds(ids)).map((n) => [n.id, toNetworkModel(n)])),
    );
    const network = await loader.load(id);
    if (!network) throw new Error(`network ${id} is missing`);
    return network;
  }
}
