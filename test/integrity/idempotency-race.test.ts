import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { balances, createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { metricOf } from '../support/metrics';
import { type RunningService, startService } from '../support/service';
import { until } from '../support/wait';

/**
 * A posting group looks for its idempotency records before it waits for the network's head
 * (migrations/0035), so a record another group commits in between is not seen by that look. The
 * race is made certain here: the test holds the head, the same request with the same key goes to
 * two instances, and both groups look (finding nothing) before either gets the head. The second
 * to get it must replay the first's answer: one transaction, never an error.
 */
describe('the same idempotency key in two groups waiting for the head together', () => {
  let databaseUrl: string;
  let instances: RunningService[];
  let admins: GqlClient[];
  let sql: Client;
  let holder: Client;
  let ana: string;
  let ben: string;
  let network: string;
  const adminKey = `sl_test_${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase({ migrated: true });
    instances = await Promise.all([0, 1].map(() => startService(databaseUrl, {}, adminKey)));
    admins = instances.map((s) => new GqlClient(s.url, adminKey));
    const admin = admins[0] as GqlClient;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    ana = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ana'), 'HOUR', '100');
    ben = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR', '100');
    sql = await connect(databaseUrl);
    holder = await connect(databaseUrl);
    const { rows } = await sql.query<{ network_id: string }>('SELECT network_id FROM accounts WHERE id = $1', [ana]);
    network = rows[0]?.network_id as string;
  });
  afterAll(async () => {
    await holder.end();
    await sql.end();
    await Promise.all(instances.map((s) => s.stop()));
  });

  /** Backends of the service waiting for a lock inside a posting group's load (the head). */
  async function loadsWaiting(): Promise<number> {
    const { rows } = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_group_load%'`,
    );
    return Number(rows[0]?.n);
  }

  const racesRerun = (service: RunningService) => metricOf(service, 'ledger_posting_idempotency_race_reruns_total');

  /**
   * Holds the head while a transfer of `amounts[0]` goes to the first instance and one of
   * `amounts[1]` to the second, both under `key`; lets the head go once both groups wait for it
   * (each has looked for the key, before the head, and found nothing). Answers both.
   */
  async function raceOnOneKey(key: string, amounts: [string, string]) {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM ledger_head WHERE network_id = $1 FOR UPDATE', [network]);
    const first = transfer(admins[0] as GqlClient, ana, ben, amounts[0], key);
    await until(async () => (await loadsWaiting()) === 1, 'the first group to wait for the head');
    const second = transfer(admins[1] as GqlClient, ana, ben, amounts[1], key);
    await until(async () => (await loadsWaiting()) === 2, 'the second group to wait for the head');
    await holder.query('COMMIT');
    return Promise.all([first, second]);
  }

  it('replays the first answer on the other instance: one transaction, no error', async () => {
    const [a, b] = await raceOnOneKey('race-1', ['3.00', '3.00']);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data?.transfer.id).toBe(a.data?.transfer.id);
    const { rows } = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM idempotency_keys i JOIN transactions t ON t.id = i.result_id WHERE i.key = 'race-1'`,
    );
    expect(rows[0]?.n).toBe('1');
    expect((await balances(admins[0] as GqlClient, ben)).posted).toBe('3.00');
    // One of the two instances ran its group again.
    expect((await racesRerun(instances[0] as RunningService)) + (await racesRerun(instances[1] as RunningService))).toBe(1);
    expect(await verifyLedger(admins[0] as GqlClient)).toMatchObject({ ok: true, transactionsChecked: 1 });
  });

  it('refuses a different request under the same key as a conflict, not an internal error', async () => {
    const answers = await raceOnOneKey('race-2', ['4.00', '5.00']);
    const posted = answers.filter((r) => r.errors === undefined);
    const refused = answers.filter((r) => r.errors !== undefined);
    expect(posted).toHaveLength(1);
    expect(refused.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(['IDEMPOTENCY_CONFLICT']);
    expect((await balances(admins[0] as GqlClient, ben)).posted).toBe(answers[0] === posted[0] ? '7.00' : '8.00');
    expect(await verifyLedger(admins[0] as GqlClient)).toMatchObject({ ok: true, transactionsChecked: 2 });
  });
});
