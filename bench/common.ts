import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { GqlClient } from '../scripts/lib/gql-client';
import type { RunningService } from '../scripts/lib/service-process';
import { projectRoot } from '../src/common/project-root';
import { startEmbeddedDatabase } from '../src/database/embedded-postgres';
import type { LoadResult, LoadSpec } from './load';
import { cpuMs, loadAverage, postgresCpuMs } from './process-cpu';

/** What `npm run bench` and `npm run bench:cpu` share: databases, the accounts, the load process. */
export const CLIENTS = 32;
const ROOT = projectRoot();

export function progress(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return withDatabase(serverUrl, name);
}

/** How long `settleServer` waits at most for the server's background work to end. */
const SETTLE_MAX_MS = 120_000;

/**
 * Waits until the server has finished the background work a section before left it (a
 * checkpoint of what it wrote, autovacuum of the tables it filled): the history section loads
 * ten million postings, and the A/B sections after it measured the server writing and vacuuming
 * them, rounds drifting down one after the other. Asks for a CHECKPOINT (a server that does not
 * allow it is not waited for), then waits, at most two minutes, until no autovacuum worker runs.
 */
export async function settleServer(serverUrl: string, say: (message: string) => void): Promise<void> {
  const client = new Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  const started = Date.now();
  try {
    await client.query('CHECKPOINT').catch((error: Error) => say(`  no CHECKPOINT (${error.message}): not waiting for one`));
    let workers = -1;
    while (Date.now() - started < SETTLE_MAX_MS) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
      );
      workers = rows[0]?.n ?? 0;
      if (workers === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    say(
      `  server settled in ${((Date.now() - started) / 1000).toFixed(1)} s${workers > 0 ? ` (${workers} autovacuum workers still running)` : ''}`,
    );
  } finally {
    await client.end();
  }
}

/**
 * ANALYZE a bench database after its set-up and warm-up. A fresh database has no planner
 * statistics until autovacuum's first pass: until then the posting group's statements can be
 * planned as if the tables were empty (PostgreSQL spent 4.47 ms of CPU per transfer in such a
 * run, 0.81 ms once analysed). A running deployment is past that point; the bench measures it
 * there, and every setting it compares from the same starting point.
 */
export async function analyzeDatabase(url: string): Promise<void> {
  await runStatement(url, 'ANALYZE');
}

/** A CHECKPOINT of the bench's server, now: a run that follows is not measured while the server writes one out. */
export async function checkpoint(url: string): Promise<void> {
  await runStatement(url, 'CHECKPOINT');
}

async function runStatement(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function serverUrl(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: () => Promise.resolve() };
  progress('starting an embedded PostgreSQL under .data/bench');
  const db = await startEmbeddedDatabase({ dataDir: join(ROOT, '.data', 'bench'), preferredPort: 56432 });
  return { url: db.url, stop: () => db.stop() };
}

export interface Fixture {
  readonly admin: GqlClient;
  readonly pairs: [string, string][];
  readonly hot: string;
  /** One ADMIN key per load connection: each connection is its own client, rate limited on its own. */
  readonly keys: string[];
}

/**
 * One key per client, as separate integrations would have: the per-key rate limit (on by
 * default, docs/security.md) then limits each connection, never the whole load at once.
 */
export async function clientKeys(admin: GqlClient, count: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await admin.ok('mutation($l: String!) { createApiKey(role: ADMIN, label: $l) { secret } }', { l: `bench client ${i}` });
    keys.push(created.createApiKey.secret as string);
  }
  return keys;
}

export async function setUp(service: RunningService): Promise<Fixture> {
  const admin = new GqlClient(service.url, service.adminKey);
  await admin.ok('mutation { createCurrency(code: "HOUR", name: "Time credits", kind: TIME, scale: 2) { code } }');
  const account = async (kind: string, name: string) => {
    const party = await admin.ok(`mutation { registerParty(kind: ${kind}, name: "${name}") { id } }`);
    const opened = await admin.ok(`mutation($p: ID!) { openAccount(partyId: $p, currency: "HOUR", creditLimit: "1000000") { id } }`, {
      p: party.registerParty.id,
    });
    return opened.openAccount.id as string;
  };
  const pairs: [string, string][] = [];
  for (let i = 0; i < CLIENTS; i++)
    pairs.push([await account('MEMBER', `Member ${2 * i}`), await account('MEMBER', `Member ${2 * i + 1}`)]);
  const hot = await account('COOPERATIVE', 'Hot co-op');
  return { admin, pairs, hot, keys: await clientKeys(admin, CLIENTS) };
}

