import { createCurrency, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { balanceAt, minor, pay } from './helpers';

interface Entry {
  amount: string;
  balance: string;
  postedAt: string;
  transaction: { id: string; sequence: string; postedAt: string };
}

interface StatementPage {
  openingBalance: string;
  closingBalance: string;
  entries: { edges: { node: Entry; cursor: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const STATEMENT = `query($id: ID!, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  statement(accountId: $id, from: $from, to: $to, first: $first, after: $after) {
    account { id }
    openingBalance closingBalance
    entries { edges { cursor node { amount balance postedAt transaction { id sequence postedAt } } } pageInfo { hasNextPage endCursor } }
  }
}`;

describe('statements and point-in-time balances', () => {
  let ledger: TestLedger;
  let ana: string;
  let ben: string;
  let cleo: string;

  beforeAll(async () => {
    ledger = await startLedger();
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    ana = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Ana'), 'HOUR', '1000');
    ben = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Ben'), 'HOUR', '1000');
    cleo = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Cleo'), 'HOUR', '1000');
  });
  afterAll(async () => ledger.stop());

  async function statementPage(vars: Record<string, unknown>): Promise<StatementPage> {
    const data = await ledger.admin.ok<{ statement: StatementPage }>(STATEMENT, vars);
    return data.statement;
  }

  /** Reads every page of a statement, calling `between` after each page. */
  async function allPages(vars: Record<string, unknown>, between: () => Promise<void> = () => Promise.resolve()) {
    const pages: StatementPage[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await statementPage({ ...vars, after });
      pages.push(page);
      await between();
      if (!page.entries.pageInfo.hasNextPage) break;
      after = page.entries.pageInfo.endCursor;
    }
    return pages;
  }

  it('balanceAt is zero before any history, the balance between two transactions, and the current balance now', async () => {
    const beforeAnything = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    expect(await balanceAt(ledger.admin, ana, beforeAnything)).toBe('0.00');
    expect(await balanceAt(ledger.admin, ana, '2000-01-01T00:00:00Z')).toBe('0.00');

    await pay(ledger.admin, ana, ben, '2.50');
    const first = await statementPage({ id: ana, first: 10 });
    const firstPostedAt = first.entries.edges[0]!.node.postedAt;
    await new Promise((r) => setTimeout(r, 5));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await pay(ledger.admin, ben, ana, '1.25');

    expect(await balanceAt(ledger.admin, ana, firstPostedAt)).toBe('-2.50');
    expect(await balanceAt(ledger.admin, ana, between)).toBe('-2.50');
    expect(await balanceAt(ledger.admin, ben, between)).toBe('2.50');
    expect(await balanceAt(ledger.admin, ana, new Date(Date.now() + 1000).toISOString())).toBe('-1.25');
    expect(await balanceAt(ledger.admin, cleo, new Date().toISOString())).toBe('0.00');
  });

  it("gives each entry's posting time as its transaction's, to the microsecond", async () => {
    // Entries' times are written by the database as text (migration 0031), transactions' are read
    // as timestamps and printed by the service: both must be the same instant, printed alike.
    for (let i = 0; i < 3; i++) await pay(ledger.admin, ben, cleo, '0.01');
    const page = await statementPage({ id: cleo, first: 50 });
    expect(page.entries.edges.length).toBeGreaterThanOrEqual(3);
    for (const { node } of page.entries.edges) {
      expect(node.postedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(node.postedAt).toBe(node.transaction.postedAt);
    }
  });

  it('pages a statement while transfers keep arriving: no entry lost or repeated, opening plus entries equals closing', async () => {
    for (let i = 0; i < 7; i++) await pay(ledger.admin, i % 2 ? ana : cleo, i % 2 ? cleo : ana, `${i + 1}.00`);
    const fresh = (await statementPage({ id: ana, first: 500 })).entries.edges.map((e) => e.node);

    // Transfers arrive both from a concurrent writer and between every two pages.
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) await pay(ledger.admin, n % 2 ? ana : ben, n % 2 ? ben : ana, '0.10');
    })();
    const pages = await allPages({ id: ana, first: 3 }, async () => {
      await pay(ledger.admin, cleo, ana, '0.01');
      await pay(ledger.admin, ana, ben, '0.02');
    });
    writing = false;
    await writer;

    expect(pages.length).toBeGreaterThanOrEqual(3);
    const entries = pages.flatMap((p) => p.entries.edges.map((e) => e.node));
    // The statement is the one taken at its first page: exactly the entries there were then.
    expect(entries.slice(0, fresh.length)).toEqual(fresh);
    expect(entries.length).toBeGreaterThanOrEqual(fresh.length);
    const sequences = entries.map((e) => BigInt(e.transaction.sequence));
    sequences.slice(1).forEach((s, i) => expect(s).toBeGreaterThan(sequences[i]!));
    for (const page of pages) {
      expect(page.openingBalance).toBe(pages[0]!.openingBalance);
      expect(page.closingBalance).toBe(pages[0]!.closingBalance);
    }
    const opening = minor(pages[0]!.openingBalance, 2);
    const sum = entries.reduce((s, e) => s + minor(e.amount, 2), 0n);
    expect(opening + sum).toBe(minor(pages[0]!.closingBalance, 2));
    // Each running balance is the one before it plus the entry's amount.
    let running = opening;
    for (const e of entries) {
      running += minor(e.amount, 2);
      expect(minor(e.balance, 2)).toBe(running);
    }

    // A statement started afterwards sees the transfers that arrived meanwhile.
    const later = await allPages({ id: ana, first: 500 });
    const laterEntries = later.flatMap((p) => p.entries.edges.map((e) => e.node));
    expect(laterEntries.length).toBeGreaterThan(entries.length);
    expect(laterEntries.slice(0, entries.length)).toEqual(entries);
    const account = await ledger.admin.ok('query($id: ID!) { account(id: $id) { posted } }', { id: ana });
    expect(later[0]!.closingBalance).toBe(account.account.posted);
  });

  it('a statement over [from, to) opens with the balance before from and closes with the balance before to', async () => {
    const all = (await statementPage({ id: ana, first: 500 })).entries.edges.map((e) => e.node);
    expect(all.length).toBeGreaterThan(10);
    const from = all[3]!.postedAt;
    const to = all[9]!.postedAt;
    const expected = all.filter((e) => e.postedAt >= from && e.postedAt < to);
    const before = all.filter((e) => e.postedAt < from);
    const pages = await allPages({ id: ana, from, to, first: 2 });
    const entries = pages.flatMap((p) => p.entries.edges.map((e) => e.node));
    expect(entries).toEqual(expected);
    expect(pages[0]!.openingBalance).toBe(before.at(-1)?.balance ?? '0.00');
    expect(pages[0]!.closingBalance).toBe(expected.at(-1)?.balance ?? pages[0]!.openingBalance);
    expect(minor(pages[0]!.openingBalance, 2) + entries.reduce((s, e) => s + minor(e.amount, 2), 0n)).toBe(
      minor(pages[0]!.closingBalance, 2),
    );
    // balanceAt agrees with the running balance at each entry.
    const instant = all[5]!.postedAt;
    const last = all.filter((e) => e.postedAt <= instant).at(-1)!;
    expect(await balanceAt(ledger.admin, ana, instant)).toBe(last.balance);
  });

  it('a statement before any history is empty with zero balances, and one in the future carries the current balance', async () => {
    const past = await statementPage({ id: ana, from: '2001-01-01T00:00:00Z', to: '2001-02-01T00:00:00Z' });
    expect(past).toMatchObject({
      openingBalance: '0.00',
      closingBalance: '0.00',
      entries: { edges: [], pageInfo: { hasNextPage: false } },
    });
    const account = await ledger.admin.ok('query($id: ID!) { account(id: $id) { posted } }', { id: ana });
    const future = await statementPage({ id: ana, from: '2999-01-01T00:00:00Z' });
    expect(future).toMatchObject({
      openingBalance: account.account.posted,
      closingBalance: account.account.posted,
      entries: { edges: [] },
    });
  });

  it("gives the statement's account as the account query reads it: holds pending and lapsed, status, bounds", async () => {
    const [payer, lapsing] = [
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Dee'), 'HOUR', '50'),
      await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Eli'), 'HOUR', '50'),
    ];
    await pay(ledger.admin, payer, lapsing, '4.00');
    await ledger.admin.ok(
      'mutation($f: ID!, $t: ID!) { createHold(from: $f, to: $t, amount: "1.50", idempotencyKey: "st-held-1") { id } }',
      {
        f: payer,
        t: lapsing,
      },
    );
    await ledger.admin.ok(
      'mutation($f: ID!, $t: ID!, $at: DateTime) { createHold(from: $f, to: $t, amount: "2.00", expiresAt: $at, idempotencyKey: "st-held-2") { id } }',
      { f: lapsing, t: payer, at: new Date(Date.now() + 1_000).toISOString() },
    );
    await ledger.admin.ok('mutation($a: ID!) { freezeAccount(accountId: $a, reason: "review") { id } }', { a: payer });
    const fields = 'id status unlimited creditLimit maxBalance posted pendingDebits pendingCredits available';
    const accountOf = async (id: string) =>
      (await ledger.admin.ok<{ account: Record<string, unknown> }>(`query($id: ID!) { account(id: $id) { ${fields} } }`, { id })).account;
    const statementAccount = async (id: string) =>
      (
        await ledger.admin.ok<{ statement: { account: Record<string, unknown> } }>(
          `query($id: ID!) { statement(accountId: $id) { account { ${fields} } } }`,
          { id },
        )
      ).statement.account;
    // Wait until the lapsing hold's expiry has passed (reads leave it out from then on, swept or not).
    const deadline = Date.now() + 20_000;
    while ((await accountOf(lapsing)).pendingDebits !== '0.00') {
      if (Date.now() > deadline) throw new Error('the hold never lapsed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const id of [payer, lapsing]) expect(await statementAccount(id)).toEqual(await accountOf(id));
    expect(await statementAccount(payer)).toMatchObject({
      status: 'FROZEN',
      posted: '-4.00',
      pendingDebits: '1.50',
      pendingCredits: '0.00',
      creditLimit: '50.00',
    });
    expect(await statementAccount(lapsing)).toMatchObject({
      status: 'OPEN',
      posted: '4.00',
      pendingDebits: '0.00',
      pendingCredits: '1.50',
    });
  });

  it('refuses a period that ends before it starts, a forged cursor, and an unknown account', async () => {
    expect(await ledger.admin.code(STATEMENT, { id: ana, from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' })).toBe(
      'VALIDATION_FAILED',
    );
    expect(await ledger.admin.code(STATEMENT, { id: ana, after: 'bm90IGEgY3Vyc29y' })).toBe('VALIDATION_FAILED');
    const forged = Buffer.from(JSON.stringify(['9', '5', '3'])).toString('base64url');
    expect(await ledger.admin.code(STATEMENT, { id: ana, after: forged })).toBe('VALIDATION_FAILED');
    expect(await ledger.admin.code(STATEMENT, { id: '00000000-0000-4000-8000-000000000000' })).toBe('NOT_FOUND');
    expect(await ledger.admin.code(STATEMENT, { id: 'nope' })).toBe('VALIDATION_FAILED');
    expect(await ledger.admin.code(STATEMENT, { id: ana, first: 501 })).toBe('VALIDATION_FAILED');
    expect(
      await ledger.admin.code('query($id: ID!) { balanceAt(accountId: $id, asOf: "2024-01-01T00:00:00Z") }', {
        id: '00000000-0000-4000-8000-000000000000',
      }),
    ).toBe('NOT_FOUND');
  });
});
