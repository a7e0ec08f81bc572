import { randomBytes } from 'node:crypto';
import { type RunningService, startService } from '../scripts/lib/service-process';
import {
  analyzeDatabase,
  checkpoint,
  CLIENTS,
  type Fixture,
  freshDatabase,
  ratioOf,
  runLoadProcess,
  type SettingRuns,
  settingRuns,
  setUp,
} from './common';
import type { LoadResult } from './load';

export interface LimitsCost {
  readonly on: SettingRuns;
  readonly off: SettingRuns;
  /** Median throughput with the limits on over the median with them off. */
  readonly ratioOfMedians: number;
}

/** The default limits (empty values fall back to the defaults, whatever the bench's own environment says). */
const LIMITS_ON = { RATE_LIMIT_PER_SECOND: '', RATE_LIMIT_BURST: '', RATE_LIMIT_NETWORK_PER_SECOND: '', RATE_LIMIT_EXEMPT_KEYS: '' };
/** RATE_LIMIT_PER_SECOND=0 turns every rate limit off. The query cost, depth and token checks cannot be turned off: both settings run them. */
const LIMITS_OFF = { ...LIMITS_ON, RATE_LIMIT_PER_SECOND: '0' };

/**
 * What the security limits cost (issue 12): the distinct-accounts transfer load against a
 * service with the default limits and one without rate limiting, one API key per connection
 * (32 clients, each well under the per-key limit: a 429 is counted as an error, and would mean
 * the bench measured the limit rather than its cost). Both services run side by side on their
 * own databases; after one warm-up each, runs alternate on, off, off, on, on, off... (the order
 * turning by round) so drift on the machine touches both settings alike, and every run starts
 * right after a CHECKPOINT, so that none is measured while the server writes one out on its own
 * (bench/webhooks.ts). Median and spread of each, and the ratio of medians.
 */
export async function measureLimitsCost(
  url: string,
  rounds: number,
  seconds: number,
  warmupSeconds: number,
  say: (m: string) => void,
): Promise<LimitsCost> {
  const started: RunningService[] = [];
  try {
    const prepare = async (name: string, env: Record<string, string>) => {
      const databaseUrl = await freshDatabase(url, `ledger_bench_limits_${name}`);
      const service = await startService(
        databaseUrl,
        { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', LOG_LEVEL: 'warn', ...env },
        `sl_bench_${randomBytes(16).toString('hex')}`,
      );
      started.push(service);
      return { service, databaseUrl, fixture: await setUp(service) };
    };
    const on = await prepare('on', LIMITS_ON);
    const off = await prepare('off', LIMITS_OFF);
    const load = (s: { service: RunningService; fixture: Fixture }, label: string, durationSec: number) =>
      runLoadProcess({
        url: s.service.url,
        key: s.service.adminKey,
        keys: s.fixture.keys,
        connections: CLIENTS,
        durationSec,
        pairs: s.fixture.pairs,
        oneWay: false,
        label,
      });
    say(`security limits: warm-up ${warmupSeconds}s on each service (not measured)`);
    await load(on, 'warm-up', warmupSeconds);
    await load(off, 'warm-up', warmupSeconds);
    await analyzeDatabase(on.databaseUrl);
    await analyzeDatabase(off.databaseUrl);
    const onRuns: LoadResult[] = [];
    const offRuns: LoadResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      const order = [
        [on, onRuns],
        [off, offRuns],
      ] as const;
      for (const [setting, runs] of round % 2 === 1 ? order : [...order].reverse()) {
        const label = `limits ${setting === on ? 'on' : 'off'}, round ${round}`;
        await checkpoint(setting.databaseUrl);
        const result = await load(setting, label, seconds);
        say(
          `  ${label}: ${result.perSecond} tx/s, p99 ${result.latencyP99Ms} ms, ${result.refused429} refused 429, ${result.errors + result.mismatches + result.non2xx} errors`,
        );
        runs.push(result);
      }
    }
    const summaryOn = settingRuns('default limits on (one key per client)', onRuns);
    const summaryOff = settingRuns('rate limiting off (RATE_LIMIT_PER_SECOND=0)', offRuns);
    return {
      on: summaryOn,
      off: summaryOff,
      ratioOfMedians: ratioOf(summaryOn.tps.median, summaryOff.tps.median),
    };
  } finally {
    for (const service of started) await service.stop();
  }
}
