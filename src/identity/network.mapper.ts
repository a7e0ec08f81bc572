import type { Network } from './network.model';
import type { NetworkRecord } from './network.record';

export function toNetworkModel(record: NetworkRecord): Network {
  return { id: record.id, slug: record.slug, name: record.name, createdAt: record.createdAt };
}
