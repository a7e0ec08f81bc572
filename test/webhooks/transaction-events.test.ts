import type { Client } from 'pg';
import { AccountUnits, withPostedData } from '../../src/webhooks/transaction-events';
import { connect } from '../support/database';
import { startLedger, transfer, type TestLedger } from '../support/ledger';
import { dataOf, newMember, setUpHours } from '../timebank/helpers';

/**
 * The payload of a TRANSACTION_POSTED event written by reference is read from the ledger in
 * ranges of close sequences (webhooks/transaction-events.ts): runs far apart, close together, and
 * transactions in between that no event names.
 */
interface Row {
  network_id: string;
  data: string | null;
  account_ids: string[] | null;
  transaction_sequence: string | null;
}

describe('payloads of events written by reference, read from the ledger', () => {
  let ledger: TestLedger;
  let db: Client;
  const posted: { id: string; sequence: string; amount: string }[] = [];

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    const ana = await newMember(ledger.admin, 'Ana', { creditLimit: '1000' });
    const ben = await newMember(ledger.admin, 'Ben');
    for (let i = 1; i <= 80; i++) {
      const amount = `0.${String(i).padStart(2, '0')}`;
      const t = dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, amount, `t-${i}`)).transfer;
      posted.push({ ...t, amount });
    }
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('gives each event its own transaction, whether its neighbours are close, far, or named by no event', async () => {
    const [{ network_id: network }] = (await db.query<{ network_id: string }>('SELECT network_id FROM transactions LIMIT 1')).rows as [
      { network_id: string },
    ];
    // First, third and fourth (a run with a gap of one), then one 70 sequences on (a range of its own).
    const named = [posted[0], posted[2], posted[3], posted[73]].map((t) => t as { id: string; sequence: string; amount: string });
    const rows = named.map((t): Row => ({ network_id: network, data: null, account_ids: null, transaction_sequence: t.sequence }));
    const sql = { query: async <T>(text: string, params?: readonly unknown[]) => (await db.query(text, params as unknown[])).rows as T[] };
    const filled = await withPostedData(sql, new AccountUnits(), rows);
    for (const [i, row] of filled.entries()) {
      const t = named[i] as { id: string; sequence: string; amount: string };
      const data = JSON.parse(row.data) as { transaction: { id: string; sequence: string; postings: { amount: string }[] } };
      expect(data.transaction).toMatchObject({ id: t.id, sequence: t.sequence, kind: 'TRANSFER', memo: null });
      expect(data.transaction.postings.map((p) => p.amount)).toEqual([`-${t.amount}`, t.amount]);
      expect(row.account_ids).toHaveLength(2);
    }
  });

  it('refuses an event whose transaction is not in the ledger', async () => {
    const [{ network_id: network }] = (await db.query<{ network_id: string }>('SELECT network_id FROM transactions LIMIT 1')).rows as [
      { network_id: string },
    ];
    const sql = { query: async <T>(text: string, params?: readonly unknown[]) => (await db.query(text, params as unknown[])).rows as T[] };
    await expect(
      withPostedData(sql, new AccountUnits(), [{ network_id: network, data: null, account_ids: null, transaction_sequence: '999999' }]),
    ).rejects.toThrow(/not in the ledger/);
  });
});
