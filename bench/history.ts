import { Client } from 'pg';
import type { GqlClient } from '../scripts/lib/gql-client';
import { DEFAULT_NETWORK_ID } from '../src/identity/default-network';
import { ReadClient } from './read-client';
import { hasOperation, percentile } from './schema-probe';

/**
 * Loads a long history fast with set-based SQL, straight into the journal tables (the bench's
 * own database only): transactions between 100 accounts of a `HIST` currency, with running
 * balances and stored balances exactly as the posting module keeps them, evenly spaced in time
 * at 41,667 transactions (83,333 postings) a month, a mid-size credit union's pace, and ending
 * now: 1M postings are the last year, 10M the last ten. A month's activity report then sums
 * the same number of postings whatever the history's length, as a coordinator's would. Their
 * hashes are placeholders, so verifyLedger reports the chain as broken on a bench database
 * after this step; balances stay exact. It then waits until the service's activity rollup has
 * caught up with the loaded days, and measures read latency over HTTP.
 */
const ACCOUNTS = 100;
const CHUNK_TRANSACTIONS = 250_000;
const MONTH_MS = 30 * 24 * 3600 * 1000;
const POSTINGS_PER_MONTH = 1_000_000 / 12;
/**
 * Timed requests per read. p99 is the tenth slowest of 1,000: of 300 (until this was raised) it
 * was the fourth slowest, and how many samples land above the true 99th percentile is binomial
 * (mean 3, sd 1.7 of 300; mean 10, sd 3.2 of 1,000), so the fourth of 300 fell anywhere from
 * about the 98th percentile to the maximum from one run to the next.
 */
const SAMPLES = 1_000;
const WARMUP = 30;

interface HistoryState {
  accounts: string[];
  loadedTransactions: number;
  start: number;
  msPerTransaction: number;
}

let state: HistoryState | undefined;

async function createAccounts(admin: GqlClient): Promise<string[]> {
  await admin.ok('mutation { createCurrency(code: "HIST", name: "History hours", kind: TIME, scale: 2) { code } }');
  const accounts: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const party = await admin.ok(`mutation { registerParty(kind: MEMBER, name: "Long-time member ${i}") { id } }`);
    accounts.push(
      (
        await admin.ok('mutation($p: ID!) { openAccount(partyId: $p, currency: "HIST", creditLimit: "100000000") { id } }', {
          p: party.registerParty.id,
        })
      ).openAccount.id,
    );
  }
  return accounts;
}

/** Adds `postings` more postings (two per transaction) to the history. */
export async function loadHistory(
  databaseUrl: string,
  admin: GqlClient,
  postings: number,
  finalPostings: number,
  progress: (m: string) => void,
): Promise<void> {
  state ??= {
    accounts: await createAccounts(admin),
    loadedTransactions: 0,
    start: Date.now() - (finalPostings / POSTINGS_PER_MONTH) * MONTH_MS,
    msPerTransaction: MONTH_MS / (POSTINGS_PER_MONTH / 2),
  };
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    let remaining = Math.floor(postings / 2);
    while (remaining > 0) {
      const n = Math.min(CHUNK_TRANSACTIONS, remaining);
      await insertChunk(db, state, n);
      state.loadedTransactions += n;
      remaining -= n;
      progress(`  ${(state.loadedTransactions * 2).toLocaleString('en')} postings loaded`);
    }
    // VACUUM as well as ANALYZE: a bulk-loaded table has no visibility map yet, so until
    // autovacuum's pass every index-only probe of the reads (balances, statement pages) also
    // reads the heap, and that pass (minutes at 10M postings) would otherwise run during the
    // measurement. A running ledger is past both.
    await db.query('VACUUM (ANALYZE) transactions, postings, accounts');
    // Then a checkpoint: the load and VACUUM's visibility bits leave gigabytes of dirty pages at
    // 10M postings, which the checkpointer (max_wal_size) or backends evicting dirty buffers for
    // the reads' random pages would otherwise write out during the measurement.
    await db
      .query('CHECKPOINT')
      .catch((error: unknown) => progress(`  no CHECKPOINT (${String(error)}): dirty pages may be written during the reads`));
    await waitForActivityRollup(db, progress);
  } finally {
    await db.end();
  }
}

