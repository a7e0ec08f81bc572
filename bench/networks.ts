import { Client } from 'pg';
import { GqlClient } from '../scripts/lib/gql-client';
import type { RunningService } from '../scripts/lib/service-process';
import { clientKeys } from './common';
import type { LoadResult, LoadSpec } from './load';

/**
 * Transfers with four networks loaded at once against the same load on one network (SPEC B.3:
 * groups of different networks never wait on each other's locks). The same number of
 * connections in both runs: all on one network, or a quarter on each of four. While each run
 * goes, a sampler reads pg_stat_activity and pg_locks every SAMPLE_MS: how many of the
 * service's backends wait on a lock, and on what.
 */
export const BENCH_NETWORKS = 4;
const SAMPLE_MS = 100;

export interface NetworkFixture {
  readonly slug: string;
  readonly key: string;
  /** One ADMIN key of the network per connection, as in the main transfer load (bench/common.ts). */
  readonly keys: string[];
  readonly pairs: [string, string][];
}

export interface LockSamples {
  readonly samples: number;
  /** Samples in which at least one posting group waited on a lock. */
  readonly samplesWithWaits: number;
  /** Backends seen waiting, summed over samples, by wait event (transactionid, tuple, ...). */
  readonly waitsByEvent: Record<string, number>;
  /** The most backends seen waiting at once. */
  readonly maxWaiting: number;
}

export interface NetworksRun {
  readonly networks: number;
  readonly totalPerSecond: number;
  readonly perNetwork: { slug: string; perSecond: number; p99Ms: number; errors: number }[];
  /** Requests refused with 429 (rate limited), in all: the per-key limit must not be what is measured. */
  readonly refused429: number;
  readonly p99Ms: number;
  readonly locks: LockSamples;
}

export interface NetworksResult {
  readonly one: NetworksRun;
  readonly four: NetworksRun;
}

/** A network with its own ADMIN key, a HOUR currency, `pairs` pairs of accounts and an ADMIN key per pair (per connection). */
async function networkFixture(deploymentAdmin: GqlClient, slug: string, pairs: number): Promise<NetworkFixture> {
  const network = await deploymentAdmin.ok<{ createNetwork: { id: string } }>(
    'mutation($s: String!) { createNetwork(slug: $s, name: $s) { id } }',
    {
      s: slug,
    },
  );
  const key = (
    await deploymentAdmin.ok<{ createApiKey: { secret: string } }>(
      'mutation($n: ID!) { createApiKey(role: ADMIN, networkId: $n, label: "bench") { secret } }',
      { n: network.createNetwork.id },
    )
  ).createApiKey.secret;
  const admin = deploymentAdmin.as(key);
  await admin.ok('mutation { createCurrency(code: "HOUR", name: "Time credits", kind: TIME, scale: 2) { code } }');
  const account = async (name: string) => {
    const party = await admin.ok<{ registerParty: { id: string } }>(
      'mutation($n: String!) { registerParty(kind: MEMBER, name: $n) { id } }',
      {
        n: name,
      },
    );
    const opened = await admin.ok<{ openAccount: { id: string } }>(
      'mutation($p: ID!) { openAccount(partyId: $p, currency: "HOUR", creditLimit: "1000000") { id } }',
      { p: party.registerParty.id },
    );
    return opened.openAccount.id;
  };
  const made: [string, string][] = [];
  for (let i = 0; i < pairs; i++) made.push([await account(`${slug} member ${2 * i}`), await account(`${slug} member ${2 * i + 1}`)]);
  return { slug, key, keys: await clientKeys(admin, pairs), pairs: made };
}

/** Samples lock waits of the service's posting groups until `stop` is called. */
function sampleLocks(databaseUrl: string): { stop: () => Promise<LockSamples> } {
  const client = new Client({ connectionString: databaseUrl });
  const waitsByEvent: Record<string, number> = {};
  let samples = 0;
  let samplesWithWaits = 0;
  let maxWaiting = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      // Backends of this database waiting on a lock that pg_locks shows as not granted, in a posting group.
      const { rows } = await client.query<{ event: string; n: string }>(
        `SELECT a.wait_event AS event, count(*) AS n FROM pg_stat_activity a
          WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND a.query LIKE 'SELECT ledger_group_load%'
            AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)
          GROUP BY 1`,
      );
      samples++;
      const waiting = rows.reduce((sum, row) => sum + Number(row.n), 0);
      if (waiting > 0) samplesWithWaits++;
      maxWaiting = Math.max(maxWaiting, waiting);
      for (const row of rows) waitsByEvent[row.event] = (waitsByEvent[row.event] ?? 0) + Number(row.n);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, samplesWithWaits, waitsByEvent, maxWaiting };
    },
  };
}

