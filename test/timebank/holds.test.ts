import {
  balances,
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  snapshot,
  startLedger,
  transfer,
  verifyLedger,
  type TestLedger,
} from '../support/ledger';
import { captureHold, codeOf, createHold, dataOf, minor, newMember, setUpHours, voidHold, type Member } from './helpers';

describe('two-phase holds', () => {
  let ledger: TestLedger;
  let ana: Member;
  let ben: Member;
  let cara: Member;
  let auditorKey: string;
  let n = 0;
  const key = () => `hold-${++n}`;

  beforeAll(async () => {
    ledger = await startLedger();
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana');
    ben = await newMember(ledger.admin, 'Ben');
    cara = await newMember(ledger.admin, 'Cara');
    auditorKey = await createKey(ledger.admin, 'AUDITOR');
  });
  afterAll(async () => ledger.stop());

  it('reserves at once: payer pendingDebits and payee pendingCredits rise, available drops, posted is unchanged', async () => {
    const before = await balances(ledger.admin, ana.accountId);
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '2.5', key: key() }),
    ).createHold;
    expect(hold).toMatchObject({
      amount: '2.50',
      status: 'PENDING',
      from: { id: ana.accountId },
      to: { id: ben.accountId },
      transaction: null,
    });
    const payer = await balances(ledger.admin, ana.accountId);
    const payee = await balances(ledger.admin, ben.accountId);
    expect(payer).toMatchObject({ posted: before.posted, pendingDebits: '2.50', available: '-2.50' });
    expect(payee).toMatchObject({ posted: '0.00', pendingCredits: '2.50', available: '0.00' });
    dataOf(await voidHold(ledger.client(ana.key), hold.id));
  });

  it('counts a pending hold against the credit limit: a transfer that fits the limit alone is refused and changes nothing', async () => {
    // Cara has the default limit of 10 hours.
    const hold = dataOf(
      await createHold(ledger.client(cara.key), { from: cara.accountId, to: ana.accountId, amount: '8', key: key() }),
    ).createHold;
    const before = await snapshot(ledger.admin);
    const refusedTransfer = await transfer(ledger.client(cara.key), cara.accountId, ben.accountId, '3', key());
    expect(codeOf(refusedTransfer)).toBe('INSUFFICIENT_FUNDS');
    const refusedHold = await createHold(ledger.client(cara.key), { from: cara.accountId, to: ben.accountId, amount: '2.01', key: key() });
    expect(codeOf(refusedHold)).toBe('INSUFFICIENT_FUNDS');
    expect(await snapshot(ledger.admin)).toBe(before);
    // Exactly what is left fits.
    const fits = dataOf(
      await createHold(ledger.client(cara.key), { from: cara.accountId, to: ben.accountId, amount: '2', key: key() }),
    ).createHold;
    expect((await balances(ledger.admin, cara.accountId)).available).toBe('-10.00');
    dataOf(await voidHold(ledger.client(cara.key), fits.id));
    dataOf(await voidHold(ledger.client(cara.key), hold.id));
    expect(await balances(ledger.admin, cara.accountId)).toMatchObject({ posted: '0.00', pendingDebits: '0.00', available: '0.00' });
  });

  it('captures the full amount as one TRANSFER transaction and clears both reservations', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '1.25', key: key(), memo: 'bread' }),
    ).createHold;
    const anaBefore = await balances(ledger.admin, ana.accountId);
    const benBefore = await balances(ledger.admin, ben.accountId);
    const captured = dataOf(await captureHold(ledger.client(ana.key), hold.id)).captureHold;
    expect(captured).toMatchObject({ status: 'CAPTURED', capturedAmount: '1.25', memo: 'bread' });
    expect(captured.transaction.kind).toBe('TRANSFER');
    expect(captured.transaction.postings).toEqual([
      { amount: '-1.25', account: { id: ana.accountId } },
      { amount: '1.25', account: { id: ben.accountId } },
    ]);
    const anaAfter = await balances(ledger.admin, ana.accountId);
    const benAfter = await balances(ledger.admin, ben.accountId);
    expect(minor(anaAfter.posted) - minor(anaBefore.posted)).toBe(-125n);
    expect(minor(benAfter.posted) - minor(benBefore.posted)).toBe(125n);
    expect(anaAfter.pendingDebits).toBe('0.00');
    expect(benAfter.pendingCredits).toBe('0.00');
  });

  it('captures a smaller amount, posting only that and releasing the rest', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ben.key), { from: ben.accountId, to: cara.accountId, amount: '3', key: key() }),
    ).createHold;
    const caraBefore = await balances(ledger.admin, cara.accountId);
    const captured = dataOf(await captureHold(ledger.client(ben.key), hold.id, '1.5')).captureHold;
    expect(captured).toMatchObject({ status: 'CAPTURED', amount: '3.00', capturedAmount: '1.50' });
    expect(captured.transaction.postings.map((p: { amount: string }) => p.amount)).toEqual(['-1.50', '1.50']);
    const benAfter = await balances(ledger.admin, ben.accountId);
    const caraAfter = await balances(ledger.admin, cara.accountId);
    expect(benAfter.pendingDebits).toBe('0.00');
    expect(caraAfter.pendingCredits).toBe('0.00');
    expect(minor(caraAfter.posted) - minor(caraBefore.posted)).toBe(150n);
  });

  it('refuses a capture above the held amount with INVALID_AMOUNT and changes nothing', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '1', key: key() }),
    ).createHold;
    const before = await snapshot(ledger.admin);
    expect(codeOf(await captureHold(ledger.client(ana.key), hold.id, '1.01'))).toBe('INVALID_AMOUNT');
    expect(codeOf(await captureHold(ledger.client(ana.key), hold.id, '0'))).toBe('INVALID_AMOUNT');
    expect(codeOf(await captureHold(ledger.client(ana.key), hold.id, '0.001'))).toBe('INVALID_AMOUNT');
    expect(await snapshot(ledger.admin)).toBe(before);
    dataOf(await voidHold(ledger.client(ana.key), hold.id));
  });

  it('voids: releases the whole reservation and posts nothing', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: cara.accountId, amount: '4', key: key() }),
    ).createHold;
    const transactionsBefore = (await ledger.admin.ok('{ transactions(first: 500) { edges { node { id } } } }')).transactions.edges.length;
    const voided = dataOf(await voidHold(ledger.client(ana.key), hold.id)).voidHold;
    expect(voided).toMatchObject({ status: 'VOIDED', transaction: null, capturedAmount: null });
    expect((await balances(ledger.admin, ana.accountId)).pendingDebits).toBe('0.00');
    expect((await balances(ledger.admin, cara.accountId)).pendingCredits).toBe('0.00');
    expect((await ledger.admin.ok('{ transactions(first: 500) { edges { node { id } } } }')).transactions.edges.length).toBe(
      transactionsBefore,
    );
  });

  it('lets the payee void a hold made out to it, but not capture it', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '1', key: key() }),
    ).createHold;
    const before = await snapshot(ledger.admin);
    expect(codeOf(await captureHold(ledger.client(ben.key), hold.id))).toBe('FORBIDDEN');
    expect(await snapshot(ledger.admin)).toBe(before);
    expect(dataOf(await voidHold(ledger.client(ben.key), hold.id)).voidHold.status).toBe('VOIDED');
  });

  it('refuses capture and void of a hold that is not pending with HOLD_NOT_PENDING, changing nothing', async () => {
    const captured = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '0.5', key: key() }),
    ).createHold;
    dataOf(await captureHold(ledger.client(ana.key), captured.id));
    const voided = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '0.5', key: key() }),
    ).createHold;
    dataOf(await voidHold(ledger.client(ana.key), voided.id));
    const before = await snapshot(ledger.admin);
    expect(codeOf(await captureHold(ledger.client(ana.key), captured.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await voidHold(ledger.client(ana.key), captured.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await captureHold(ledger.client(ana.key), voided.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await voidHold(ledger.admin, voided.id))).toBe('HOLD_NOT_PENDING');
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('refuses who may not: a hold on another member’s account, a stranger voiding, an auditor creating', async () => {
    const hold = dataOf(
      await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '1', key: key() }),
    ).createHold;
    const before = await snapshot(ledger.admin);
    expect(codeOf(await createHold(ledger.client(cara.key), { from: ana.accountId, to: cara.accountId, amount: '1', key: key() }))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await voidHold(ledger.client(cara.key), hold.id))).toBe('FORBIDDEN');
    expect(codeOf(await captureHold(ledger.client(cara.key), hold.id))).toBe('FORBIDDEN');
    expect(codeOf(await createHold(ledger.client(auditorKey), { from: ana.accountId, to: ben.accountId, amount: '1', key: key() }))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await createHold(ledger.client(), { from: ana.accountId, to: ben.accountId, amount: '1', key: key() }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await snapshot(ledger.admin)).toBe(before);
    // An admin (coordinator) may capture anyone's hold.
    expect(dataOf(await captureHold(ledger.admin, hold.id)).captureHold.status).toBe('CAPTURED');
  });

  it('refuses malformed holds: same account, another currency, a past expiry, a frozen payee, an unknown hold', async () => {
    const party = await registerParty(ledger.admin, 'COOPERATIVE', 'Bakery');
    const cu = await registerParty(ledger.admin, 'CREDIT_UNION', 'Union');
    await createCurrency(ledger.admin, 'MKE', 'MONEY', 2, cu);
    const dollars = await openAccount(ledger.admin, party, 'MKE');
    const frozen = await newMember(ledger.admin, 'Frozen');
    await ledger.admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id) { id } }', { id: frozen.accountId });
    const before = await snapshot(ledger.admin);
    const ana$ = ledger.client(ana.key);
    expect(codeOf(await createHold(ana$, { from: ana.accountId, to: ana.accountId, amount: '1', key: key() }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await createHold(ana$, { from: ana.accountId, to: dollars, amount: '1', key: key() }))).toBe('CURRENCY_MISMATCH');
    expect(
      codeOf(
        await createHold(ana$, { from: ana.accountId, to: ben.accountId, amount: '1', key: key(), expiresAt: '2001-01-01T00:00:00Z' }),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(codeOf(await createHold(ana$, { from: ana.accountId, to: frozen.accountId, amount: '1', key: key() }))).toBe('ACCOUNT_FROZEN');
    expect(codeOf(await createHold(ana$, { from: ana.accountId, to: ben.accountId, amount: '-1', key: key() }))).toBe('INVALID_AMOUNT');
    expect(codeOf(await createHold(ana$, { from: ana.accountId, to: ben.accountId, amount: '1.001', key: key() }))).toBe('INVALID_AMOUNT');
    expect(codeOf(await captureHold(ana$, '00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
    expect(codeOf(await voidHold(ana$, 'not-an-id'))).toBe('VALIDATION_FAILED');
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('is idempotent: the same key and input returns the same hold, even sent at the same moment; other input is IDEMPOTENCY_CONFLICT', async () => {
    const args = { from: ana.accountId, to: ben.accountId, amount: '0.50', key: 'same-hold-key' };
    const results = await Promise.all(Array.from({ length: 5 }, () => createHold(ledger.client(ana.key), args)));
    const ids = new Set(results.map((r) => dataOf(r).createHold.id));
    expect(ids.size).toBe(1);
    expect((await balances(ledger.admin, ben.accountId)).pendingCredits).toBe('0.50');
    // "0.5" is the same amount written differently: the same request.
    expect(dataOf(await createHold(ledger.client(ana.key), { ...args, amount: '0.5' })).createHold.id).toBe([...ids][0]);
    const before = await snapshot(ledger.admin);
    expect(codeOf(await createHold(ledger.client(ana.key), { ...args, amount: '0.8' }))).toBe('IDEMPOTENCY_CONFLICT');
    expect(await snapshot(ledger.admin)).toBe(before);
    dataOf(await voidHold(ledger.client(ana.key), [...ids][0] as string));
  });

  it('lets concurrent holds against one limit succeed only as far as the limit reaches', async () => {
    const dora = await newMember(ledger.admin, 'Dora', { creditLimit: '10' });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        createHold(ledger.client(dora.key), { from: dora.accountId, to: ana.accountId, amount: '3', key: `race-${i}` }),
      ),
    );
    const ok = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    expect(ok).toHaveLength(3);
    expect(new Set(refused.map((r) => codeOf(r)))).toEqual(new Set(['INSUFFICIENT_FUNDS']));
    expect(await balances(ledger.admin, dora.accountId)).toMatchObject({ pendingDebits: '9.00', available: '-9.00' });
  });

  it('lists an account’s holds as payer and payee, filtered by status, in keyset pages', async () => {
    const eli = await newMember(ledger.admin, 'Eli');
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      made.push(
        dataOf(await createHold(ledger.client(eli.key), { from: eli.accountId, to: ana.accountId, amount: '1', key: key() })).createHold.id,
      );
    }
    made.push(
      dataOf(await createHold(ledger.client(ben.key), { from: ben.accountId, to: eli.accountId, amount: '1', key: key() })).createHold.id,
    );
    dataOf(await voidHold(ledger.client(eli.key), made[1] as string));
    const query = `query($id: ID!, $status: HoldStatus, $after: String) {
      holds(accountId: $id, status: $status, first: 2, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
    const first = (await ledger.client(eli.key).ok(query, { id: eli.accountId })).holds;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await ledger.client(eli.key).ok(query, { id: eli.accountId, after: first.pageInfo.endCursor })).holds;
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges].map((e: { node: { id: string } }) => e.node.id)).toEqual(made);
    const pending = (await ledger.client(eli.key).ok(query, { id: eli.accountId, status: 'PENDING' })).holds;
    const pendingIds = [
      ...pending.edges,
      ...(await ledger.client(eli.key).ok(query, { id: eli.accountId, status: 'PENDING', after: pending.pageInfo.endCursor })).holds.edges,
    ].map((e: { node: { id: string } }) => e.node.id);
    expect(pendingIds).toEqual([made[0], made[2], made[3]]);
    const voided = (await ledger.client(eli.key).ok(query, { id: eli.accountId, status: 'VOIDED' })).holds;
    expect(voided.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([made[1]]);
    // Another member may not list Eli's holds.
    const refused = await ledger.client(ana.key).request(query, { id: eli.accountId });
    expect(codeOf(refused)).toBe('FORBIDDEN');
  });

  it('keeps the hash chain and every balance consistent (verifyLedger)', async () => {
    const report = await verifyLedger(ledger.admin);
    expect(report.firstProblem).toBeNull();
    expect(report.ok).toBe(true);
  });
});
