import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { type RunningService, startService } from '../support/service';
import { until } from '../support/wait';

const HOUR_MS = 3_600_000;
const TRIAL_BALANCE =
  'query($asOf: DateTime) { trialBalance(currency: "HOUR", asOf: $asOf) { asOf total lines { account { id } balance } } }';

interface TrialBalance {
  asOf: string;
  total: string;
  lines: { account: { id: string }; balance: string }[];
}

/** How long this file's waits may take (the hold's expiry among them). */
const WAIT_MS = 30_000;

/**
 * SPEC B.2: a transaction's time is the database's clock read under the ledger head lock, strictly
 * later than the transaction before it; reports and expiry use the same clock. Two instances share
 * a database; the second runs with its own clock an hour fast (CLOCK_OFFSET_MS, test only).
 */
describe('time comes from the database, read under the ledger head lock', () => {
  let databaseUrl: string;
  let normal: RunningService;
  let fast: RunningService;
  let a: GqlClient;
  let b: GqlClient;
  let sql: Client;
  let ana: string;
  let ben: string;
  const adminKey = `sl_test_${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase({ migrated: true });
    normal = await startService(databaseUrl, {}, adminKey);
    fast = await startService(databaseUrl, { CLOCK_OFFSET_MS: String(HOUR_MS) }, adminKey);
    a = new GqlClient(normal.url, adminKey);
    b = new GqlClient(fast.url, adminKey);
    sql = await connect(databaseUrl);
    await createCurrency(a, 'HOUR', 'TIME', 2);
    ana = await openAccount(a, await registerParty(a, 'MEMBER', 'Ana'), 'HOUR', '1000');
    ben = await openAccount(b, await registerParty(b, 'MEMBER', 'Ben'), 'HOUR', '1000');
  });
  afterAll(async () => {
    await sql.end();
    await Promise.all([normal.stop(), fast.stop()]);
  });

  it('dates every transaction by the database clock, each at least a microsecond after the one before, whichever instance posts', async () => {
    // The fast instance's own clock is really an hour ahead: its export says so.
    const exported = (await b.ok<{ exportJournal: string }>('{ exportJournal(currency: "HOUR", format: HLEDGER) }')).exportJournal;
    const exportedAt = Date.parse(/exported at (\S+)/.exec(exported)?.[1] ?? '');
    expect(exportedAt - Date.now()).toBeGreaterThan(HOUR_MS - 10 * 60_000);

    // Many at once on both instances: groups of several transactions each, from both clocks.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => transfer(i % 2 ? b : a, i % 4 < 2 ? ana : ben, i % 4 < 2 ? ben : ana, '0.01', `t-${i}`)),
    );
    results.forEach((r) => expect(r.errors).toBeUndefined());

    const { rows } = await sql.query<{ id: string; sequence: string; micros: string; ahead_ms: string }>(
      `SELECT id, sequence, (extract(epoch FROM posted_at) * 1000000)::bigint::text AS micros,
              (extract(epoch FROM posted_at - clock_timestamp()) * 1000)::bigint::text AS ahead_ms
         FROM transactions ORDER BY sequence`,
    );
    expect(rows).toHaveLength(40);
    for (let i = 1; i < rows.length; i++) {
      expect([rows[i]?.sequence, BigInt(rows[i]!.micros) - BigInt(rows[i - 1]!.micros) >= 1n]).toEqual([rows[i]?.sequence, true]);
    }
    // Nothing is dated in the database's future, although half were posted by the fast instance.
    for (const row of rows) expect(Number(row.ahead_ms)).toBeLessThanOrEqual(0);
    // The API gives the stored time to the microsecond.
    const last = rows.at(-1)!;
    const api = await a.ok<{ transaction: { postedAt: string } }>('query($id: ID!) { transaction(id: $id) { postedAt } }', { id: last.id });
    const postedAt = api.transaction.postedAt;
    expect(postedAt).toMatch(/\.\d{6}Z$/);
    expect(BigInt(Date.parse(postedAt)) * 1000n + BigInt(postedAt.slice(-4, -1))).toBe(BigInt(last.micros));
  });

  it('a trial balance taken while a long group holds the ledger head never changes when asked again with its asOf', async () => {
    const holder = await connect(databaseUrl);
    let pending: ReturnType<typeof transfer> | undefined;
    let before: TrialBalance;
    try {
      // A long group: the head is locked, as a group that takes its time would hold it.
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM ledger_head FOR UPDATE');
      pending = transfer(a, ana, ben, '5.00', 'during-the-report');
      await until(
        async () => {
          const { rows } = await sql.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_group_load%'`,
          );
          return rows.length > 0;
        },
        'the transfer to wait on the ledger head',
        WAIT_MS,
      );
      // The report runs meanwhile, on the other instance (whose own clock is an hour fast).
      before = (await b.ok<{ trialBalance: TrialBalance }>(TRIAL_BALANCE)).trialBalance;
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    const posted = await pending;
    expect(posted.errors).toBeUndefined();
    const txTime = await sql.query<{ later: boolean }>('SELECT posted_at > $1::timestamptz AS later FROM transactions WHERE id = $2', [
      before.asOf,
      posted.data!.transfer.id,
    ]);
    expect(txTime.rows[0]?.later).toBe(true);
    expect(before.asOf).toMatch(/\.\d{6}Z$/);
    for (const client of [a, b]) {
      const again = (await client.ok<{ trialBalance: TrialBalance }>(TRIAL_BALANCE, { asOf: before.asOf })).trialBalance;
      expect(again).toEqual(before);
    }
    // And "now" afterwards includes the transfer, as of its own posting time.
    const now = (await a.ok<{ trialBalance: TrialBalance }>(TRIAL_BALANCE)).trialBalance;
    expect(now.lines).not.toEqual(before.lines);
    expect((await a.ok<{ trialBalance: TrialBalance }>(TRIAL_BALANCE, { asOf: now.asOf })).trialBalance).toEqual(now);
  });

  it('judges hold expiry by the same clock: a hold that read as EXPIRED cannot be captured, through either instance', async () => {
    const [{ soon }] = (
      await sql.query<{ soon: string }>(
        "SELECT to_char((clock_timestamp() + interval '1500 milliseconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS soon",
      )
    ).rows as [{ soon: string }];
    // The fast instance would think this instant an hour past; the ledger judges by the database.
    const hold = await b.ok<{ createHold: { id: string; status: string } }>(
      'mutation($from: ID!, $to: ID!, $at: DateTime) { createHold(from: $from, to: $to, amount: "1.00", expiresAt: $at, idempotencyKey: "h-1") { id status } }',
      { from: ana, to: ben, at: soon },
    );
    expect(hold.createHold.status).toBe('PENDING');
    await until(
      async () => {
        const data = await a.ok<{ hold: { status: string } }>('query($id: ID!) { hold(id: $id) { status } }', { id: hold.createHold.id });
        return data.hold.status === 'EXPIRED';
      },
      'the hold to read as EXPIRED',
      WAIT_MS,
    );
    for (const client of [a, b]) {
      const capture = await client.request('mutation($id: ID!) { captureHold(id: $id) { status } }', { id: hold.createHold.id });
      expect(capture.errors?.[0]?.extensions?.code).toBe('HOLD_NOT_PENDING');
    }
    expect(await verifyLedger(a)).toMatchObject({ ok: true });
  });
});
