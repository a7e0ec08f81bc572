import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createTestDatabase } from '../support/database';
import type { GqlClient } from '../support/graphql';
import { startLedger, type TestLedger, verifyLedger } from '../support/ledger';
import { minor } from '../reports/helpers';
import { runScript, type ScriptRun } from './run-script';

/**
 * `npm run seed:demo`: a realistic network made through the API, a summary a newcomer can act
 * on, and safe to run again (a finished demo is left alone, an interrupted one is finished
 * without posting anything twice, a demo whose keys are elsewhere is refused clearly).
 */
const SEED = 'dist/scripts/seed-demo.js';
const dataDirs: string[] = [];
const ledgers: TestLedger[] = [];

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-seed-'));
  dataDirs.push(dir);
  return dir;
}

async function freshLedger(): Promise<TestLedger> {
  const ledger = await startLedger();
  ledgers.push(ledger);
  return ledger;
}

function seed(ledger: TestLedger, dataDir: string, options: { args?: string[]; stopWhen?: RegExp } = {}): Promise<ScriptRun> {
  return runScript(
    SEED,
    { LEDGER_URL: ledger.service.url, ADMIN_API_KEY: ledger.service.adminKey, DATA_DIR: dataDir, NODE_ENV: 'development' },
    options,
  );
}

/** The key printed for a role and holder in the summary. */
function printedKey(output: string, role: string, holder: string): string {
  const line = output.split('\n').find((l) => l.trim().startsWith(role) && l.includes(holder));
  const key = line?.trim().split(/\s+/).pop();
  if (!key?.startsWith('sl_')) throw new Error(`no ${role} key for ${holder} in:\n${output}`);
  return key;
}

/** Everything a run could change: every account's balances by holder, and the counts of all else (one list per request, within the API's cost limit). */
async function state(admin: GqlClient): Promise<Record<string, string[]>> {
  const lists = {
    accounts:
      'accounts(first: 500) { edges { node { party { name kind } currency { code } unlimited posted pendingDebits pendingCredits } } }',
    parties: 'parties(first: 500) { edges { node { kind name handle } } }',
    transactions: 'transactions(first: 500) { edges { node { kind memo } } }',
    offers: 'offers(first: 500) { edges { node { title open } } }',
    requests: 'requests(first: 500) { edges { node { title open } } }',
  };
  const result: Record<string, string[]> = {};
  for (const [name, selection] of Object.entries(lists)) {
    const data = await admin.ok(`{ list: ${selection} }`);
    // Service dates count back from the day of the first run: two ledgers seeded on different days differ only there.
    result[name] = data.list.edges.map((edge: { node: unknown }) => JSON.stringify(edge.node).replace(/\d{4}-\d{2}-\d{2}/g, 'DATE')).sort();
  }
  return result;
}

/** The coordinator (ADMIN) key of a demo network, as the seed kept it in DATA_DIR. */
function coordinator(ledger: TestLedger, dataDir: string, slug = 'riverside'): GqlClient {
  const file = JSON.parse(readFileSync(join(dataDir, 'demo-networks.json'), 'utf8')) as Record<string, { admin: string }>;
  const key = file[slug]?.admin;
  if (!key) throw new Error(`no coordinator key for ${slug} in ${dataDir}`);
  return ledger.client(key);
}