/**
 * Both runs on one service: `connections` clients on one network, then the same number spread
 * over four networks, each network's load from its own process (its own ADMIN key).
 */
export async function measureNetworks(
  service: RunningService,
  databaseUrl: string,
  connections: number,
  durationSec: number,
  runLoad: (spec: LoadSpec) => Promise<LoadResult>,
  say: (message: string) => void,
): Promise<NetworksResult> {
  const deploymentAdmin = new GqlClient(service.url, service.adminKey);
  const perNetwork = Math.max(1, Math.floor(connections / BENCH_NETWORKS));
  say(`networks: ${BENCH_NETWORKS} networks of ${perNetwork} account pairs, and one of ${connections}`);
  const single = await networkFixture(deploymentAdmin, 'bench-one', connections);
  const several: NetworkFixture[] = [];
  for (let i = 1; i <= BENCH_NETWORKS; i++)
    several.push(await networkFixture(deploymentAdmin, `bench-${i}-of-${BENCH_NETWORKS}`, perNetwork));

  const run = async (fixtures: readonly NetworkFixture[], perFixture: number): Promise<NetworksRun> => {
    const sampler = sampleLocks(databaseUrl);
    const results = await Promise.all(
      fixtures.map((f) =>
        runLoad({
          url: service.url,
          key: f.key,
          keys: f.keys,
          connections: perFixture,
          durationSec,
          pairs: f.pairs,
          oneWay: false,
          label: `transfer in ${f.slug}`,
        }),
      ),
    );
    const locks = await sampler.stop();
    return {
      networks: fixtures.length,
      totalPerSecond: results.reduce((sum, r) => sum + r.perSecond, 0),
      perNetwork: results.map((r, i) => ({
        slug: fixtures[i]?.slug ?? '?',
        perSecond: r.perSecond,
        p99Ms: r.latencyP99Ms,
        errors: r.errors + r.mismatches + r.non2xx,
      })),
      p99Ms: Math.max(...results.map((r) => r.latencyP99Ms)),
      refused429: results.reduce((sum, r) => sum + r.refused429, 0),
      locks,
    };
  };

  say(`networks: transfers on 1 network, ${connections} connections, ${durationSec}s`);
  const one = await run([single], connections);
  say(`  ${one.totalPerSecond} tx/s, p99 ${one.p99Ms} ms; lock waits in ${one.locks.samplesWithWaits} of ${one.locks.samples} samples`);
  say(`networks: transfers on ${BENCH_NETWORKS} networks at once, ${perNetwork} connections each, ${durationSec}s`);
  const four = await run(several, perNetwork);
  say(
    `  ${four.totalPerSecond} tx/s in all (${four.perNetwork.map((n) => n.perSecond).join(' + ')}), p99 ${four.p99Ms} ms; ` +
      `lock waits in ${four.locks.samplesWithWaits} of ${four.locks.samples} samples`,
  );
  return { one, four };
}

/** Rows for the bench table. */
export function networksRows(result: NetworksResult): [string, string, string][] {
  const locks = (l: LockSamples) =>
    `lock waits in ${l.samplesWithWaits}/${l.samples} samples, at most ${l.maxWaiting} at once (${
      Object.entries(l.waitsByEvent)
        .map(([event, n]) => `${event} ${n}`)
        .join(', ') || 'none'
    })`;
  return [
    [
      'transfer, 1 network',
      `${result.one.totalPerSecond} tx/s`,
      `p99 ${result.one.p99Ms} ms; 429: ${result.one.refused429}; ${locks(result.one.locks)}`,
    ],
    [
      `transfer, ${result.four.networks} networks at once`,
      `${result.four.totalPerSecond} tx/s`,
      `per network ${result.four.perNetwork.map((n) => `${n.perSecond} (p99 ${n.p99Ms} ms)`).join(', ')}; 429: ${result.four.refused429}; ${locks(result.four.locks)}`,
    ],
  ];
}
