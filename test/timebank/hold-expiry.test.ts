import type { Client } from 'pg';
import { connect } from '../support/database';
import { balances, startLedger, transfer, verifyLedger, type TestLedger } from '../support/ledger';
import { captureHold, codeOf, createHold, dataOf, newMember, setUpHours, voidHold, waitFor, type Member } from './helpers';

const HOLD_QUERY = 'query($id: ID!) { hold(id: $id) { id status resolvedAt } }';

function inMs(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

async function storedHold(db: Client, id: string): Promise<{ status: string }> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM holds WHERE id = $1', [id]);
  if (!rows[0]) throw new Error(`hold ${id} is not stored`);
  return rows[0];
}

async function storedPending(db: Client, accountId: string): Promise<{ debits: string; credits: string }> {
  const { rows } = await db.query<{ debits: string; credits: string }>(
    'SELECT pending_debits_minor AS debits, pending_credits_minor AS credits FROM accounts WHERE id = $1',
    [accountId],
  );
  if (!rows[0]) throw new Error(`account ${accountId} is not stored`);
  return rows[0];
}

describe('hold expiry with the sweeper running', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member;
  let ben: Member;

  beforeAll(async () => {
    ledger = await startLedger({ HOLD_SWEEP_INTERVAL_MS: '100' });
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '5' });
    ben = await newMember(ledger.admin, 'Ben');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('releases an expired hold’s reservation in storage without anyone calling, and its credit can be used again', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), {
        from: ana.accountId,
        to: ben.accountId,
        amount: '5',
        key: 'expiring',
        expiresAt: inMs(1000),
      }),
    ).createHold;
    expect(await storedPending(db, ana.accountId)).toEqual({ debits: '500', credits: '0' });
    // Nothing else touches these accounts: only the sweeper can release the stored reservation.
    await waitFor('the sweeper to release the hold', async () => ((await storedHold(db, hold.id)).status === 'EXPIRED' ? true : undefined));
    expect(await storedPending(db, ana.accountId)).toEqual({ debits: '0', credits: '0' });
    expect(await storedPending(db, ben.accountId)).toEqual({ debits: '0', credits: '0' });
    expect((await ledger.client(ana.key).ok(HOLD_QUERY, { id: hold.id })).hold.status).toBe('EXPIRED');
    expect(await balances(ledger.admin, ana.accountId)).toMatchObject({ pendingDebits: '0.00', available: '0.00' });
    // The whole limit is available again.
    expect((await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '5', 'after-expiry')).errors).toBeUndefined();
  });

  it('refuses to capture or void an expired hold with HOLD_NOT_PENDING', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ben.key), { from: ben.accountId, to: ana.accountId, amount: '1', key: 'short', expiresAt: inMs(300) }),
    ).createHold;
    await waitFor('the hold to be swept', async () => ((await storedHold(db, hold.id)).status === 'EXPIRED' ? true : undefined));
    expect(codeOf(await captureHold(ledger.client(ben.key), hold.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await voidHold(ledger.client(ben.key), hold.id))).toBe('HOLD_NOT_PENDING');
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});

describe('hold expiry before the sweeper has run', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member;
  let ben: Member;
  let cara: Member;

  beforeAll(async () => {
    // The sweeper waits an hour: whatever happens at expiry here is not its doing.
    ledger = await startLedger({ HOLD_SWEEP_INTERVAL_MS: '3600000' });
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '4' });
    ben = await newMember(ledger.admin, 'Ben');
    cara = await newMember(ledger.admin, 'Cara');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('never shows an expired hold as pending in reads, though storage still holds it', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), {
        from: ana.accountId,
        to: ben.accountId,
        amount: '3',
        key: 'unswept',
        expiresAt: inMs(700),
      }),
    ).createHold;
    expect((await balances(ledger.admin, ana.accountId)).pendingDebits).toBe('3.00');
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect((await storedHold(db, hold.id)).status).toBe('PENDING');
    expect(await balances(ledger.admin, ana.accountId)).toMatchObject({ pendingDebits: '0.00', available: '0.00' });
    expect((await balances(ledger.admin, ben.accountId)).pendingCredits).toBe('0.00');
    const read = (await ledger.client(ana.key).ok(HOLD_QUERY, { id: hold.id })).hold;
    expect(read.status).toBe('EXPIRED');
    expect(read.resolvedAt).not.toBeNull();
    const list = 'query($id: ID!, $status: HoldStatus) { holds(accountId: $id, status: $status) { edges { node { id } } } }';
    expect((await ledger.client(ana.key).ok(list, { id: ana.accountId, status: 'PENDING' })).holds.edges).toEqual([]);
    expect((await ledger.client(ana.key).ok(list, { id: ana.accountId, status: 'EXPIRED' })).holds.edges).toEqual([
      { node: { id: hold.id } },
    ]);
  });

  it('releases the expired hold in the same posting that next touches the account, so its credit counts at once', async () => {
    const [row] = (await db.query<{ id: string }>("SELECT id FROM holds WHERE status = 'PENDING'")).rows;
    expect(row).toBeDefined();
    // With the 3-hour hold still reserved this 4-hour payment would breach Ana's limit of 4.
    expect((await transfer(ledger.client(ana.key), ana.accountId, cara.accountId, '4', 'uses-released-credit')).errors).toBeUndefined();
    expect((await storedHold(db, row!.id)).status).toBe('EXPIRED');
    expect(await storedPending(db, ana.accountId)).toEqual({ debits: '0', credits: '0' });
    expect(await storedPending(db, ben.accountId)).toEqual({ debits: '0', credits: '0' });
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
