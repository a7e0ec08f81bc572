import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { startService } from '../scripts/lib/service-process';
import { analyzeDatabase, CLIENTS, freshDatabase, measuredLoad, progress, runLoadProcess, serverUrl, setUp } from './common';
import { cpuMs, postgresCpuMs, postmasterPid } from './process-cpu';
import { measureWebhookCpu } from './webhook-cpu';

/**
 * `npm run bench:cpu`: CPU per request, not throughput, so that it can guide work on a busy
 * machine. Sends a fixed number of GraphQL transfers (after a fixed warm-up) and a fixed number
 * of recordDeposits batches, and prints the CPU time each process spent per transfer and per
 * batch, read from /proc. BENCH_CPU_PROFILE=<dir> also writes the service's V8 CPU profile there
 * (open it in Chrome's DevTools). BENCH_CPU_WEBHOOK=1 compares transfers with no webhook and
 * with one instead (bench/webhook-cpu.ts). Throughput figures come from `npm run bench` on a quiet machine.
 */
const PER_CONNECTION = Number(process.env.BENCH_CPU_TRANSFERS ?? 150);
const WARMUP_PER_CONNECTION = 50;
const DEPOSIT_BATCHES = Number(process.env.BENCH_CPU_BATCHES ?? 10);
/** `deposits`: only the deposit batches (no transfer load); `transfers`: only the transfers. */
const ONLY = process.env.BENCH_CPU_ONLY;
const BATCH = 1000;

