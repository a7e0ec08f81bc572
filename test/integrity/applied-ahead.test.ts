import type { Client } from 'pg';
import { creditUnionIssuing, DEPOSIT, DEPOSITS, type DepositItem, openMemberAccounts, postedBalances } from '../credit-union/support';
import { connect } from '../support/database';
import type { GqlClient } from '../support/graphql';
import { startLedger, type TestLedger, verifyLedger } from '../support/ledger';
import { metricOf } from '../support/metrics';
import { until } from '../support/wait';

interface TrialBalance {
  asOf: string;
  total: string;
  lines: { account: { id: string }; balance: string }[];
}

/** Items in the batch applied ahead: above the size from which a batch starts while the group ahead writes (EARLY_START_OPS). */
const BATCH = 300;

/**
 * A batch that arrives while the group ahead of it is writing is applied to the state that group
 * is about to commit, and sends its write before that group commits (migrations/0036). Its write
 * takes the head first, then checks that the head and every account it read are what it was
 * applied to. Each case here stops the group ahead in its write (the test holds a lock its insert
 * of idempotency records waits for) and sends the batch, which is then certainly applied ahead
 * and waits for the head in its write; the world changes in between: not at all, the group ahead
 * rolls back, an account of the batch is frozen.
 */
describe('a batch applied to the state the group ahead is about to commit', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let integration: GqlClient;
  let issuance: string;
  let members: string[];
  /** A deposit in another currency, of another credit union: a group ahead that shares no account with the batches. */
  let elsewhere: { client: GqlClient; accountId: string };
  let sql: Client;
  let holder: Client;

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const riverside = await creditUnionIssuing(admin, 'Riverside Credit Union', 'MKE');
    issuance = riverside.issuance;
    members = await openMemberAccounts(admin, 'MKE', BATCH + 1, 'Member');
    integration = ledger.client(riverside.integrationKey);
    const lakeside = await creditUnionIssuing(admin, 'Lakeside Credit Union', 'LAK');
    const [lakeMember] = await openMemberAccounts(admin, 'LAK', 1, 'Lake member');
    elsewhere = { client: ledger.client(lakeside.integrationKey), accountId: lakeMember as string };
    sql = await connect(ledger.databaseUrl);
    holder = await connect(ledger.databaseUrl);
    // The first transaction posted at the clock closes the time for imported history, which a group does after its
    // write (so none is applied ahead of it): done here, before the cases.
    await integration.ok(DEPOSIT, { accountId: members[0], amount: '1.00', ref: 'opening', key: 'opening' });
  });
  afterAll(async () => {
    await holder.end();
    await sql.end();
    await ledger.stop();
  });

  /** Deposits of 1.00 to every member but the first, under keys of `prefix`. */
  const batchOf = (prefix: string): DepositItem[] =>
    members
      .slice(1)
      .map((accountId, i) => ({ accountId, amount: '1.00', externalRef: `${prefix}-${i}`, idempotencyKey: `${prefix}-${i}` }));

  const counters = async () => ({
    applied: await metricOf(ledger.service, 'ledger_posting_applied_ahead_total'),
    missed: await metricOf(ledger.service, 'ledger_posting_applied_ahead_missed_total'),
  });

  const trialBalance = async (asOf?: string): Promise<TrialBalance> =>
    (
      await admin.ok<{ trialBalance: TrialBalance }>(
        'query($asOf: DateTime) { trialBalance(currency: "MKE", asOf: $asOf) { asOf total lines { account { id } balance } } }',
        { asOf: asOf ?? null },
      )
    ).trialBalance;

  /** Backends of the service waiting for a lock inside a group's write, oldest first. */
  async function writesWaiting(): Promise<number[]> {
    const { rows } = await sql.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_group_write%'
        ORDER BY query_start`,
    );
    return rows.map((r) => r.pid);
  }

  /**
   * Stops a single deposit of 5.00 (the group ahead: by default to the first member) in its
   * write, then sends the batch, which is applied to what the deposit is about to commit and waits
   * for the head in its write. `meanwhile` runs with both stopped (it gets the deposit's backend);
   * then both go on. Answers both.
   */
  async function aheadOfOneDeposit(
    prefix: string,
    meanwhile: (depositBackend: number) => Promise<void>,
    to: { client: GqlClient; accountId: string } = { client: integration, accountId: members[0] as string },
  ) {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE idempotency_keys IN SHARE MODE');
    const deposit = to.client.request(DEPOSIT, { accountId: to.accountId, amount: '5.00', ref: `${prefix}-ahead`, key: `${prefix}-ahead` });
    await until(async () => (await writesWaiting()).length === 1, 'the deposit to wait in its write');
    const [depositBackend] = await writesWaiting();
    const batch = integration.request<{ recordDeposits: { sequence: string }[] }>(DEPOSITS, { batch: batchOf(prefix) });
    await until(async () => (await writesWaiting()).length === 2, 'the batch to wait in its write, applied ahead');
    await meanwhile(depositBackend as number);
    await holder.query('COMMIT');
    return { deposit: await deposit, batch: await batch };
  }

  it('commits on top of the group ahead when that group commits what it decided', async () => {
    const before = await counters();
    let report: TrialBalance | undefined;
    const { deposit, batch } = await aheadOfOneDeposit('one', async () => {
      // A report taken while both wait: the batch read its clock before the head (docs/decisions.md, "Posting time").
      report = await trialBalance();
    });
    expect(deposit.errors).toBeUndefined();
    expect(batch.errors).toBeUndefined();
    expect(await counters()).toEqual({ applied: before.applied + 1, missed: before.missed });
    // Its asOf still gives the same lines: every transaction committed since is dated after it.
    expect(await trialBalance(report?.asOf)).toEqual(report);
    expect((await trialBalance()).lines).not.toEqual(report?.lines);
    // The batch's transactions follow the deposit's in the chain.
    const depositSequence = BigInt((deposit.data as { recordDeposit: { sequence: string } }).recordDeposit.sequence);
    const sequences = (batch.data?.recordDeposits ?? []).map((t) => BigInt(t.sequence));
    expect(sequences).toEqual(Array.from({ length: BATCH }, (_, i) => depositSequence + 1n + BigInt(i)));
    const posted = await postedBalances(admin);
    expect(posted.get(members[0] as string)).toBe('6.00');
    members.slice(1).forEach((id, i) => expect([i, posted.get(id)]).toEqual([i, '1.00']));
    expect(posted.get(issuance)).toBe(`-${6 + BATCH}.00`);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 2 + BATCH });
  });

  it('runs again the ordinary way when the group ahead rolls back', async () => {
    const before = await counters();
    // The group ahead shares no account with the batch: only the head tells that it never committed.
    const { deposit, batch } = await aheadOfOneDeposit(
      'two',
      async (depositBackend) => {
        await sql.query('SELECT pg_cancel_backend($1)', [depositBackend]);
        await until(async () => (await writesWaiting()).length === 1, 'the deposit to roll back');
      },
      elsewhere,
    );
    expect(deposit.errors?.length).toBe(1);
    expect(batch.errors).toBeUndefined();
    expect(await counters()).toEqual({ applied: before.applied, missed: before.missed + 1 });
    const posted = await postedBalances(admin);
    // The deposit never happened; the batch did, once.
    expect(posted.get(members[0] as string)).toBe('6.00');
    members.slice(1).forEach((id, i) => expect([i, posted.get(id)]).toEqual([i, '2.00']));
    expect(posted.get(issuance)).toBe(`-${6 + 2 * BATCH}.00`);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 2 + 2 * BATCH });
  });

  it('runs again the ordinary way, and refuses, when an account of the batch is frozen meanwhile', async () => {
    const before = await counters();
    const frozen = members[7] as string;
    const { deposit, batch } = await aheadOfOneDeposit('three', async () => {
      // Not waiting for either group: the batch locks nothing before the head, and the group ahead never touched the account.
      await admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id, reason: "court order") { status } }', { id: frozen });
    });
    expect(deposit.errors).toBeUndefined();
    expect(batch.errors?.[0]?.extensions?.code).toBe('ACCOUNT_FROZEN');
    expect(batch.errors?.[0]?.extensions?.index).toBe(6);
    expect(await counters()).toEqual({ applied: before.applied, missed: before.missed + 1 });
    const posted = await postedBalances(admin);
    expect(posted.get(members[0] as string)).toBe('11.00');
    // Nothing of the batch was posted.
    members.slice(1).forEach((id, i) => expect([i, posted.get(id)]).toEqual([i, '2.00']));
    expect(posted.get(issuance)).toBe(`-${11 + 2 * BATCH}.00`);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 3 + 2 * BATCH });
  });
});