afterAll(async () => {
  for (const ledger of ledgers) await ledger.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm run seed:demo', () => {
  let ledger: TestLedger;
  let dataDir: string;
  let first: ScriptRun;
  /** The demo network's coordinator: the demo lives in its own network, not in the deployment admin's. */
  let admin: GqlClient;

  beforeAll(async () => {
    ledger = await freshLedger();
    dataDir = freshDataDir();
    first = await seed(ledger, dataDir);
    admin = coordinator(ledger, dataDir);
  });

  test('the first run shows its progress step by step and week by week, and ends with a summary', () => {
    expect(first.code).toBe(0);
    for (let step = 1; step <= 10; step++) expect(first.output).toContain(`[${String(step).padStart(2)}/10]`);
    for (let week = 1; week <= 6; week++) expect(first.output).toMatch(new RegExp(`week ${week} \\(from \\d{4}-\\d{2}-\\d{2}\\)`));
    expect(first.output).toMatch(/parties\s+36: 32 MEMBER/);
    expect(first.output).toMatch(/HOUR\s+\d+ accounts, total 0\.00/);
    expect(first.output).toMatch(/MKE\s+\d+ accounts, total 0\.00; in circulation/);
    expect(first.output).toContain('Ledger verification: ok');
  });

  test('it builds a time bank, a co-op, a credit union with its local dollar and a land trust, with welcome hours', async () => {
    const parties = await admin.ok('{ parties(first: 500) { edges { node { kind name } } } }');
    const kinds = parties.parties.edges.map((edge: { node: { kind: string } }) => edge.node.kind);
    expect(kinds.filter((kind: string) => kind === 'MEMBER')).toHaveLength(32);
    for (const kind of ['COMMUNITY', 'COOPERATIVE', 'CREDIT_UNION', 'LAND_TRUST']) expect(kinds).toContain(kind);
    const dollars = await admin.ok('{ currency(code: "MKE") { kind scale issuer { name } } }');
    expect(dollars.currency).toEqual({ kind: 'MONEY', scale: 2, issuer: { name: 'Cream City Credit Union' } });
    const welcome = await admin.ok('{ transactions(first: 500) { edges { node { memo metadata } } } }');
    const grants = welcome.transactions.edges.filter((edge: { node: { metadata: unknown } }) =>
      JSON.stringify(edge.node.metadata).includes('welcome'),
    );
    expect(grants).toHaveLength(32);
  });

  test('six weeks of activity: exchanges pending and disputed, a reversal, deposits, a withdrawal and a royalty split', async () => {
    const data = await admin.ok(
      '{ transactions(first: 200) { edges { node { kind memo metadata postings { amount account { party { name } } } } } } }',
    );
    const transactions = data.transactions.edges.map((edge: { node: unknown }) => edge.node);
    const ofKind = (kind: string) => transactions.filter((t: { kind: string }) => t.kind === kind);
    expect(ofKind('EXCHANGE').length).toBeGreaterThanOrEqual(35);
    expect(ofKind('REVERSAL')).toHaveLength(1);
    expect(ofKind('DEPOSIT').length).toBeGreaterThanOrEqual(60);
    expect(ofKind('WITHDRAWAL')).toHaveLength(1);
    const royalty = ofKind('DISTRIBUTION').find((t: { memo: string }) => t.memo.includes('royalties'));
    expect(royalty.postings.map((p: { amount: string; account: { party: { name: string } } }) => [p.account.party.name, p.amount])).toEqual(
      [
        ['Riverwest Sound Workers Co-op', '-1000.00'],
        ['Lena Okafor', '515.46'],
        ['Marcus Webb', '309.28'],
        ['Cream City Credit Union', '175.26'],
      ],
    );
    expect(first.output).toMatch(/4 exchanges waiting for the receiver, 1 disputed/);
    // Service dates are told in descriptions; the ledger's own posting time is never faked.
    expect(ofKind('EXCHANGE')[0].memo).toMatch(/\(service on \d{4}-\d{2}-\d{2}\)$/);
  });

  test("one member's maximum balance holds: a payment over it is refused with BALANCE_LIMIT_EXCEEDED and moves nothing", async () => {
    const line =
      /Balance bound: Ana Lima may hold at most 40\.00 HOUR \(holds (-?\d+\.\d{2}), (\d+\.\d{2}) on its way\); (\d+\.\d{2}) more from the pool is refused: BALANCE_LIMIT_EXCEEDED/.exec(
        first.output,
      );
    expect(line).not.toBeNull();
    const accounts = await admin.ok(
      '{ accounts(first: 500) { edges { node { id maxBalance posted pendingCredits party { name } currency { code } } } } }',
    );
    type Node = {
      id: string;
      maxBalance: string | null;
      posted: string;
      pendingCredits: string;
      party: { name: string };
      currency: { code: string };
    };
    const nodes: Node[] = accounts.accounts.edges.map((e: { node: Node }) => e.node);
    const ana = nodes.find((n) => n.party.name === 'Ana Lima' && n.currency.code === 'HOUR')!;
    const pool = nodes.find((n) => n.party.name === 'Riverside Time Bank' && n.currency.code === 'HOUR')!;
    expect(ana.maxBalance).toBe('40.00');
    // The other members have no bound: only the one the demo shows.
    expect(nodes.filter((n) => n.maxBalance !== null).map((n) => n.party.name)).toEqual(['Ana Lima']);
    // The summary's numbers are Ana's, and the refused amount is one hour over her room under the bound.
    expect([line![1], line![2]]).toEqual([ana.posted, ana.pendingCredits]);
    const room = minor('40.00', 2) - minor(ana.posted, 2) - minor(ana.pendingCredits, 2);
    expect(minor(line![3]!, 2)).toBe((room > 0n ? room : 0n) + 100n);
    // The same payment through the API: refused, nothing moves; up to the bound it is accepted.
    const pay = (amount: string, key: string) =>
      admin.request(
        'mutation($f: ID!, $t: ID!, $a: Amount!, $k: String!) { transfer(from: $f, to: $t, amount: $a, idempotencyKey: $k) { id } }',
        {
          f: pool.id,
          t: ana.id,
          a: amount,
          k: key,
        },
      );
    const refused = await pay(line![3]!, 'test-over-cap');
    expect(refused.errors?.[0]?.extensions?.code).toBe('BALANCE_LIMIT_EXCEEDED');
    const after = await admin.ok('query($id: ID!) { account(id: $id) { posted pendingCredits } }', { id: ana.id });
    expect(after.account).toEqual({ posted: ana.posted, pendingCredits: ana.pendingCredits });
  });

  test('the books balance: every currency sums to zero and the ledger verifies end to end', async () => {
    for (const code of ['HOUR', 'MKE']) {
      const data = await admin.ok('query($code: String!) { trialBalance(currency: $code) { total } }', { code });
      expect(data.trialBalance.total).toBe('0.00');
    }
    expect((await verifyLedger(admin)).ok).toBe(true);
  });

  test('the printed keys work, one per role, each bound to its party', async () => {
    const expectations: [string, string, string | null][] = [
      ['MEMBER', 'Ana Lima', 'Ana Lima'],
      ['TREASURER', 'Co-op', 'Riverwest Sound Workers Co-op'],
      ['TREASURER', 'Land Trust', 'Riverwest Community Land Trust'],
      ['INTEGRATION', 'Credit Union', 'Cream City Credit Union'],
      ['AUDITOR', 'reads everything', null],
    ];
    for (const [role, holder, party] of expectations) {
      const me = await ledger.client(printedKey(first.output, role, holder)).ok('{ me { role party { name } } }');
      expect(me.me).toEqual({ role, party: party ? { name: party } : null });
    }
  });

  test('two communities side by side, each in its own network: the deployment admin sees both, neither sees the other', async () => {
    const networks = await ledger.admin.ok('{ networks { slug name } }');
    expect(networks.networks).toEqual(
      expect.arrayContaining([
        { slug: 'riverside', name: 'Riverside Time Bank' },
        { slug: 'hillside', name: 'Hillside Mutual Aid' },
      ]),
    );
    const hillside = coordinator(ledger, dataDir, 'hillside');
    expect((await hillside.ok('{ me { role network { slug } } }')).me).toEqual({ role: 'ADMIN', network: { slug: 'hillside' } });
    const names = async (client: GqlClient) =>
      (await client.ok('{ parties(first: 500) { edges { node { name } } } }')).parties.edges.map(
        (e: { node: { name: string } }) => e.node.name,
      );
    const hillsideNames = await names(hillside);
    expect(hillsideNames).toHaveLength(7);
    expect(hillsideNames).toContain('Hillside Mutual Aid');
    expect(hillsideNames).not.toContain('Ana Lima');
    expect(await names(admin)).not.toContain('Hillside Mutual Aid');
    // The deployment admin's own network holds none of the demo.
    expect(await names(ledger.admin)).not.toContain('Ana Lima');
    // Each network has its own HOUR, its own sequence from 1 and its own chain.
    const hours = await hillside.ok('{ currency(code: "HOUR") { name } trialBalance(currency: "HOUR") { total } }');
    expect(hours.currency.name).toBe('Hours of help');
    expect(hours.trialBalance.total).toBe('0.00');
    expect((await verifyLedger(hillside)).ok).toBe(true);
    expect(first.output).toMatch(
      /Second network: Hillside Mutual Aid \(network hillside\): HOUR 7 accounts, total 0\.00; verification ok \(14 transactions\)/,
    );
    expect(printedKey(first.output, 'ADMIN', 'network hillside')).toBe(hillside.key);
  });

  test('a second run changes nothing, says so, and prints the same keys', async () => {
    const before = await state(admin);
    const second = await seed(ledger, dataDir);
    expect(second.code).toBe(0);
    expect(second.output).toContain('already in this ledger, complete. Nothing was changed.');
    expect(second.output).toMatch(/Balance bound: Ana Lima may hold at most 40\.00 HOUR .* is refused: BALANCE_LIMIT_EXCEEDED/);
    expect(printedKey(second.output, 'MEMBER', 'Ana Lima')).toBe(printedKey(first.output, 'MEMBER', 'Ana Lima'));
    expect(await state(admin)).toEqual(before);
  });

  test('a run that does not have the demo keys refuses clearly and changes nothing; --new-keys issues working keys', async () => {
    const before = await state(admin);
    const elsewhere = freshDataDir();
    const refused = await seed(ledger, elsewhere);
    expect(refused.code).toBe(0);
    expect(refused.output).toMatch(/A demo network is already in this ledger, made by a run whose keys are not in .*Nothing was changed/);
    expect(refused.output).toContain('--new-keys');
    expect(await state(admin)).toEqual(before);
    const renewed = await seed(ledger, elsewhere, { args: ['--new-keys'] });
    const member = printedKey(renewed.output, 'MEMBER', 'Ana Lima');
    expect(member).not.toBe(printedKey(first.output, 'MEMBER', 'Ana Lima'));
    expect((await ledger.client(member).ok('{ me { role } }')).me.role).toBe('MEMBER');
    expect(await state(admin)).toEqual(before);
  });

  test('a run cut off half way is finished by the next one, and ends exactly like an uninterrupted run', async () => {
    const other = await freshLedger();
    const otherDir = freshDataDir();
    const cut = await seed(other, otherDir, { stopWhen: /week 3 \(from/ });
    expect(cut.code).toBe(null);
    const resumed = await seed(other, otherDir);
    expect(resumed.code).toBe(0);
    expect(resumed.output).toContain('Finishing the demo network an earlier run started.');
    expect(await state(coordinator(other, otherDir))).toEqual(await state(admin));
  });
});

describe('npm run seed:demo without a running service', () => {
  test('starts the service itself on the configured database, seeds, and stops it again', async () => {
    const databaseUrl = await createTestDatabase();
    const port = await freePort();
    const dataDir = freshDataDir();
    const run = await runScript(SEED, {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      LEDGER_URL: undefined,
      ADMIN_API_KEY: undefined,
    });
    expect(run.code).toBe(0);
    expect(run.output).toContain('Starting the ledger service for the time of the seed');
    expect(run.output).toContain(`http://localhost:${port}/graphql (after \`npm start\`)`);
    // The admin key is the one `npm start` will use: generated once and kept in DATA_DIR.
    expect(printedKey(run.output, 'DEPLOYMENT', 'creates networks')).toBe(readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim());
    const db = await connect(databaseUrl);
    try {
      const count = await db.query(
        `SELECT n.slug, count(*)::int AS n FROM parties p JOIN networks n ON n.id = p.network_id GROUP BY n.slug ORDER BY n.slug`,
      );
      expect(count.rows).toEqual([
        { slug: 'hillside', n: 7 },
        { slug: 'riverside', n: 36 },
      ]);
    } finally {
      await db.end();
    }
    expect(await portIsFree(port)).toBe(true);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