async function main(): Promise<void> {
  const server = await serverUrl();
  const profileDir = process.env.BENCH_CPU_PROFILE;
  const databaseUrl = await freshDatabase(server.url, 'ledger_bench_cpu');
  // Time spent in each SQL function of the posting group, read from pg_stat_user_functions.
  const setup = new Client({ connectionString: databaseUrl });
  await setup.connect();
  await setup.query("ALTER DATABASE ledger_bench_cpu SET track_functions = 'pl'");
  if (process.env.BENCH_CPU_EXPLAIN) {
    // Plans of the statements (nested ones too) slower than BENCH_CPU_EXPLAIN ms, in the server's log.
    await setup.query("ALTER DATABASE ledger_bench_cpu SET session_preload_libraries = 'auto_explain'");
    await setup.query(`ALTER DATABASE ledger_bench_cpu SET auto_explain.log_min_duration = ${Number(process.env.BENCH_CPU_EXPLAIN)}`);
    for (const setting of ['log_nested_statements', 'log_analyze', 'log_triggers', 'log_buffers']) {
      await setup.query(`ALTER DATABASE ledger_bench_cpu SET auto_explain.${setting} = on`);
    }
  }
  await setup.end();
  const service = await startService(
    databaseUrl,
    {
      NODE_ENV: 'production',
      GRAPHQL_INTROSPECTION: 'true',
      LOG_LEVEL: 'warn',
      // The webhook mode's receiver listens on loopback.
      WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    `sl_bench_${randomBytes(16).toString('hex')}`,
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  const client = new Client({ connectionString: server.url });
  await client.connect();
  try {
    const pgPid = await postmasterPid(client);
    const fixture = await setUp(service);
    const base = {
      url: service.url,
      key: service.adminKey,
      keys: fixture.keys,
      connections: CLIENTS,
      durationSec: 0,
      pairs: fixture.pairs,
      oneWay: false,
    };
    if (ONLY !== 'deposits') {
      await runLoadProcess({ ...base, requestsPerConnection: WARMUP_PER_CONNECTION, label: 'warm-up' });
      // As `npm run bench` does: without statistics, the posting group's statements may scan whole tables.
      await analyzeDatabase(databaseUrl);
      if (process.env.BENCH_CPU_WEBHOOK === '1') {
        await measureWebhookCpu(service, fixture, { ...base, requestsPerConnection: PER_CONNECTION }, client, pgPid);
        return;
      }
      const functionsBefore = await functionTimes(databaseUrl);
      const { load, cpu } = await measuredLoad(
        { ...base, requestsPerConnection: PER_CONNECTION, label: 'transfer' },
        service.process.pid,
        pgPid,
      );
      progress(
        `${load.requests} transfers (${load.mismatches + load.non2xx + load.errors} not posted), ${load.perSecond}/s, p50 ${load.latencyP50Ms} ms, p99 ${load.latencyP99Ms} ms: CPU per transfer service ${cpu.serviceMsPerTransfer} ms, PostgreSQL ${cpu.postgresMsPerTransfer} ms, load generator ${cpu.loadGeneratorMsPerTransfer} ms; load average ${cpu.loadAverageBefore} -> ${cpu.loadAverageAfter}`,
      );
      await printFunctionTimes(databaseUrl, functionsBefore);
    }
    if (ONLY !== 'transfers') await measureDepositCpu(fixture.admin, databaseUrl, service.process.pid, pgPid);
  } finally {
    await client.end();
    await service.stop();
    // POSTING_TRACE=1 (passed on to the service): its posting groups' timings, printed at shutdown (and every
    // POSTING_TRACE_INTERVAL_MS, when set, each line with its time).
    for (const line of service.output().split('\n')) if (line.startsWith('posting trace')) progress(line);
    await server.stop();
  }
  if (profileDir) progress(`the service's CPU profile is in ${profileDir}`);
}

async function measureDepositCpu(
  admin: Awaited<ReturnType<typeof setUp>>['admin'],
  databaseUrl: string,
  servicePid?: number,
  pgPid?: number,
): Promise<void> {
  const cu = await admin.ok('mutation { registerParty(kind: CREDIT_UNION, name: "Bench Credit Union") { id } }');
  await admin.ok(
    'mutation($cu: ID) { createCurrency(code: "CPUD", name: "Bench dollar", kind: MONEY, scale: 2, issuerPartyId: $cu) { code } }',
    {
      cu: cu.registerParty.id,
    },
  );
  const accounts: string[] = [];
  for (let i = 0; i < 20; i++) {
    const party = await admin.ok(`mutation { registerParty(kind: MEMBER, name: "Saver ${i}") { id } }`);
    const opened = await admin.ok('mutation($p: ID!) { openAccount(partyId: $p, currency: "CPUD") { id } }', { p: party.registerParty.id });
    accounts.push(opened.openAccount.id as string);
  }
  const mutation = 'mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id } }';
  const send = async (n: number) => {
    const batch = Array.from({ length: BATCH }, (_, i) => ({
      accountId: accounts[i % accounts.length],
      amount: '12.34',
      externalRef: `cpu-${n}-${i}`,
      idempotencyKey: `cpu-deposit-${n}-${i}`,
    }));
    const result = await admin.request(mutation, { batch });
    if (result.errors) throw new Error(`recordDeposits refused: ${JSON.stringify(result.errors[0])}`);
  };
  await send(-1);
  await analyzeDatabase(databaseUrl);
  // Statistics reach the views up to a second after the backend goes idle (the warm-up's too).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const functionsBefore = await functionTimes(databaseUrl);
  const serviceBefore = cpuMs(servicePid);
  const postgresBefore = postgresCpuMs(pgPid);
  const started = Date.now();
  for (let n = 0; n < DEPOSIT_BATCHES; n++) await send(n);
  const perBatch = (ms: number) => Math.round(ms / DEPOSIT_BATCHES);
  progress(
    `${DEPOSIT_BATCHES} recordDeposits batches of ${BATCH}, one at a time: CPU per batch service ${perBatch(cpuMs(servicePid) - serviceBefore)} ms, PostgreSQL ${perBatch(postgresCpuMs(pgPid) - postgresBefore)} ms; wall ${perBatch(Date.now() - started)} ms; load average ${loadavg()[0]?.toFixed(2)}`,
  );
  await printFunctionTimes(databaseUrl, functionsBefore);
}

type FunctionTimes = Map<string, { calls: number; totalMs: number; selfMs: number }>;

/** Time per call of each SQL function called since `functionsBefore` (the load's includes its wait for the head lock). */
async function printFunctionTimes(databaseUrl: string, functionsBefore: FunctionTimes): Promise<void> {
  // Statistics reach the views up to a second after the backend goes idle.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const functionsAfter = await functionTimes(databaseUrl);
  for (const [name, after] of functionsAfter) {
    const before = functionsBefore.get(name) ?? { calls: 0, totalMs: 0, selfMs: 0 };
    if (after.calls === before.calls) continue;
    // Per call, not per batch: a backend may not have reported its last calls yet.
    const calls = after.calls - before.calls;
    const ms = (value: number) => (value / calls).toFixed(2);
    progress(
      `  ${name}: ${calls} calls, per call ${ms(after.totalMs - before.totalMs)} ms in all, ${ms(after.selfMs - before.selfMs)} ms itself`,
    );
  }
}

/** Calls and time of each PL/pgSQL function so far (track_functions), by name. */
async function functionTimes(databaseUrl: string): Promise<FunctionTimes> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ funcname: string; calls: string; total_time: number; self_time: number }>(
      'SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions',
    );
    return new Map(rows.map((r) => [r.funcname, { calls: Number(r.calls), totalMs: r.total_time, selfMs: r.self_time }]));
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:cpu failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
