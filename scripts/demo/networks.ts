import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GqlClient } from '../lib/gql-client';

/**
 * The demo's communities, each in its own network (SPEC B.3), as a hosting co-operative would
 * set them up: the deployment admin creates the network and a first coordinator (ADMIN) key
 * for it, and everything in the community's books is then done with keys of that network.
 * The coordinator keys are kept in DATA_DIR/demo-networks.json (mode 600), beside the demo's
 * other keys, so a second run finds them.
 */
export interface DemoNetwork {
  readonly slug: string;
  readonly name: string;
}

export const DEMO_NETWORK: DemoNetwork = { slug: 'riverside', name: 'Riverside Time Bank' };
export const SECOND_NETWORK: DemoNetwork = { slug: 'hillside', name: 'Hillside Mutual Aid' };

export interface NetworkKeysFile {
  [slug: string]: { readonly id: string; readonly admin: string };
}

/** Where the demo is seeded: the admin client of each community, or of the key's own network when it cannot make networks. */
export interface DemoNetworks {
  readonly demo: GqlClient;
  /** Undefined when the seed's admin key is not a deployment admin (it seeds its own network only). */
  readonly second?: GqlClient;
  /** In words, for the first line of the seed's output. */
  readonly where: string;
}

function readFile(path: string): NetworkKeysFile {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NetworkKeysFile;
  } catch {
    return {};
  }
}

/** The network with this slug, created when missing. */
async function ensureNetwork(deployment: GqlClient, network: DemoNetwork): Promise<string> {
  const known = await deployment.ok<{ networks: { id: string; slug: string }[] }>('{ networks { id slug } }');
  const found = known.networks.find((n) => n.slug === network.slug);
  if (found) return found.id;
  const made = await deployment.ok<{ createNetwork: { id: string } }>(
    'mutation($slug: String!, $name: String!) { createNetwork(slug: $slug, name: $name) { id } }',
    { slug: network.slug, name: network.name },
  );
  return made.createNetwork.id;
}

/** A working ADMIN key of the network: the one kept in the file, else a new one (saved before it is used). */
async function coordinatorKey(deployment: GqlClient, network: DemoNetwork, id: string, path: string): Promise<GqlClient> {
  const file = readFile(path);
  const kept = file[network.slug];
  if (kept?.id === id) {
    const me = await deployment.as(kept.admin).request<{ me: { role: string; network: { id: string } } }>('{ me { role network { id } } }');
    if (me.data?.me.role === 'ADMIN' && me.data.me.network.id === id) return deployment.as(kept.admin);
  }
  const data = await deployment.ok<{ createApiKey: { secret: string } }>(
    'mutation($networkId: ID!, $label: String!) { createApiKey(role: ADMIN, networkId: $networkId, label: $label) { secret } }',
    { networkId: id, label: `demo coordinator of ${network.name}` },
  );
  file[network.slug] = { id, admin: data.createApiKey.secret };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  return deployment.as(data.createApiKey.secret);
}

/**
 * The networks the demo fills. A deployment admin key (ADMIN_API_KEY, or the one `npm start`
 * generated) gets the two demo communities in their own networks; any other ADMIN key seeds
 * the one demo community into its own network, which is all it may touch.
 */
export async function demoNetworks(admin: GqlClient, path: string): Promise<DemoNetworks> {
  const me = await admin.ok<{ me: { deploymentAdmin: boolean; network: { slug: string } } }>('{ me { deploymentAdmin network { slug } } }');
  if (!me.me.deploymentAdmin) {
    return {
      demo: admin,
      where: `the network of the admin key (${me.me.network.slug}; not a deployment admin, so no second network)`,
    };
  }
  const demo = await coordinatorKey(admin, DEMO_NETWORK, await ensureNetwork(admin, DEMO_NETWORK), path);
  const second = await coordinatorKey(admin, SECOND_NETWORK, await ensureNetwork(admin, SECOND_NETWORK), path);
  return { demo, second, where: `the networks ${DEMO_NETWORK.slug} and ${SECOND_NETWORK.slug}` };
}
