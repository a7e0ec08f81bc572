import {
  balances,
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  snapshot,
  startLedger,
  verifyLedger,
  type TestLedger,
} from '../support/ledger';
import {
  addMember,
  captureHold,
  codeOf,
  confirmExchange,
  dataOf,
  disputeExchange,
  minor,
  newMember,
  recordExchange,
  setUpHours,
  voidHold,
  type Member,
} from './helpers';

describe('time bank exchanges', () => {
  let ledger: TestLedger;
  let ana: Member; // usually the receiver
  let ben: Member; // usually the provider
  let cara: Member; // a member with no part in most exchanges
  let community: Member; // the time bank itself, with a TREASURER key: a coordinator of its members
  let otherTreasurer: string; // treasurer of a co-op Ana and Ben do not belong to
  let auditorKey: string;
  let n = 0;
  const key = () => `exchange-${++n}`;

  beforeAll(async () => {
    ledger = await startLedger();
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '100' });
    ben = await newMember(ledger.admin, 'Ben');
    cara = await newMember(ledger.admin, 'Cara');
    community = await newMember(ledger.admin, 'Riverside Time Bank', { kind: 'COMMUNITY', role: 'TREASURER', creditLimit: '1000' });
    await addMember(ledger.admin, community.partyId, ana.partyId);
    await addMember(ledger.admin, community.partyId, ben.partyId);
    const coop = await registerParty(ledger.admin, 'COOPERATIVE', 'Other Co-op');
    otherTreasurer = await createKey(ledger.admin, 'TREASURER', coop);
    auditorKey = await createKey(ledger.admin, 'AUDITOR');
  });
  afterAll(async () => ledger.stop());

  async function pendingFromBen(hours: string): Promise<{ id: string; hold: { id: string } }> {
    return dataOf(await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: ana.accountId, hours, key: key() }))
      .recordExchange;
  }

  it('recorded by the receiver, posts at once as one EXCHANGE transaction (receiver -N, provider +N), CONFIRMED', async () => {
    const anaBefore = await balances(ledger.admin, ana.accountId);
    const benBefore = await balances(ledger.admin, ben.accountId);
    const exchange = dataOf(
      await recordExchange(ledger.client(ana.key), {
        provider: ben.accountId,
        receiver: ana.accountId,
        hours: '1.5',
        description: 'fixed my bike',
        key: key(),
      }),
    ).recordExchange;
    expect(exchange).toMatchObject({ hours: '1.50', description: 'fixed my bike', status: 'CONFIRMED', hold: null, disputeReason: null });
    expect(exchange.transaction.kind).toBe('EXCHANGE');
    expect(exchange.transaction.memo).toBe('fixed my bike');
    expect(exchange.transaction.postings).toEqual([
      { amount: '-1.50', account: { id: ana.accountId } },
      { amount: '1.50', account: { id: ben.accountId } },
    ]);
    expect(minor((await balances(ledger.admin, ana.accountId)).posted) - minor(anaBefore.posted)).toBe(-150n);
    expect(minor((await balances(ledger.admin, ben.accountId)).posted) - minor(benBefore.posted)).toBe(150n);
  });

  it('recorded by a coordinator of the receiver (an admin, or the treasurer of its time bank), posts at once', async () => {
    const byAdmin = dataOf(
      await recordExchange(ledger.admin, { provider: ben.accountId, receiver: ana.accountId, hours: '1', key: key() }),
    ).recordExchange;
    expect(byAdmin.status).toBe('CONFIRMED');
    const byTreasurer = dataOf(
      await recordExchange(ledger.client(community.key), { provider: ana.accountId, receiver: ben.accountId, hours: '1', key: key() }),
    ).recordExchange;
    expect(byTreasurer.status).toBe('CONFIRMED');
    expect(byTreasurer.transaction.postings[0]).toEqual({ amount: '-1.00', account: { id: ben.accountId } });
  });

  it('recorded by the provider, holds the hours on the receiver’s account: PENDING and nothing posted', async () => {
    const anaBefore = await balances(ledger.admin, ana.accountId);
    const benBefore = await balances(ledger.admin, ben.accountId);
    const exchange = dataOf(
      await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: ana.accountId, hours: '2', key: key() }),
    ).recordExchange;
    expect(exchange).toMatchObject({ status: 'PENDING', transaction: null, hold: { status: 'PENDING', amount: '2.00' } });
    const anaAfter = await balances(ledger.admin, ana.accountId);
    const benAfter = await balances(ledger.admin, ben.accountId);
    expect(anaAfter.posted).toBe(anaBefore.posted);
    expect(minor(anaAfter.pendingDebits) - minor(anaBefore.pendingDebits)).toBe(200n);
    expect(minor(anaAfter.available) - minor(anaBefore.available)).toBe(-200n);
    expect(benAfter.posted).toBe(benBefore.posted);
    expect(minor(benAfter.pendingCredits) - minor(benBefore.pendingCredits)).toBe(200n);
  });

  it('the receiver confirms: the hold is captured and the hours move as one EXCHANGE transaction', async () => {
    const pending = await pendingFromBen('0.75');
    const anaBefore = await balances(ledger.admin, ana.accountId);
    const confirmed = dataOf(await confirmExchange(ledger.client(ana.key), pending.id)).confirmExchange;
    expect(confirmed).toMatchObject({ status: 'CONFIRMED', hold: { status: 'CAPTURED' } });
    expect(confirmed.transaction.kind).toBe('EXCHANGE');
    expect(confirmed.transaction.postings).toEqual([
      { amount: '-0.75', account: { id: ana.accountId } },
      { amount: '0.75', account: { id: ben.accountId } },
    ]);
    const anaAfter = await balances(ledger.admin, ana.accountId);
    expect(minor(anaAfter.posted) - minor(anaBefore.posted)).toBe(-75n);
    expect(minor(anaAfter.pendingDebits) - minor(anaBefore.pendingDebits)).toBe(-75n);
  });

  it('refuses the provider confirming or disputing its own exchange (FORBIDDEN), changing nothing', async () => {
    const pending = await pendingFromBen('1');
    const before = await snapshot(ledger.admin);
    expect(codeOf(await confirmExchange(ledger.client(ben.key), pending.id))).toBe('FORBIDDEN');
    expect(codeOf(await disputeExchange(ledger.client(ben.key), pending.id, 'changed my mind'))).toBe('FORBIDDEN');
    expect(await snapshot(ledger.admin)).toBe(before);
    expect((await ledger.admin.ok('query($id: ID!) { exchange(id: $id) { status } }', { id: pending.id })).exchange.status).toBe('PENDING');
  });

  it('refuses any other member, an unrelated treasurer and an auditor confirming or disputing (FORBIDDEN), changing nothing', async () => {
    const pending = await pendingFromBen('1');
    const before = await snapshot(ledger.admin);
    for (const outsider of [cara.key, otherTreasurer, auditorKey]) {
      expect(codeOf(await confirmExchange(ledger.client(outsider), pending.id))).toBe('FORBIDDEN');
      expect(codeOf(await disputeExchange(ledger.client(outsider), pending.id, 'not mine'))).toBe('FORBIDDEN');
    }
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('lets a coordinator confirm for the receiver', async () => {
    const byTreasurer = await pendingFromBen('0.5');
    expect(dataOf(await confirmExchange(ledger.client(community.key), byTreasurer.id)).confirmExchange.status).toBe('CONFIRMED');
    const byAdmin = await pendingFromBen('0.5');
    expect(dataOf(await confirmExchange(ledger.admin, byAdmin.id)).confirmExchange.status).toBe('CONFIRMED');
  });

  it('a dispute voids the hold: DISPUTED, the reason kept, the reservation released and nothing posted', async () => {
    const pending = await pendingFromBen('3');
    const anaBefore = await balances(ledger.admin, ana.accountId);
    const transactionsBefore = (await ledger.admin.ok('{ transactions(first: 500) { edges { node { id } } } }')).transactions.edges.length;
    const disputed = dataOf(await disputeExchange(ledger.client(ana.key), pending.id, '  I was away that day  ')).disputeExchange;
    expect(disputed).toMatchObject({
      status: 'DISPUTED',
      disputeReason: 'I was away that day',
      transaction: null,
      hold: { status: 'VOIDED' },
    });
    const anaAfter = await balances(ledger.admin, ana.accountId);
    expect(anaAfter.posted).toBe(anaBefore.posted);
    expect(minor(anaAfter.pendingDebits) - minor(anaBefore.pendingDebits)).toBe(-300n);
    expect((await ledger.admin.ok('{ transactions(first: 500) { edges { node { id } } } }')).transactions.edges.length).toBe(
      transactionsBefore,
    );
  });

  it('refuses confirming or disputing an exchange that is not pending with HOLD_NOT_PENDING, changing nothing', async () => {
    const atOnce = dataOf(
      await recordExchange(ledger.client(ana.key), { provider: ben.accountId, receiver: ana.accountId, hours: '0.25', key: key() }),
    ).recordExchange;
    const confirmed = await pendingFromBen('0.25');
    dataOf(await confirmExchange(ledger.client(ana.key), confirmed.id));
    const disputed = await pendingFromBen('0.25');
    dataOf(await disputeExchange(ledger.client(ana.key), disputed.id, 'no'));
    const before = await snapshot(ledger.admin);
    for (const id of [atOnce.id, confirmed.id, disputed.id]) {
      expect(codeOf(await confirmExchange(ledger.client(ana.key), id))).toBe('HOLD_NOT_PENDING');
      expect(codeOf(await disputeExchange(ledger.client(ana.key), id, 'again'))).toBe('HOLD_NOT_PENDING');
    }
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('settles an exchange’s hold only through the exchange: captureHold and voidHold on it are VALIDATION_FAILED', async () => {
    const pending = await pendingFromBen('1');
    const before = await snapshot(ledger.admin);
    expect(codeOf(await captureHold(ledger.client(ana.key), pending.hold.id))).toBe('VALIDATION_FAILED');
    expect(codeOf(await voidHold(ledger.client(ana.key), pending.hold.id))).toBe('VALIDATION_FAILED');
    expect(codeOf(await voidHold(ledger.admin, pending.hold.id))).toBe('VALIDATION_FAILED');
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('refuses recording by whoever is neither provider, receiver nor a coordinator of the receiver (FORBIDDEN)', async () => {
    const before = await snapshot(ledger.admin);
    for (const outsider of [cara.key, otherTreasurer, auditorKey]) {
      expect(
        codeOf(await recordExchange(ledger.client(outsider), { provider: ben.accountId, receiver: ana.accountId, hours: '1', key: key() })),
      ).toBe('FORBIDDEN');
    }
    expect(
      codeOf(await recordExchange(ledger.client(), { provider: ben.accountId, receiver: ana.accountId, hours: '1', key: key() })),
    ).toBe('UNAUTHENTICATED');
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('counts a pending exchange against the receiver’s credit limit', async () => {
    const dan = await newMember(ledger.admin, 'Dan', { creditLimit: '2' });
    const before = await snapshot(ledger.admin);
    const refused = await recordExchange(ledger.client(ben.key), {
      provider: ben.accountId,
      receiver: dan.accountId,
      hours: '2.5',
      key: key(),
    });
    expect(codeOf(refused)).toBe('INSUFFICIENT_FUNDS');
    expect(await snapshot(ledger.admin)).toBe(before);
    dataOf(await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: dan.accountId, hours: '2', key: key() }));
    const payment = await recordExchange(ledger.client(dan.key), {
      provider: cara.accountId,
      receiver: dan.accountId,
      hours: '0.01',
      key: key(),
    });
    expect(codeOf(payment)).toBe('INSUFFICIENT_FUNDS');
  });

  it('refuses malformed exchanges: one party on both sides, money, mixed currencies, zero hours, no description', async () => {
    const cu = await registerParty(ledger.admin, 'CREDIT_UNION', 'Union');
    await createCurrency(ledger.admin, 'MKE', 'MONEY', 2, cu);
    await createCurrency(ledger.admin, 'HOUR2', 'TIME', 2);
    const anaDollars = await openAccount(ledger.admin, ana.partyId, 'MKE');
    const benDollars = await openAccount(ledger.admin, ben.partyId, 'MKE');
    const benOtherHours = await openAccount(ledger.admin, ben.partyId, 'HOUR2');
    const anaSecondHours = await openAccount(ledger.admin, ana.partyId, 'HOUR2');
    const before = await snapshot(ledger.admin);
    const as = ledger.client(ana.key);
    const cases: [Parameters<typeof recordExchange>[1], string][] = [
      [{ provider: anaSecondHours, receiver: ana.accountId, hours: '1', key: key() }, 'VALIDATION_FAILED'],
      [{ provider: ben.accountId, receiver: ana.accountId, hours: '1', key: key(), description: '   ' }, 'VALIDATION_FAILED'],
      [{ provider: benDollars, receiver: anaDollars, hours: '1', key: key() }, 'VALIDATION_FAILED'],
      [{ provider: benOtherHours, receiver: ana.accountId, hours: '1', key: key() }, 'CURRENCY_MISMATCH'],
      [{ provider: ben.accountId, receiver: ana.accountId, hours: '0', key: key() }, 'INVALID_AMOUNT'],
      [{ provider: ben.accountId, receiver: ana.accountId, hours: '1.005', key: key() }, 'INVALID_AMOUNT'],
      [{ provider: ben.accountId, receiver: '00000000-0000-4000-8000-000000000000', hours: '1', key: key() }, 'NOT_FOUND'],
      [{ provider: ben.accountId, receiver: ana.accountId, hours: '1', key: '' }, 'VALIDATION_FAILED'],
    ];
    for (const [args, code] of cases) expect([args, codeOf(await recordExchange(as, args))]).toEqual([args, code]);
    expect(await snapshot(ledger.admin)).toBe(before);
  });

  it('is idempotent on both paths, also for requests sent at the same moment; other input under the same key is IDEMPOTENCY_CONFLICT', async () => {
    for (const [recorder, tag] of [
      [ana.key, 'receiver'],
      [ben.key, 'provider'],
    ] as const) {
      const args = { provider: ben.accountId, receiver: ana.accountId, hours: '0.55', key: `same-${tag}` };
      const results = await Promise.all(Array.from({ length: 4 }, () => recordExchange(ledger.client(recorder), args)));
      const ids = new Set(results.map((r) => dataOf(r).recordExchange.id));
      expect(ids.size).toBe(1);
      const again = dataOf(await recordExchange(ledger.client(recorder), args)).recordExchange;
      expect(again.id).toBe([...ids][0]);
      const before = await snapshot(ledger.admin);
      expect(codeOf(await recordExchange(ledger.client(recorder), { ...args, hours: '0.6' }))).toBe('IDEMPOTENCY_CONFLICT');
      expect(await snapshot(ledger.admin)).toBe(before);
    }
    const count = await ledger.admin.ok(
      `query($id: ID!) { exchanges(accountId: $id, first: 500) { edges { node { description hours } } } }`,
      { id: ana.accountId },
    );
    expect(count.exchanges.edges.filter((e: { node: { hours: string } }) => e.node.hours === '0.55').length).toBe(2);
  });

  it('settles a pending exchange once when confirm and dispute race: the other gets HOLD_NOT_PENDING', async () => {
    for (let round = 0; round < 5; round++) {
      const pending = await pendingFromBen('0.1');
      const [confirm, dispute] = await Promise.all([
        confirmExchange(ledger.client(ana.key), pending.id),
        disputeExchange(ledger.admin, pending.id, 'race'),
      ]);
      const winners = [confirm, dispute].filter((r) => !r.errors);
      const losers = [confirm, dispute].filter((r) => r.errors);
      expect(winners).toHaveLength(1);
      expect(losers.map((r) => codeOf(r))).toEqual(['HOLD_NOT_PENDING']);
      const final = (
        await ledger.admin.ok('query($id: ID!) { exchange(id: $id) { status hold { status } transaction { id } } }', { id: pending.id })
      ).exchange;
      expect(final.status === 'CONFIRMED' ? ['CAPTURED', true] : ['VOIDED', false]).toEqual([
        final.hold.status,
        final.transaction !== null,
      ]);
    }
  });

  it('lists an account’s exchanges by status; provider and receiver read them, other members may not', async () => {
    const eve = await newMember(ledger.admin, 'Eve');
    const first = dataOf(
      await recordExchange(ledger.client(eve.key), { provider: eve.accountId, receiver: cara.accountId, hours: '1', key: key() }),
    ).recordExchange;
    const second = dataOf(
      await recordExchange(ledger.client(eve.key), { provider: ben.accountId, receiver: eve.accountId, hours: '1', key: key() }),
    ).recordExchange;
    const list = `query($id: ID!, $status: ExchangeStatus, $after: String) {
      exchanges(accountId: $id, status: $status, first: 1, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
    const page1 = (await ledger.client(eve.key).ok(list, { id: eve.accountId })).exchanges;
    const page2 = (await ledger.client(eve.key).ok(list, { id: eve.accountId, after: page1.pageInfo.endCursor })).exchanges;
    expect([page1.pageInfo.hasNextPage, page2.pageInfo.hasNextPage]).toEqual([true, false]);
    expect([...page1.edges, ...page2.edges].map((e: { node: { id: string } }) => e.node.id)).toEqual([first.id, second.id]);
    expect((await ledger.client(eve.key).ok(list, { id: eve.accountId, status: 'PENDING' })).exchanges.edges).toEqual([
      { node: { id: first.id, status: 'PENDING' } },
    ]);
    const read = 'query($id: ID!) { exchange(id: $id) { id } }';
    expect((await ledger.client(cara.key).ok(read, { id: first.id })).exchange.id).toBe(first.id);
    expect(codeOf(await ledger.client(ana.key).request(read, { id: first.id }))).toBe('FORBIDDEN');
    expect(codeOf(await ledger.client(ana.key).request(list, { id: eve.accountId }))).toBe('FORBIDDEN');
  });

  it('keeps the hash chain and every balance consistent (verifyLedger)', async () => {
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