export function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'load.js'), [], {
      env: { ...process.env, BENCH_LOAD_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`)),
    );
  });
}

/** CPU time per posted transfer, by process, over one load run; and whether the machine was busy. */
export interface CpuSplit {
  readonly serviceMsPerTransfer: number;
  readonly postgresMsPerTransfer: number;
  readonly loadGeneratorMsPerTransfer: number;
  /** 1-minute load average before and after the run: above the core count, other work competed. */
  readonly loadAverageBefore: number;
  readonly loadAverageAfter: number;
}

function perTransfer(ms: number, transfers: number): number {
  return thousandths(ms / Math.max(1, transfers));
}

/** One load run, with the CPU each process spent on it read from /proc. */
export async function measuredLoad(spec: LoadSpec, servicePid: number | undefined, postgresPid: number | undefined) {
  const loadAverageBefore = loadAverage();
  const serviceBefore = cpuMs(servicePid);
  const postgresBefore = postgresCpuMs(postgresPid);
  const load = await runLoadProcess(spec);
  const cpu: CpuSplit = {
    serviceMsPerTransfer: perTransfer(cpuMs(servicePid) - serviceBefore, load.requests),
    postgresMsPerTransfer: perTransfer(postgresCpuMs(postgresPid) - postgresBefore, load.requests),
    loadGeneratorMsPerTransfer: perTransfer(load.cpuMs, load.requests),
    loadAverageBefore,
    loadAverageAfter: loadAverage(),
  };
  return { load, cpu };
}

/** Median and spread of repeated runs of one setting. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median: Math.round(median * 100) / 100, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 };
}

/** `a / b` to three decimals, the A/B sections' ratio of one setting to the other (0 when `b` is). */
export function ratioOf(a: number, b: number): number {
  return b === 0 ? 0 : thousandths(a / b);
}

/** A figure rounded to three decimals, as the bench prints its ratios and milliseconds. */
export function thousandths(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The mean of some figures (0 for none). */
export function meanOf(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * An A/B section's rounds taken in pairs: round i of one setting over round i of the other, run
 * one right after the other, so that what drifts on the machine between rounds mostly cancels
 * within a pair. The mean of those ratios and its standard error (the spread of the pairs over
 * the square root of their number) say how far one run's figure can be trusted: on shared cores
 * rounds of the same setting differ by more than the effects being measured.
 */
export interface PairedRatios {
  readonly ratios: readonly number[];
  readonly mean: number;
  /** 0 with fewer than two pairs (no spread to judge by). */
  readonly standardError: number;
}

export function pairedRatios(tested: readonly number[], baseline: readonly number[]): PairedRatios {
  if (tested.length !== baseline.length) throw new Error(`pairedRatios: ${tested.length} rounds against ${baseline.length}`);
  const ratios = tested.map((t, i) => ratioOf(t, baseline[i] as number));
  const n = ratios.length;
  const mean = meanOf(ratios);
  const variance = n < 2 ? 0 : ratios.reduce((sum, r) => sum + (r - mean) ** 2, 0) / (n - 1);
  return { ratios, mean: thousandths(mean), standardError: thousandths(Math.sqrt(variance / Math.max(1, n))) };
}

export function describeSpread(s: Spread, unit: string): string {
  return `${s.median} ${unit} (${s.min}–${s.max})`;
}

/** Repeated runs of one setting of an A/B comparison. */
export interface SettingRuns {
  readonly setting: string;
  readonly tps: Spread;
  readonly p99Ms: Spread;
  readonly runs: readonly { tps: number; p99Ms: number; errors: number; refused429: number }[];
}

export function settingRuns(setting: string, loads: readonly LoadResult[]): SettingRuns {
  return {
    setting,
    tps: spread(loads.map((l) => l.perSecond)),
    p99Ms: spread(loads.map((l) => l.latencyP99Ms)),
    runs: loads.map((l) => ({
      tps: l.perSecond,
      p99Ms: l.latencyP99Ms,
      errors: l.errors + l.mismatches + l.non2xx,
      refused429: l.refused429,
    })),
  };
}
