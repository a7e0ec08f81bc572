import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { GqlClient } from '../scripts/lib/gql-client';
import { type RunningService, startService } from '../scripts/lib/service-process';
import { CLIENTS, freshDatabase, measuredLoad, progress, runLoadProcess, serverUrl, setUp } from './common';
import { loadHistory, readSamplers } from './history';
import { ReadClient } from './read-client';
import { cpuSplitMs, loadAverage, postgresCpuMs, postmasterPid, threadCpuMs } from './process-cpu';
import { percentile } from './schema-probe';

/**
 * `npm run bench:request`: what one request costs the service, robust to a busy machine. On a
 * fresh database with a short history (REQUEST_CPU_HISTORY postings, 100,000 by default), sends
 * REQUEST_CPU_READS sequential requests of each read the bench times (trialBalance over 100
 * accounts, balanceAt, a 50-entry statement page) and REQUEST_CPU_TRANSFERS transfers per
 * connection over 32 connections, and prints the service's CPU per request (from /proc) with
 * the reads' p50/p99 and the load average. BENCH_CPU_PROFILE=<dir> writes the service's V8 CPU
 * profile; REQUEST_CPU_ONLY=reads or transfers runs one half, and REQUEST_CPU_READ=<name> one read (a
 * profile of one kind of request).
 */
const HISTORY = Number(process.env.REQUEST_CPU_HISTORY ?? 100_000);
const READS = Number(process.env.REQUEST_CPU_READS ?? 300);
const TRANSFERS = Number(process.env.REQUEST_CPU_TRANSFERS ?? 150);
const ONLY = process.env.REQUEST_CPU_ONLY;
/** One read only (its name: trialBalance, balanceAt or statement), for a profile of it alone. */
const READ = process.env.REQUEST_CPU_READ;
/** REQUEST_CPU_TRACE_GC=1: run the service with --trace-gc and print its collections during each read's run. */
const TRACE_GC = process.env.REQUEST_CPU_TRACE_GC === '1';

/** Collections the service logged (--trace-gc) in `text`: how many of each kind, their total and longest pause. */
function gcSummary(text: string): string {
  const kinds = new Map<string, { count: number; total: number; max: number }>();
  for (const match of text.matchAll(/ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^,]*, ([\d.]+) \/ ([\d.]+) ms/g)) {
    const kind = match[1] as string;
    const pause = Number(match[2]);
    const k = kinds.get(kind) ?? { count: 0, total: 0, max: 0 };
    kinds.set(kind, { count: k.count + 1, total: k.total + pause, max: Math.max(k.max, pause) });
  }
  if (kinds.size === 0) return 'no collections';
  return [...kinds].map(([kind, k]) => `${k.count} ${kind} (${k.total.toFixed(1)} ms in all, longest ${k.max.toFixed(2)} ms)`).join(', ');
}

async function timedReads(
  service: RunningService,
  postmaster: number | undefined,
  name: string,
  read: () => Promise<unknown>,
): Promise<void> {
  if (READ && !name.startsWith(READ)) return;
  const servicePid = service.process.pid;
  for (let i = 0; i < 30; i++) await read();
  const outputBefore = service.output();
  const times: number[] = [];
  const load = loadAverage();
  const before = cpuSplitMs(servicePid);
  const postgresBefore = postgresCpuMs(postmaster);
  const threadsBefore = threadCpuMs(servicePid);
  for (let i = 0; i < READS; i++) {
    const t0 = process.hrtime.bigint();
    await read();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const after = cpuSplitMs(servicePid);
  const postgres = (postgresCpuMs(postmaster) - postgresBefore) / READS;
  const threads = [...threadCpuMs(servicePid)]
    .map(([thread, ms]) => [thread, (ms - (threadsBefore.get(thread) ?? 0)) / READS] as const)
    .filter(([, ms]) => ms >= 0.01)
    .map(([thread, ms]) => `${thread} ${ms.toFixed(3)}`)
    .join(', ');
  const user = (after.user - before.user) / READS;
  const system = (after.system - before.system) / READS;
  const output = service.output();
  const gc = TRACE_GC ? `; service GC: ${gcSummary(output.slice(outputBefore.length))}` : '';
  // Which requests were the slowest (in order sent): a cluster at the start is warm-up, spread-out ones are pauses.
  const slowest = times
    .map((ms, i) => [ms, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([ms, i]) => `#${i} ${ms.toFixed(1)}`)
    .join(', ');
  times.sort((a, b) => a - b);
  progress(
    `${name}: service CPU ${(user + system).toFixed(3)} ms/request (user ${user.toFixed(3)}, system ${system.toFixed(3)}), PostgreSQL CPU ${postgres.toFixed(3)} ms/request; p50 ${percentile(times, 50)} ms, p99 ${percentile(times, 99)} ms, max ${percentile(times, 100)} ms; load average ${load} -> ${loadAverage()}; by thread (ms/request): ${threads}; slowest (ms): ${slowest}${gc}`,
  );
}

async function main(): Promise<void> {
  const server = await serverUrl();
  const profileDir = process.env.BENCH_CPU_PROFILE;
  const databaseUrl = await freshDatabase(server.url, 'ledger_bench_request');
  const service = await startService(
    databaseUrl,
    { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', LOG_LEVEL: 'warn' },
    `sl_bench_${randomBytes(16).toString('hex')}`,
    [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(TRACE_GC ? ['--trace-gc'] : [])],
  );
  const pid = service.process.pid;
  try {
    const fixture = await setUp(service);
    if (ONLY !== 'transfers') {
      const admin = new GqlClient(service.url, service.adminKey);
      await loadHistory(databaseUrl, admin, HISTORY, HISTORY, () => undefined);
      const pg = new Client({ connectionString: databaseUrl });
      await pg.connect();
      const postmaster = await postmasterPid(pg);
      await pg.query('ANALYZE').finally(() => pg.end());
      const client = new ReadClient(service.url, service.adminKey);
      const reads = readSamplers(client);
      await timedReads(service, postmaster, 'trialBalance (100 accounts)', reads.trialBalance);
      await timedReads(service, postmaster, 'balanceAt', reads.balanceAt);
      await timedReads(service, postmaster, 'statement page (50 entries)', reads.statement);
      client.close();
    }
    if (ONLY !== 'reads') {
      const base = {
        url: service.url,
        key: service.adminKey,
        keys: fixture.keys,
        connections: CLIENTS,
        durationSec: 0,
        pairs: fixture.pairs,
      };
      await runLoadProcess({ ...base, oneWay: false, requestsPerConnection: 50, label: 'warm-up' });
      for (const oneWay of [false, true]) {
        const pairs = oneWay ? fixture.pairs.map(([from]) => [from, fixture.hot] as [string, string]) : fixture.pairs;
        const { load, cpu } = await measuredLoad(
          { ...base, pairs, oneWay, requestsPerConnection: TRANSFERS, label: 'transfer' },
          pid,
          undefined,
        );
        progress(
          `transfer ${oneWay ? 'into one hot account' : 'between distinct accounts'}: ${load.requests} sent, ${load.mismatches + load.non2xx + load.errors} not posted; service CPU ${cpu.serviceMsPerTransfer} ms/transfer; ${load.perSecond}/s; load average ${cpu.loadAverageBefore} -> ${cpu.loadAverageAfter}`,
        );
      }
    }
  } finally {
    await service.stop();
    await server.stop();
  }
  if (profileDir) progress(`the service's CPU profile is in ${profileDir}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
