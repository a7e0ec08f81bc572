import { balances, createCurrency, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { balanceAt, decimal, issuanceAccount, minor, pay, post, trialBalance } from './helpers';

describe('trial balance', () => {
  let ledger: TestLedger;
  let members: string[];
  let issuance: string;
  let savers: string[];

  beforeAll(async () => {
    ledger = await startLedger();
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    const creditUnion = await registerParty(ledger.admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await createCurrency(ledger.admin, 'MKE', 'MONEY', 2, creditUnion);
    issuance = await issuanceAccount(ledger.admin, creditUnion, 'MKE');
    members = [];
    savers = [];
    for (let i = 0; i < 6; i++) {
      const party = await registerParty(ledger.admin, 'MEMBER', `Member ${i}`);
      members.push(await openAccount(ledger.admin, party, 'HOUR', '100'));
      savers.push(await openAccount(ledger.admin, party, 'MKE'));
    }
  });
  afterAll(async () => ledger.stop());

  it('lists every account of a time currency with its balance, and the total is zero', async () => {
    for (let i = 0; i < 12; i++) await pay(ledger.admin, members[i % 6]!, members[(i * 5 + 1) % 6]!, `${(i % 4) + 1}.25`);
    const tb = await trialBalance(ledger.admin, 'HOUR');
    expect(tb.total).toBe('0.00');
    expect(tb.lines.map((l) => l.account.id).sort()).toEqual([...members].sort());
    for (const line of tb.lines) expect(line.balance).toBe((await balances(ledger.admin, line.account.id)).posted);
    expect(tb.lines.some((l) => l.balance !== '0.00')).toBe(true);
  });

  it('for a local dollar the issuance account carries minus the money in circulation, and the total is zero', async () => {
    for (const [i, saver] of savers.entries()) {
      await post(ledger.admin, 'DEPOSIT', [
        { accountId: issuance, amount: `-${100 + i}.10` },
        { accountId: saver, amount: `${100 + i}.10` },
      ]);
    }
    await pay(ledger.admin, savers[0]!, savers[1]!, '20.05');
    await post(ledger.admin, 'WITHDRAWAL', [
      { accountId: savers[2]!, amount: '-50.00' },
      { accountId: issuance, amount: '50.00' },
    ]);
    const tb = await trialBalance(ledger.admin, 'MKE');
    expect(tb.total).toBe('0.00');
    expect(tb.lines).toHaveLength(7);
    const circulation = tb.lines.filter((l) => l.account.id !== issuance).reduce((s, l) => s + minor(l.balance, 2), 0n);
    expect(tb.lines.find((l) => l.account.id === issuance)?.balance).toBe(decimal(-circulation, 2));
  });

  it("as of now stands at the last transaction's posting time, to the microsecond", async () => {
    const last = await post(ledger.admin, 'TRANSFER', [
      { accountId: members[1]!, amount: '-0.25' },
      { accountId: members[2]!, amount: '0.25' },
    ]);
    const tb = await trialBalance(ledger.admin, 'HOUR');
    expect(tb.asOf).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(tb.asOf).toBe(last.postedAt);
  });

  it('as of a past instant gives each balance of that instant, leaves out accounts opened later, and still totals zero', async () => {
    const before = await trialBalance(ledger.admin, 'HOUR');
    const asOf = before.asOf;
    await new Promise((r) => setTimeout(r, 5));
    const late = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Latecomer'), 'HOUR');
    await pay(ledger.admin, members[0]!, late, '3.00');
    await pay(ledger.admin, members[3]!, members[4]!, '1.00');

    const past = await trialBalance(ledger.admin, 'HOUR', asOf);
    expect(past.asOf).toBe(asOf);
    expect(past.total).toBe('0.00');
    expect(past.lines).toEqual(before.lines);
    for (const line of past.lines) expect(await balanceAt(ledger.admin, line.account.id, asOf)).toBe(line.balance);

    const now = await trialBalance(ledger.admin, 'HOUR');
    expect(now.total).toBe('0.00');
    expect(now.lines.find((l) => l.account.id === late)?.balance).toBe('3.00');
    // The same instant asked again gives the same lines.
    expect((await trialBalance(ledger.admin, 'HOUR', now.asOf)).lines).toEqual(now.lines);
    expect((await trialBalance(ledger.admin, 'HOUR', '2001-01-01T00:00:00Z')).lines).toEqual([]);
  });

  it('stays exact over many accounts and many small transfers', async () => {
    const crowd: string[] = [];
    for (let i = 0; i < 40; i++)
      crowd.push(await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', `Crowd ${i}`), 'HOUR'));
    await Promise.all(crowd.map((account, i) => pay(ledger.admin, account, crowd[(i + 7) % crowd.length]!, `0.0${(i % 9) + 1}`)));
    const tb = await trialBalance(ledger.admin, 'HOUR');
    expect(tb.total).toBe('0.00');
    expect(tb.lines.length).toBe(members.length + 1 + crowd.length);
  });

  it('lists an account whose postings net to zero and leaves out one without postings, now and as of now', async () => {
    await createCurrency(ledger.admin, 'EVEN', 'TIME', 2);
    const [back, forth, idle] = [
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Back'), 'EVEN', '10'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Forth'), 'EVEN', '10'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Idle'), 'EVEN', '10'),
    ];
    await pay(ledger.admin, back, forth, '2.50');
    await pay(ledger.admin, forth, back, '2.50');
    const now = await trialBalance(ledger.admin, 'EVEN');
    expect(now.lines.map((l) => l.account.id).sort()).toEqual([back, forth].sort());
    expect(now.lines.map((l) => l.balance)).toEqual(['0.00', '0.00']);
    expect(now.lines.some((l) => l.account.id === idle)).toBe(false);
    expect((await trialBalance(ledger.admin, 'EVEN', now.asOf)).lines).toEqual(now.lines);
  });

  it("gives each line's account as the account query reads it: status, bounds, holds pending and holds past their expiry", async () => {
    await createCurrency(ledger.admin, 'HELD', 'TIME', 2);
    const [payer, payee, lapsing, frozen] = [
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Payer'), 'HELD', '10'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Payee'), 'HELD', '10'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Lapsing'), 'HELD', '10'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Frozen'), 'HELD', '10'),
    ];
    for (const account of [payer, lapsing, frozen]) await pay(ledger.admin, account, payee, '1.00');
    await ledger.admin.ok(
      'mutation($f: ID!, $t: ID!) { createHold(from: $f, to: $t, amount: "2.50", idempotencyKey: "tb-held-1") { id } }',
      { f: payer, t: payee },
    );
    const expiresAt = new Date(Date.now() + 1_000).toISOString();
    await ledger.admin.ok(
      'mutation($f: ID!, $t: ID!, $at: DateTime) { createHold(from: $f, to: $t, amount: "3.00", expiresAt: $at, idempotencyKey: "tb-held-2") { id } }',
      { f: lapsing, t: payee, at: expiresAt },
    );
    await ledger.admin.ok('mutation($a: ID!) { freezeAccount(accountId: $a, reason: "audit") { id } }', { a: frozen });
    const fields = 'id status unlimited creditLimit maxBalance posted pendingDebits pendingCredits available';
    const accountOf = async (id: string) =>
      (await ledger.admin.ok<{ account: Record<string, unknown> }>(`query($id: ID!) { account(id: $id) { ${fields} } }`, { id })).account;
    // Wait until the lapsing hold's expiry has passed (reads leave it out from then on, swept or not).
    const deadline = Date.now() + 20_000;
    while ((await accountOf(lapsing)).pendingDebits !== '0.00') {
      if (Date.now() > deadline) throw new Error('the hold never lapsed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tb = await ledger.admin.ok<{ trialBalance: { lines: { account: Record<string, unknown> }[] } }>(
      `{ trialBalance(currency: "HELD") { lines { account { ${fields} } } } }`,
    );
    const lines = tb.trialBalance.lines.map((l) => l.account);
    expect(lines.map((a) => a.id).sort()).toEqual([payer, payee, lapsing, frozen].sort());
    for (const account of lines) expect(account).toEqual(await accountOf(account.id as string));
    const byId = new Map(lines.map((a) => [a.id, a]));
    expect(byId.get(payer)).toMatchObject({ pendingDebits: '2.50', available: '-3.50', creditLimit: '10.00' });
    expect(byId.get(payee)).toMatchObject({ pendingCredits: '2.50', posted: '3.00' });
    expect(byId.get(lapsing)).toMatchObject({ pendingDebits: '0.00', posted: '-1.00' });
    expect(byId.get(frozen)).toMatchObject({ status: 'FROZEN' });
  });

  it('refuses an unknown currency', async () => {
    expect(await ledger.admin.code('{ trialBalance(currency: "NOPE") { total } }')).toBe('NOT_FOUND');
  });
});