/** Longest wait for the service's rollup worker to catch up with a freshly loaded history. */
const ROLLUP_WAIT_MS = 30 * 60_000;

/**
 * History written straight into the journal tables is rolled up by the service's own worker
 * (src/ledger/query/activity-rollup.worker.ts), as any backlog would be: the bench waits until
 * every closed day (all but the head's) is rolled up before it measures, so the activity figures
 * are those of a ledger whose worker keeps up. Reports would be exact without it, only slower.
 */
async function waitForActivityRollup(db: Client, progress: (m: string) => void): Promise<void> {
  const started = Date.now();
  const [target] = (
    await db.query<{ sequence: string }>(
      `SELECT coalesce((SELECT max(t.sequence) FROM transactions t, ledger_head h
                         WHERE t.network_id = $1 AND h.network_id = $1
                           AND t.posted_at < date_trunc('day', h.posted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), 0)::text AS sequence`,
      [DEFAULT_NETWORK_ID],
    )
  ).rows;
  const wanted = BigInt(target?.sequence ?? '0');
  for (;;) {
    const [done] = (
      await db.query<{ sequence: string; periods: string }>(
        `SELECT coalesce(max(last_sequence), 0)::text AS sequence, count(*)::text AS periods FROM activity_periods WHERE network_id = $1`,
        [DEFAULT_NETWORK_ID],
      )
    ).rows;
    if (BigInt(done?.sequence ?? '0') >= wanted) {
      await db.query('ANALYZE activity_periods; ANALYZE activity_period_accounts; ANALYZE activity_period_currencies');
      progress(
        `  activity rollup caught up: ${Number(done?.periods).toLocaleString('en')} periods (every closed day, through #${wanted}) after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return;
    }
    if (Date.now() - started > ROLLUP_WAIT_MS)
      throw new Error(`the activity rollup did not reach #${wanted} in ${ROLLUP_WAIT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function insertChunk(db: Client, s: HistoryState, n: number): Promise<void> {
  const first = s.loadedTransactions + 1;
  await db.query('BEGIN');
  try {
    await db.query(
      `CREATE TEMP TABLE chunk ON COMMIT DROP AS
       SELECT gen_random_uuid() AS id, h.sequence + g.i + 1 AS seq, to_timestamp(($3::float8 + ($2::bigint + g.i) * $4::float8) / 1000) AS at,
              ($1::uuid[])[(($2::bigint + g.i) % ${ACCOUNTS}) + 1] AS debit,
              ($1::uuid[])[((($2::bigint + g.i) + 1 + (($2::bigint + g.i) / ${ACCOUNTS}) % ${ACCOUNTS - 1}) % ${ACCOUNTS}) + 1] AS credit,
              1 + (($2::bigint + g.i) % 997) AS amount
         FROM ledger_head h, generate_series(0, $5::int - 1) AS g(i) WHERE h.network_id = $6`,
      [s.accounts, first - 1, s.start, s.msPerTransaction, n, DEFAULT_NETWORK_ID],
    );
    await db.query(
      `INSERT INTO transactions (network_id, id, sequence, kind, memo, posted_at, previous_hash, hash, hash_version)
       SELECT $1, id, seq, 'TRANSFER', 'history', at, 'bench-history', encode(sha256(id::text::bytea), 'hex'), 2 FROM chunk`,
      [DEFAULT_NETWORK_ID],
    );
    await db.query(
      `INSERT INTO postings (network_id, transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
       SELECT $1, r.id, r.idx, r.account_id, r.amount,
              a.posted_minor + sum(r.amount) OVER (PARTITION BY r.account_id ORDER BY r.seq), r.seq
         FROM (SELECT id, seq, 0 AS idx, debit AS account_id, -amount AS amount FROM chunk
               UNION ALL SELECT id, seq, 1, credit, amount FROM chunk) r
         JOIN accounts a ON a.network_id = $1 AND a.id = r.account_id`,
      [DEFAULT_NETWORK_ID],
    );
    await db.query(
      `UPDATE accounts a SET posted_minor = a.posted_minor + d.delta
         FROM (SELECT account_id, sum(amount) AS delta FROM (SELECT debit AS account_id, -amount AS amount FROM chunk
                 UNION ALL SELECT credit, amount FROM chunk) x GROUP BY account_id) d
        WHERE a.network_id = $1 AND a.id = d.account_id`,
      [DEFAULT_NETWORK_ID],
    );
    await db.query(
      `UPDATE ledger_head SET sequence = c.seq, hash = encode(sha256(c.id::text::bytea), 'hex'), posted_at = c.at
         FROM (SELECT id, seq, at FROM chunk ORDER BY seq DESC LIMIT 1) c WHERE ledger_head.network_id = $1`,
      [DEFAULT_NETWORK_ID],
    );
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  }
}

export interface Latency {
  readonly p50: number;
  readonly p99: number;
}

export interface ReadLatencies {
  readonly trialBalance: Latency;
  readonly balanceAt: Latency;
  readonly statement: Latency;
  /** `activity` over a 30-day period (first page of 50 lines, with totals) at random points. */
  readonly activity: Latency;
  /** Transactions one such month held (the first sample's totals). */
  readonly activityMonthTransactions: number;
}

async function timed(samples: number, work: (i: number) => Promise<unknown>): Promise<Latency> {
  for (let i = 0; i < WARMUP; i++) await work(i);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await work(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** The reads the bench times, each one request at a random point of the loaded history. */
export function readSamplers(admin: Pick<GqlClient, 'request'>) {
  if (!state) throw new Error('load the history first');
  const s = state;
  const loadedSpan = s.loadedTransactions * s.msPerTransaction;
  const randomAccount = () => s.accounts[Math.floor(Math.random() * s.accounts.length)] as string;
  const randomTime = () => new Date(s.start + Math.random() * loadedSpan).toISOString();
  const must = async (query: string, variables: Record<string, unknown>) => {
    const result = await admin.request(query, variables);
    if (result.errors) throw new Error(`read refused: ${JSON.stringify(result.errors[0])}`);
    return result.data;
  };
  // A month inside the loaded history (all of it while it is shorter than a month).
  const monthMs = Math.min(MONTH_MS, loadedSpan);
  const randomMonth = () => {
    const from = s.start + Math.random() * (loadedSpan - monthMs);
    return { f: new Date(from).toISOString(), t: new Date(from + monthMs).toISOString() };
  };
  return {
    trialBalance: () => must('{ trialBalance(currency: "HIST") { total lines { balance account { id } } } }', {}),
    balanceAt: () => must('query($a: ID!, $t: DateTime!) { balanceAt(accountId: $a, asOf: $t) }', { a: randomAccount(), t: randomTime() }),
    statement: () =>
      must(
        'query($a: ID!, $t: DateTime!) { statement(accountId: $a, from: $t, first: 50) { openingBalance closingBalance entries { edges { node { amount balance postedAt } } } } }',
        { a: randomAccount(), t: randomTime() },
      ),
    activity: () => must(ACTIVITY, randomMonth()),
  };
}

/** p50/p99 over HTTP of trialBalance, balanceAt and a 50-entry statement page at random points. */
export async function measureReads(admin: GqlClient): Promise<ReadLatencies | undefined> {
  for (const name of ['trialBalance', 'balanceAt', 'statement', 'activity']) {
    if (!(await hasOperation(admin, 'Query', name))) return undefined;
  }
  const client = new ReadClient(admin.url, admin.key);
  try {
    const reads = readSamplers(client);
    const sample = await reads.activity();
    return {
      trialBalance: await timed(SAMPLES, reads.trialBalance),
      balanceAt: await timed(SAMPLES, reads.balanceAt),
      statement: await timed(SAMPLES, reads.statement),
      activity: await timed(SAMPLES, reads.activity),
      activityMonthTransactions: Number(sample?.activity?.totals?.transactions ?? 0),
    };
  } finally {
    client.close();
  }
}

const ACTIVITY =
  'query($f: DateTime!, $t: DateTime!) { activity(currency: "HIST", from: $f, to: $t, first: 50) { totals { transactions activeAccounts volume } lines { edges { node { credited debited transactions account { id } } } } } }';
