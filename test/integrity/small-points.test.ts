import { mkdtemp, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { migrate } from '../../src/database/migrator';
import { connect, createTestDatabase } from '../support/database';
import {
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  startLedger,
  type TestLedger,
  transfer,
  verifyLedger,
} from '../support/ledger';

const DEPOSITS = 'mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id } }';
type PostedTransaction = { id: string };

/** SPEC B.2 and issue 13's smaller points, each against the running service. */
describe('integrity: idempotency across key rotation, BIGINT bounds, expired holds without a cap', () => {
  let ledger: TestLedger;
  let db: Client;
  let creditUnion: string;
  let members: string[];

  beforeAll(async () => {
    // The sweeper stays out of the way: expiry is released by the posting groups themselves.
    ledger = await startLedger({ HOLD_SWEEP_INTERVAL_MS: '3600000' });
    db = await connect(ledger.databaseUrl);
    const { admin } = ledger;
    creditUnion = await registerParty(admin, 'CREDIT_UNION', 'River Credit Union');
    await createCurrency(admin, 'RIV', 'MONEY', 2, creditUnion);
    members = [];
    for (let i = 0; i < 3; i++) members.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Member ${i}`), 'RIV'));
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('a deposit batch retried with a rotated key of the same credit union replays: nothing is issued twice', async () => {
    const oldKey = ledger.client(await createKey(ledger.admin, 'INTEGRATION', creditUnion));
    const batch = members.map((accountId, i) => ({
      accountId,
      amount: `${i + 1}.00`,
      externalRef: `wire-${i}`,
      idempotencyKey: `dep-${i}`,
    }));
    const first = (await oldKey.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch })).recordDeposits;
    // The key is rotated: a new one for the same credit union, the old one revoked.
    const newKey = ledger.client(await createKey(ledger.admin, 'INTEGRATION', creditUnion));
    const oldId = (await db.query<{ api_key_id: string }>('SELECT api_key_id FROM transactions WHERE id = $1', [first[0]!.id])).rows[0]!
      .api_key_id;
    await ledger.admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: oldId });
    const retried = (await newKey.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch })).recordDeposits;
    expect(retried.map((t) => t.id)).toEqual(first.map((t) => t.id));
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM transactions WHERE kind = 'DEPOSIT'");
    expect(rows[0]?.n).toBe('3');
    // The same key for a different deposit is a conflict, whichever key of the party sends it.
    const conflict = await newKey.request(DEPOSITS, { batch: [{ ...batch[0], amount: '9.00' }] });
    expect(conflict.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_CONFLICT');
    // Another party's key with the same idempotency key is a different request entirely.
    const otherUnion = await registerParty(ledger.admin, 'CREDIT_UNION', 'Hill Credit Union');
    await createCurrency(ledger.admin, 'HIL', 'MONEY', 2, otherUnion);
    const hillMember = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Hill member'), 'HIL');
    const hill = ledger.client(await createKey(ledger.admin, 'INTEGRATION', otherUnion));
    const own = await hill.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, {
      batch: [{ accountId: hillMember, amount: '1.00', externalRef: 'wire-0', idempotencyKey: 'dep-0' }],
    });
    expect(own.recordDeposits[0]?.id).not.toBe(first[0]?.id);
  });

  it('a record written before idempotency was scoped keeps answering its own key (legacy per-key scope)', async () => {
    const key = await createKey(ledger.admin, 'INTEGRATION', creditUnion);
    const client = ledger.client(key);
    const batch = [{ accountId: members[0]!, amount: '0.50', externalRef: 'legacy', idempotencyKey: 'legacy-1' }];
    const first = (await client.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch })).recordDeposits;
    // As the first release wrote it: no scope.
    await db.query(`UPDATE idempotency_keys SET scope = NULL WHERE key = 'legacy-1'`);
    const again = (await client.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch })).recordDeposits;
    expect(again[0]?.id).toBe(first[0]?.id);
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM transactions WHERE external_ref = 'legacy'");
    expect(rows[0]?.n).toBe('1');
  });

  it('refuses a posting that would carry a balance beyond BIGINT as INVALID_AMOUNT, changing nothing', async () => {
    // A balance at the edge of what BIGINT holds (set directly: reaching it by postings takes ~9,000 of the largest).
    await db.query('UPDATE accounts SET posted_minor = posted_minor + 9223372036854775000 WHERE id = $1', [members[2]]);
    const deposit = await ledger.admin.request(
      'mutation($a: ID!) { recordDeposit(accountId: $a, amount: "10.00", externalRef: "edge", idempotencyKey: "edge-1") { id } }',
      { a: members[2] },
    );
    expect(deposit.errors?.[0]?.extensions?.code).toBe('INVALID_AMOUNT');
    const { rows } = await db.query<{ posted_minor: string }>('SELECT posted_minor FROM accounts WHERE id = $1', [members[2]]);
    expect(BigInt(rows[0]!.posted_minor)).toBeGreaterThanOrEqual(9223372036854775000n);
    await db.query('UPDATE accounts SET posted_minor = posted_minor - 9223372036854775000 WHERE id = $1', [members[2]]);
    const limit = await ledger.admin.request(
      'mutation($a: ID!) { setCreditLimit(accountId: $a, creditLimit: "99999999999999999999") { id } }',
      {
        a: members[2],
      },
    );
    expect(limit.errors?.[0]?.extensions?.code).toBe('INVALID_AMOUNT');
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
  });

  it('releases every expired hold of a payer, more than a thousand, before checking its limit', async () => {
    const payer = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Many holds'), 'RIV', '20.00');
    const payee = members[1]!;
    // 1,200 holds of 0.01 that expired a second ago, as a busy payer might leave them.
    await db.query(
      `INSERT INTO holds (id, from_account_id, to_account_id, amount_minor, status, kind, expires_at, created_at)
       SELECT gen_random_uuid(), $1, $2, 1, 'PENDING', 'TRANSFER', now() - interval '1 second', now() - interval '1 minute'
         FROM generate_series(1, 1200)`,
      [payer, payee],
    );
    await db.query('UPDATE accounts SET pending_debits_minor = pending_debits_minor + 1200 WHERE id = $1', [payer]);
    await db.query('UPDATE accounts SET pending_credits_minor = pending_credits_minor + 1200 WHERE id = $1', [payee]);
    // The payer's available balance reads as its whole limit (expired holds do not count) ...
    const read = await ledger.admin.ok<{ account: { available: string } }>('query($id: ID!) { account(id: $id) { available } }', {
      id: payer,
    });
    expect(read.account.available).toBe('0.00');
    // ... and a payment of all of it goes through.
    const paid = await transfer(ledger.admin, payer, payee, '20.00', 'all-of-it');
    expect(paid.errors).toBeUndefined();
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM holds WHERE from_account_id = $1 AND status = 'PENDING'", [
      payer,
    ]);
    expect(rows[0]?.n).toBe('0');
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
  });
});

describe('migrations out of order', () => {
  it('refuses at start-up an unapplied migration that sorts before the newest applied one, saying what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await writeFile(join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id int);');
    await writeFile(join(dir, '0003_third.sql'), 'CREATE TABLE third_table (id int);');
    const client = await connect(await createTestDatabase());
    try {
      expect((await migrate(client, dir)).applied).toEqual(['0001_first.sql', '0003_third.sql']);
      // A branch numbered its migration against an older main.
      await writeFile(join(dir, '0002_second.sql'), 'CREATE TABLE second_table (id int);');
      await expect(migrate(client, dir)).rejects.toThrow(/0002_second\.sql is not applied but sorts before 0003_third\.sql.*Rename it/);
      const { rows } = await client.query("SELECT to_regclass('second_table') AS t");
      expect(rows[0]?.t).toBeNull();
      // Renamed after the newest, it applies.
      await unlink(join(dir, '0002_second.sql'));
      await writeFile(join(dir, '0004_second.sql'), 'CREATE TABLE second_table (id int);');
      expect((await migrate(client, dir)).applied).toEqual(['0004_second.sql']);
    } finally {
      await client.end();
    }
  });
});
