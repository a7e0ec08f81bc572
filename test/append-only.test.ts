import type { Client } from 'pg';
import { connect } from './support/database';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger, transfer, verifyLedger } from './support/ledger';

describe('the journal is append-only in the database itself', () => {
  let ledger: TestLedger;
  let db: Client;
  let firstId: string;
  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    const a = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'A'), 'HOUR');
    const b = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'B'), 'HOUR');
    firstId = (await transfer(ledger.admin, a, b, '1.00', 'one')).data?.transfer.id as string;
    await transfer(ledger.admin, b, a, '0.50', 'two');
    await transfer(ledger.admin, a, b, '0.25', 'three');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it.each([
    ['UPDATE transactions', `UPDATE transactions SET memo = 'edited'`],
    ['DELETE FROM transactions', 'DELETE FROM transactions'],
    ['TRUNCATE transactions', 'TRUNCATE transactions CASCADE'],
    ['UPDATE postings', 'UPDATE postings SET amount_minor = amount_minor * 2'],
    ['DELETE FROM postings', 'DELETE FROM postings'],
    ['TRUNCATE postings', 'TRUNCATE postings'],
  ])('refuses %s', async (_name, sql) => {
    await expect(db.query(sql)).rejects.toThrow(/append-only/);
    expect((await verifyLedger(ledger.admin)).ok).toBe(true);
  });

  it('finds a posting altered behind the service with the triggers disabled', async () => {
    await db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    await db.query('UPDATE postings SET amount_minor = amount_minor + 1 WHERE transaction_id = $1 AND idx = 1', [firstId]);
    await db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    const result = await verifyLedger(ledger.admin);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatch(/account [0-9a-f-]{36}: stored posted balance/);
    await db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    await db.query('UPDATE postings SET amount_minor = amount_minor - 1 WHERE transaction_id = $1 AND idx = 1', [firstId]);
    await db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    expect((await verifyLedger(ledger.admin)).ok).toBe(true);
  });

  it('finds a memo altered behind the service through the hash chain', async () => {
    await db.query('ALTER TABLE transactions DISABLE TRIGGER transactions_append_only');
    await db.query(`UPDATE transactions SET memo = 'quietly edited' WHERE id = $1`, [firstId]);
    await db.query('ALTER TABLE transactions ENABLE TRIGGER transactions_append_only');
    const result = await verifyLedger(ledger.admin);
    expect(result).toMatchObject({ ok: false, transactionsChecked: 0 });
    expect(result.firstProblem).toBe(`transaction #1 (${firstId}): its content does not match its hash`);
  });
});
