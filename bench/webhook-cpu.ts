import type { Client } from 'pg';
import type { RunningService } from '../scripts/lib/service-process';
import { type Fixture, progress, runLoadProcess } from './common';
import type { LoadSpec } from './load';
import { cpuMs, cpuSplitMs, loadAverage, postgresCpuMs, threadCpuMs } from './process-cpu';
import { startCountingReceiver } from './webhooks';

/** Rounds of each setting (BENCH_CPU_ROUNDS, default 2). */
const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 2);
/** How long the deliveries of the webhook run may trail it. */
const CATCH_UP_MS = 60_000;

interface Statements {
  readonly available: boolean;
}

/**
 * `BENCH_CPU_WEBHOOK=1 npm run bench:cpu`: the CPU a transfer costs with no webhook and with one
 * active webhook (a local receiver answering 200 at once), each process read from /proc; the
 * webhook run counts until its last delivery arrived, so the dispatcher's trailing work is
 * included. On a server with pg_stat_statements preloaded it also prints, per transfer, the
 * calls and rows of each statement of each run (the webhook path's statements stand out).
 */
export async function measureWebhookCpu(
  service: RunningService,
  fixture: Fixture,
  base: Omit<LoadSpec, 'label'>,
  client: Client,
  pgPid: number | undefined,
): Promise<void> {
  const receiver = await startCountingReceiver();
  const statements = await statementsAvailable(client);
  try {
    const runOnce = async (label: string, waitFor: (posted: number) => boolean) => {
      await resetStatements(client, statements);
      const writesBefore = await writes(client);
      const loadBefore = loadAverage();
      const serviceBefore = cpuMs(service.process.pid);
      const serviceSplitBefore = cpuSplitMs(service.process.pid);
      const threadsBefore = threadCpuMs(service.process.pid);
      const receiverSplitBefore = cpuSplitMs(process.pid);
      const postgresBefore = postgresCpuMs(pgPid);
      // The receiver runs in this process: its CPU is this process's (nothing else here is busy meanwhile).
      const receiverBefore = cpuMs(process.pid);
      const load = await runLoadProcess({ ...base, label });
      const deadline = Date.now() + CATCH_UP_MS;
      while (!waitFor(load.requests) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const per = (ms: number) => Math.round((ms / Math.max(1, load.requests)) * 1000) / 1000;
      const serviceMs = per(cpuMs(service.process.pid) - serviceBefore);
      const postgresMs = per(postgresCpuMs(pgPid) - postgresBefore);
      const receiverMs = per(cpuMs(process.pid) - receiverBefore);
      const serviceSplit = cpuSplitMs(service.process.pid);
      // The service's threads apart (as bench:request prints them): the main thread (requests, posting, the dispatcher) and
      // V8's workers (mostly garbage collection), which is where a webhook's CPU goes (docs/webhooks.md, "Cost").
      const threads = [...threadCpuMs(service.process.pid)]
        .map(([thread, ms]) => [thread, per(ms - (threadsBefore.get(thread) ?? 0))] as const)
        .filter(([, ms]) => ms >= 0.001)
        .map(([thread, ms]) => `${thread} ${ms}`)
        .join(', ');
      const receiverSplit = cpuSplitMs(process.pid);
      const kernel = `kernel share of it: service ${per(serviceSplit.system - serviceSplitBefore.system)} ms, receiver ${per(receiverSplit.system - receiverSplitBefore.system)} ms`;
      const written = await writesSince(client, writesBefore, load.requests);
      progress(
        `${label}: ${load.requests} transfers, ${receiver.received} deliveries in ${receiver.reads} reads; per transfer ${written}; CPU per transfer service ${serviceMs} ms, PostgreSQL ${postgresMs} ms, sum ${Math.round((serviceMs + postgresMs) * 1000) / 1000} ms; receiver (this process) ${receiverMs} ms; load generator ${per(load.cpuMs)} ms (${kernel}); load average ${loadBefore} -> ${loadAverage()}`,
      );
      progress(`${label}: the service's threads, CPU per transfer in ms: ${threads}`);
      await printStatements(client, statements, load.requests, label);
      return serviceMs + postgresMs;
    };
    // Interleaved, so that what the database accumulates over the runs weighs on both settings alike.
    const sums = { none: 0, one: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      sums.none += await runOnce(`no webhook, round ${round}`, () => true);
      const created = await fixture.admin.ok(
        'mutation($url: String!) { createWebhook(url: $url, events: [TRANSACTION_POSTED]) { webhook { id } } }',
        { url: receiver.url },
      );
      receiver.received = 0;
      receiver.reads = 0;
      sums.one += await runOnce(`1 webhook, round ${round}`, (posted) => receiver.received >= posted);
      await fixture.admin.ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.createWebhook.webhook.id });
    }
    const mean = (ms: number) => Math.round((ms / ROUNDS) * 1000) / 1000;
    progress(
      `CPU per transfer (service + PostgreSQL), mean of ${ROUNDS} rounds: no webhook ${mean(sums.none)} ms, 1 webhook ${mean(sums.one)} ms, the webhook's ${mean(sums.one - sums.none)} ms; ratio ${Math.round((sums.none / sums.one) * 1000) / 1000}`,
    );
  } finally {
    await receiver.close();
  }
}

