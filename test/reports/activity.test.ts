import type { Client } from 'pg';
import { connect } from '../support/database';
import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { decimal, minor, pay, post } from './helpers';

interface Line {
  account: { id: string };
  credited: string;
  debited: string;
  transactions: number;
}
interface Report {
  totals: { transactions: number; activeAccounts: number; volume: string };
  lines: { edges: { node: Line; cursor: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const ACTIVITY = `query($c: String!, $from: DateTime!, $to: DateTime!, $first: Int, $after: String) {
  activity(currency: $c, from: $from, to: $to, first: $first, after: $after) {
    currency { code } from to
    totals { transactions activeAccounts volume }
    lines { edges { cursor node { account { id } credited debited transactions } } pageInfo { hasNextPage endCursor } }
  } }`;

/** Lines paged through `first` at a time, and the totals of the first page. */
async function readAll(
  client: GqlClient,
  currency: string,
  from: string,
  to: string,
  first = 2,
): Promise<{ totals: Report['totals']; lines: Line[] }> {
  const lines: Line[] = [];
  let after: string | null = null;
  let totals: Report['totals'] | undefined;
  for (let page = 0; page < 100; page++) {
    const data: { activity: Report } = await client.ok(ACTIVITY, { c: currency, from, to, first, after });
    totals ??= data.activity.totals;
    expect(data.activity.totals).toEqual(totals);
    lines.push(...data.activity.lines.edges.map((e) => e.node));
    if (!data.activity.lines.pageInfo.hasNextPage) return { totals, lines };
    after = data.activity.lines.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

describe('activity (SPEC B.5)', () => {
  let ledger: TestLedger;
  let db: Client;
  let people: { party: string; account: string; key: string }[];
  let pool: string;

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    const community = await registerParty(ledger.admin, 'COMMUNITY', 'Riverside Time Bank');
    pool = await openAccount(ledger.admin, community, 'HOUR', '1000');
    people = [];
    for (let i = 0; i < 5; i++) {
      const party = await registerParty(ledger.admin, 'MEMBER', `Member ${i}`);
      people.push({
        party,
        account: await openAccount(ledger.admin, party, 'HOUR', '50'),
        key: await createKey(ledger.admin, 'MEMBER', party),
      });
    }
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  /** What the postings table says for [from, to): the numbers the report must equal. */
  async function fromPostings(from: string, to: string, accountIds?: string[]) {
    const { rows } = await db.query<{ account_id: string; credited: string; debited: string; n: string }>(
      `SELECT p.account_id, coalesce(sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0)::text AS credited,
              coalesce(-sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0), 0)::text AS debited, count(DISTINCT p.transaction_id)::text AS n
         FROM postings p JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id
        WHERE t.posted_at >= $1 AND t.posted_at < $2 AND a.currency_code = 'HOUR' AND ($3::uuid[] IS NULL OR p.account_id = ANY($3))
        GROUP BY p.account_id ORDER BY p.account_id`,
      [from, to, accountIds ?? null],
    );
    const [tx] = (
      await db.query<{ n: string }>(
        `SELECT count(DISTINCT p.transaction_id)::text AS n FROM postings p JOIN transactions t ON t.id = p.transaction_id
          JOIN accounts a ON a.id = p.account_id
         WHERE t.posted_at >= $1 AND t.posted_at < $2 AND a.currency_code = 'HOUR' AND ($3::uuid[] IS NULL OR p.account_id = ANY($3))`,
        [from, to, accountIds ?? null],
      )
    ).rows;
    const volume = rows.reduce((sum, r) => sum + BigInt(r.credited), 0n);
    return {
      totals: { transactions: Number(tx?.n), activeAccounts: rows.length, volume: decimal(volume, 2) },
      lines: rows.map((r) => ({
        account: { id: r.account_id },
        credited: decimal(BigInt(r.credited), 2),
        debited: decimal(BigInt(r.debited), 2),
        transactions: Number(r.n),
      })),
    };
  }

  it('equals the sums of the postings over [from, to), reversals and the community pool included, across pages', async () => {
    const [a, b, c, d] = people.map((p) => p.account) as [string, string, string, string];
    await pay(ledger.admin, a, b, '1.00'); // before the period
    const first = await post(ledger.admin, 'ADJUSTMENT', [
      { accountId: pool, amount: '-5.00' },
      { accountId: c, amount: '5.00' },
    ]); // the pool's welcome grant opens the period
    await pay(ledger.admin, b, c, '2.25');
    const mistake = await post(ledger.admin, 'TRANSFER', [
      { accountId: c, amount: '-3.50' },
      { accountId: d, amount: '3.50' },
    ]);
    await ledger.admin.ok('mutation($id: ID!) { reverseTransaction(id: $id, reason: "wrong member", idempotencyKey: "act-rev") { id } }', {
      id: mistake.id,
    });
    await post(ledger.admin, 'DISTRIBUTION', [
      { accountId: d, amount: '-0.75' },
      { accountId: a, amount: '0.25' },
      { accountId: b, amount: '0.50' },
    ]);
    const after = await post(ledger.admin, 'TRANSFER', [
      { accountId: a, amount: '-9.00' },
      { accountId: d, amount: '9.00' },
    ]); // ends the period: excluded, [from, to) is half-open
    const from = first.postedAt;
    const to = after.postedAt;

    const expected = await fromPostings(from, to);
    const report = await readAll(ledger.admin, 'HOUR', from, to);
    expect(report.lines).toEqual(expected.lines);
    expect(report.totals).toEqual(expected.totals);
    // Hand-checked: 5 transactions; the reversal counts on both sides like any posting.
    expect(report.totals).toEqual({ transactions: 5, activeAccounts: 5, volume: '15.00' });
    const ofC = report.lines.find((l) => l.account.id === c);
    expect(ofC).toEqual({ account: { id: c }, credited: '10.75', debited: '3.50', transactions: 4 });
    const ofPool = report.lines.find((l) => l.account.id === pool);
    expect(ofPool).toEqual({ account: { id: pool }, credited: '0.00', debited: '5.00', transactions: 1 });
    // Sum of credited equals sum of debited over a whole currency: every transaction balances.
    const credited = report.lines.reduce((s, l) => s + minor(l.credited, 2), 0n);
    const debited = report.lines.reduce((s, l) => s + minor(l.debited, 2), 0n);
    expect(credited).toBe(debited);
  });

  it('shows a member only its own accounts, in lines and totals', async () => {
    const [ana, ben] = people as [(typeof people)[0], (typeof people)[0]];
    const from = '2000-01-01T00:00:00Z';
    const to = '2100-01-01T00:00:00Z';
    const own = await readAll(ledger.client(ana.key), 'HOUR', from, to);
    expect(own.lines.map((l) => l.account.id)).toEqual([ana.account]);
    expect(own).toEqual(await fromPostings(from, to, [ana.account]));
    const auditor = ledger.client(await createKey(ledger.admin, 'AUDITOR'));
    const all = await readAll(auditor, 'HOUR', from, to, 500);
    expect(all.lines.map((l) => l.account.id)).toEqual(expect.arrayContaining([ana.account, ben.account, pool]));
    expect(all).toEqual(await fromPostings(from, to));
  });

  it('continues the same report on later pages while new transactions arrive', async () => {
    const from = '2000-01-01T00:00:00Z';
    const to = '2100-01-01T00:00:00Z';
    const page1: { activity: Report } = await ledger.admin.ok(ACTIVITY, { c: 'HOUR', from, to, first: 2, after: null });
    const [a, b] = people.map((p) => p.account) as [string, string];
    await pay(ledger.admin, a, b, '0.10');
    const page2: { activity: Report } = await ledger.admin.ok(ACTIVITY, {
      c: 'HOUR',
      from,
      to,
      first: 2,
      after: page1.activity.lines.pageInfo.endCursor,
    });
    expect(page2.activity.totals).toEqual(page1.activity.totals);
    const fresh = await readAll(ledger.admin, 'HOUR', from, to, 500);
    expect(fresh.totals.transactions).toBe(page1.activity.totals.transactions + 1);
  });

  it('refuses an empty or inverted period, an unknown currency and a forged cursor with SPEC codes', async () => {
    const ask = (vars: Record<string, unknown>) =>
      ledger.admin.request(ACTIVITY, {
        c: 'HOUR',
        from: '2026-01-01T00:00:00Z',
        to: '2026-02-01T00:00:00Z',
        first: null,
        after: null,
        ...vars,
      });
    const code = async (vars: Record<string, unknown>) => (await ask(vars)).errors?.[0]?.extensions?.code;
    expect(await code({ to: '2026-01-01T00:00:00Z' })).toBe('VALIDATION_FAILED');
    expect(await code({ to: '2025-01-01T00:00:00Z' })).toBe('VALIDATION_FAILED');
    expect(await code({ c: 'NOPE' })).toBe('NOT_FOUND');
    expect(await code({ after: Buffer.from('["x","1","0"]').toString('base64url') })).toBe('VALIDATION_FAILED');
    expect(await code({ first: 501 })).toBe('VALIDATION_FAILED');
    const empty = (await ask({})).data?.activity;
    expect(empty?.totals).toEqual({ transactions: 0, activeAccounts: 0, volume: '0.00' });
  });

  it('reads one index range for a whole currency (no scan of the postings table)', async () => {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT p.account_id, p.amount_minor FROM postings p WHERE p.sequence > 1 AND p.sequence <= 100`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    await db.query('SET enable_seqscan = off');
    const forced = (
      await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT p.account_id, p.amount_minor FROM postings p WHERE p.sequence > 1 AND p.sequence <= 100`,
      )
    ).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    await db.query('RESET enable_seqscan');
    // On a tiny, unvacuumed table the planner may prefer another scan; forced off, it must find the index.
    expect(forced).toMatch(/Index (Only )?Scan (using|on) postings_sequence/);
    expect(plan).toMatch(/postings/);
  });

  it('gives the same report as CSV at GET /exports/activity, scoped, with the pinned header', async () => {
    const from = '2000-01-01T00:00:00Z';
    const to = '2100-01-01T00:00:00Z';
    const get = (key: string | null, query: string) =>
      fetch(`${ledger.service.baseUrl}/exports/activity?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const response = await get(ledger.service.adminKey, `currency=HOUR&from=${from}&to=${to}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).split('\r\n');
    expect(lines[0]).toBe('account_id,party,credited,debited,transactions');
    expect(lines.at(-1)).toBe('');
    const expected = await readAll(ledger.admin, 'HOUR', from, to, 500);
    const names = new Map<string, string>([
      [pool, 'Riverside Time Bank'],
      ...people.map((p, i): [string, string] => [p.account, `Member ${i}`]),
    ]);
    expect(lines.slice(1, -1)).toEqual(
      expected.lines.map((l) => `${l.account.id},${names.get(l.account.id)},${l.credited},${l.debited},${l.transactions}`),
    );

    const member = people[1]!;
    const own = (await (await get(member.key, `currency=HOUR&from=${from}&to=${to}`)).text()).split('\r\n');
    expect(own.slice(1, -1).map((l) => l.split(',')[0])).toEqual([member.account]);

    expect((await get(null, `currency=HOUR&from=${from}&to=${to}`)).status).toBe(401);
    const missing = await get(ledger.service.adminKey, `currency=HOUR&from=${from}`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    expect((await get(ledger.service.adminKey, `currency=NOPE&from=${from}&to=${to}`)).status).toBe(404);
    expect((await get(ledger.service.adminKey, `currency=HOUR&from=${to}&to=${from}`)).status).toBe(400);
  });
});