interface Writes {
  readonly lsn: string;
  readonly rows: { inserted: number; updated: number; deleted: number };
}

/** Rows written and WAL written by the bench's server (its only busy database is the bench's): counts, unlike CPU, that contention does not change. */
async function writes(client: Client): Promise<Writes> {
  // Statistics of other sessions reach the view when they are flushed (at most a second later).
  await client.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  const { rows } = await client.query<{ lsn: string; inserted: string; updated: string; deleted: string }>(
    `SELECT pg_current_wal_lsn()::text AS lsn, sum(tup_inserted)::text AS inserted, sum(tup_updated)::text AS updated,
            sum(tup_deleted)::text AS deleted
       FROM pg_stat_database`,
  );
  const row = rows[0] as { lsn: string; inserted: string; updated: string; deleted: string };
  return { lsn: row.lsn, rows: { inserted: Number(row.inserted), updated: Number(row.updated), deleted: Number(row.deleted) } };
}

async function writesSince(client: Client, before: Writes, transfers: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const now = await writes(client);
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS bytes', [now.lsn, before.lsn]);
  const per = (n: number) => (n / Math.max(1, transfers)).toFixed(2);
  return (
    `rows inserted ${per(now.rows.inserted - before.rows.inserted)}, updated ${per(now.rows.updated - before.rows.updated)}, ` +
    `deleted ${per(now.rows.deleted - before.rows.deleted)}, WAL ${Math.round(Number(rows[0]?.bytes ?? 0) / Math.max(1, transfers))} bytes`
  );
}

async function statementsAvailable(client: Client): Promise<Statements> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('SELECT pg_stat_statements_reset()');
    return { available: true };
  } catch {
    return { available: false };
  }
}

async function resetStatements(client: Client, statements: Statements): Promise<void> {
  if (statements.available) await client.query('SELECT pg_stat_statements_reset()');
}

async function printStatements(client: Client, statements: Statements, transfers: number, label: string): Promise<void> {
  if (!statements.available) return;
  // Planning time counts only where the server sets pg_stat_statements.track_planning (0 otherwise).
  const { rows } = await client.query<{ calls: string; rows: string; ms: number; planMs: number; query: string }>(
    `SELECT calls::text, rows::text, total_exec_time AS ms, total_plan_time AS "planMs", regexp_replace(query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' AND calls > 0
      ORDER BY total_exec_time + total_plan_time DESC LIMIT 25`,
  );
  const n = Math.max(1, transfers);
  progress(`${label}: statements per transfer (calls, rows, exec ms, planning ms), top by time`);
  for (const r of rows)
    process.stdout.write(
      `  ${(Number(r.calls) / n).toFixed(3)} calls  ${(Number(r.rows) / n).toFixed(3)} rows  ${(r.ms / n).toFixed(4)} ms  ` +
        `${(r.planMs / n).toFixed(4)} ms  ${r.query.slice(0, 150)}\n`,
    );
}
