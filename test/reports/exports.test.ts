import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochMicros, fromEpochMicros, isoMicros, parseInstant } from '../../src/common/instant';
import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { addMember, hledgerBalances, idOf, issuanceAccount, minor, parseCsv, pay, post, run, trialBalance } from './helpers';

const EXPORT =
  'query($c: String!, $from: DateTime, $to: DateTime, $f: ExportFormat!) { exportJournal(currency: $c, from: $from, to: $to, format: $f) }';

/** Party names hledger and spreadsheets could misread: two spaces, semicolons, colons, tabs, newlines, formulas. */
const AWKWARD_NAMES = [
  'Ana  Lima; "the" baker: #1 = @ * (x) [y]',
  'Ben\tTab\nNewline',
  'Zoë 🌱 Gärtnerin',
  '=HYPERLINK("http://x","y")',
  '-2+3',
  '@SUM(A1)',
];

describe('journal exports', () => {
  let ledger: TestLedger;
  let hours: string[];
  let bakes: string[];
  let dollars: string[];
  let issuance: string;
  let dir: string;

  async function exportJournal(
    client: GqlClient,
    currency: string,
    format: 'HLEDGER' | 'CSV',
    from?: string,
    to?: string,
  ): Promise<string> {
    const data = await client.ok<{ exportJournal: string }>(EXPORT, { c: currency, f: format, from: from ?? null, to: to ?? null });
    return data.exportJournal;
  }

  /** Non-zero balances by account id, from a trial balance. */
  async function expectedTotals(client: GqlClient, currency: string, scale: number, asOf?: string): Promise<Map<string, bigint>> {
    const tb = await trialBalance(client, currency, asOf);
    return new Map(tb.lines.filter((l) => minor(l.balance, scale) !== 0n).map((l) => [l.account.id, minor(l.balance, scale)]));
  }

  function totalsById(totals: Map<string, string>, scale: number, root = 'assets:'): Map<string, bigint> {
    return new Map(
      [...totals]
        .filter(([name, amount]) => name.startsWith(root) && minor(amount, scale) !== 0n)
        .map(([name, amount]) => [idOf(name), minor(amount, scale)]),
    );
  }

  beforeAll(async () => {
    ledger = await startLedger();
    dir = mkdtempSync(join(tmpdir(), 'ledger-export-'));
    const { admin } = ledger;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    await createCurrency(admin, 'BK2', 'TIME', 0);
    const creditUnion = await registerParty(admin, 'CREDIT_UNION', 'Riverside; Credit: Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, creditUnion);
    issuance = await issuanceAccount(admin, creditUnion, 'MKE');
    hours = [];
    bakes = [];
    dollars = [];
    for (const name of AWKWARD_NAMES) {
      const party = await registerParty(admin, 'MEMBER', name);
      hours.push(await openAccount(admin, party, 'HOUR', '500'));
      bakes.push(await openAccount(admin, party, 'BK2', '500'));
      dollars.push(await openAccount(admin, party, 'MKE'));
    }
    for (let i = 0; i < 12; i++) await pay(admin, hours[i % 6]!, hours[(i + 1) % 6]!, `${i + 1}.${i % 10}5`);
    for (let i = 0; i < 4; i++) await pay(admin, bakes[i]!, bakes[5 - i]!, `${i + 2}`);
    // One transaction in two currencies, with awkward memo, metadata and external reference.
    await post(
      admin,
      'EXCHANGE',
      [
        { accountId: hours[0]!, amount: '-1.00' },
        { accountId: bakes[1]!, amount: '-3' },
        { accountId: hours[2]!, amount: '1.00' },
        { accountId: bakes[3]!, amount: '3' },
      ],
      {
        memo: 'bread; for\nhours, "fresh"\t= good',
        metadata: { note: 'a:b, c', n: [1, 2.5, null], nested: { z: true, a: '' } },
        externalRef: 'REF,1;2',
      },
    );
    for (const [i, saver] of dollars.entries()) {
      await post(admin, 'DEPOSIT', [
        { accountId: issuance, amount: `-${1000 + i}.75` },
        { accountId: saver, amount: `${1000 + i}.75` },
      ]);
    }
    await pay(admin, dollars[0]!, dollars[3]!, '12.34');
    const mistake = await post(admin, 'TRANSFER', [
      { accountId: hours[4]!, amount: '-0.01' },
      { accountId: hours[5]!, amount: '0.01' },
    ]);
    await admin.ok('mutation($id: ID!) { reverseTransaction(id: $id, reason: "typo", idempotencyKey: "rev-1") { id } }', {
      id: mistake.id,
    });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ledger.stop();
  });

  it('hledger accepts the HLEDGER export of each currency, strictly, and its per-account totals equal the trial balance', async () => {
    for (const [currency, scale] of [
      ['HOUR', 2],
      ['BK2', 0],
      ['MKE', 2],
    ] as const) {
      const journal = await exportJournal(ledger.admin, currency, 'HLEDGER');
      const totals = await hledgerBalances(journal, ['--strict']);
      expect(totalsById(totals, scale)).toEqual(await expectedTotals(ledger.admin, currency, scale));
      expect([...totals.keys()].every((name) => name.startsWith('assets:'))).toBe(true);

      // The same file on disk, read by path, balances to zero over the whole currency.
      const file = join(dir, `${currency}.journal`);
      writeFileSync(file, journal);
      const flat = await run('hledger', ['-f', file, 'balance', '--flat']);
      expect(flat.code).toBe(0);
      expect(flat.stdout.trim().split('\n').at(-1)?.trim()).toBe('0');
    }
  });

  it('writes the commodity, the hash chain as tags, quoted commodities where needed, and a balance assertion per account', async () => {
    const journal = await exportJournal(ledger.admin, 'BK2', 'HLEDGER');
    expect(journal).toContain('\ncommodity 0. "BK2"\n');
    expect(journal).toMatch(/\n {4}[^\n]+ {2}-3 "BK2"\n/);
    const hour = await exportJournal(ledger.admin, 'HOUR', 'HLEDGER');
    expect(hour).toContain('\ncommodity 0.00 HOUR\n');
    expect(hour).toMatch(/ {4}; seq:\d+, kind:TRANSFER, id:[0-9a-f-]{36}\n {4}; hash:[0-9a-f]{64}, previous:[0-9a-f]{64}\n/);
    expect(hour).toContain('| bread, for hours, "fresh" = good\n');
    expect(hour).toContain('    ; ref:REF 1 2\n');
    expect(hour).toMatch(/ {4}; reverses:[0-9a-f-]{36}\n/);
    // Account names keep the party's name, made safe for hledger.
    expect(hour).toContain(`account assets:Ana Lima, "the" baker- #1 = @ * (x) [y]:${hours[0]}\n`);
    expect(hour).toContain(`account assets:Ben Tab Newline:${hours[1]}\n`);
    const closing = hour.slice(hour.indexOf('* closing balances'));
    for (const account of hours) expect(closing).toMatch(new RegExp(`:${account} {2}0\\.00 HOUR = -?\\d+\\.\\d{2} HOUR\\n`));
    // The transaction in two currencies appears in both journals with its postings of each.
    const both = hour.split('\n\n').find((block) => block.includes('EXCHANGE |'))!;
    expect(both.split('\n').filter((l) => l.startsWith('    assets:'))).toHaveLength(2);
    expect(journal).toContain('EXCHANGE | bread, for hours');
  });

  it('a period export opens with the balances before from, asserts those before to, and hledger totals equal the trial balance just before to', async () => {
    const listed = await ledger.admin.ok('{ transactions(first: 500) { edges { node { postedAt } } } }');
    const times: string[] = listed.transactions.edges.map((e: { node: { postedAt: string } }) => e.node.postedAt);
    const from = times[3]!;
    const to = times[10]!;
    const journal = await exportJournal(ledger.admin, 'HOUR', 'HLEDGER', from, to);
    expect(journal).toContain(`${from.slice(0, 10)} * opening balances\n`);
    // One microsecond before: the ledger's precision (a millisecond before would leave out what was posted within it).
    const justBeforeTo = isoMicros(fromEpochMicros(epochMicros(parseInstant(to)) - 1n));
    const totals = await hledgerBalances(journal, ['--strict']);
    expect(totalsById(totals, 2)).toEqual(await expectedTotals(ledger.admin, 'HOUR', 2, justBeforeTo));
    // Only the period's transactions are in it.
    const sequences = [...journal.matchAll(/; seq:(\d+),/g)].map((m) => BigInt(m[1]!));
    const all = await exportJournal(ledger.admin, 'HOUR', 'HLEDGER');
    const allSequences = [...all.matchAll(/; seq:(\d+),/g)].map((m) => BigInt(m[1]!));
    expect(sequences.length).toBeGreaterThan(0);
    expect(sequences.length).toBeLessThan(allSequences.length);
  });

  it('CSV has a header and one row per posting, opens cleanly in a spreadsheet, and its amounts sum to the trial balance', async () => {
    const csv = await exportJournal(ledger.admin, 'HOUR', 'CSV');
    expect(csv.split('\r\n')[0]).toBe(
      'date,sequence,transaction_id,kind,account,party,amount,memo,external_ref,posted_at,currency,balance_after',
    );
    expect(csv.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(csv);
    expect(rows.every((r) => r.length === header!.length)).toBe(true);
    const journal = await exportJournal(ledger.admin, 'HOUR', 'HLEDGER');
    const postingLines = journal
      .split('\n\n')
      .filter((block) => block.startsWith('# hash-input: '))
      .flatMap((block) => block.split('\n').filter((l) => l.startsWith('    assets:')));
    expect(rows).toHaveLength(postingLines.length);

    const sums = new Map<string, bigint>();
    for (const row of rows) sums.set(row[4]!, (sums.get(row[4]!) ?? 0n) + minor(row[6]!, 2));
    expect(new Map([...sums].filter(([, v]) => v !== 0n))).toEqual(await expectedTotals(ledger.admin, 'HOUR', 2));

    // Text that a spreadsheet would run as a formula is defused; amounts stay plain numbers.
    const parties = new Set(rows.map((r) => r[5]));
    expect(parties).toContain(`'=HYPERLINK("http://x","y")`);
    expect(parties).toContain(`'-2+3`);
    expect(parties).toContain(`'@SUM(A1)`);
    expect(parties).toContain('Ben\tTab\nNewline');
    expect(parties).toContain('Ana  Lima; "the" baker: #1 = @ * (x) [y]');
    expect(rows.some((r) => r[6]!.startsWith('-') && /^-\d+\.\d{2}$/.test(r[6]!))).toBe(true);
    expect(csv).not.toMatch(/(^|,)[=+@]/m);
    const exchange = rows.find((r) => r[3] === 'EXCHANGE')!;
    expect(exchange[7]).toBe('bread; for\nhours, "fresh"\t= good');
    expect(exchange[8]).toBe('REF,1;2');
    // The running balance of each row is the account's balance after it.
    const last = new Map<string, string>();
    for (const row of rows) last.set(row[4]!, row[11]!);
    for (const [account, balance] of last) expect(minor(balance, 2)).toBe(sums.get(account));
  });

  it('streams the same export over HTTP with the API key, for both formats', async () => {
    const url = (query: string) => `${ledger.service.baseUrl}/exports/journal?${query}`;
    const auth = { authorization: `Bearer ${ledger.service.adminKey}` };
    const response = await fetch(url('currency=HOUR&format=HLEDGER'), { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="solidarity-ledger-HOUR-start-to-now\.journal"$/);
    const streamed = await response.text();
    const strip = (text: string) => text.replace(/^# exported at .*$/m, '').replace(/^# end of export: .*$/m, '');
    expect(strip(streamed)).toBe(strip(await exportJournal(ledger.admin, 'HOUR', 'HLEDGER')));

    const csv = await fetch(url('currency=MKE&format=CSV'), { headers: auth });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(await csv.text()).toBe(await exportJournal(ledger.admin, 'MKE', 'CSV'));
  });

  it('refuses HTTP exports without a valid key, of unknown currencies, and with bad parameters', async () => {
    const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
    const get = (query: string, key?: string) =>
      fetch(`${ledger.service.baseUrl}/exports/journal?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const unauthenticated = await get('currency=HOUR');
    expect(unauthenticated.status).toBe(401);
    expect(await codeOf(unauthenticated)).toBe('UNAUTHENTICATED');
    expect((await get('currency=HOUR', 'sl_nope')).status).toBe(401);
    const key = ledger.service.adminKey;
    expect((await get('currency=NOPE', key)).status).toBe(404);
    const badFormat = await get('currency=HOUR&format=PDF', key);
    expect(badFormat.status).toBe(400);
    expect(await codeOf(badFormat)).toBe('VALIDATION_FAILED');
    expect((await get('format=CSV', key)).status).toBe(400);
    expect((await get('currency=HOUR&from=yesterday', key)).status).toBe(400);
    expect((await get('currency=HOUR&from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z', key)).status).toBe(400);
  });

  it('scopes exports: a member gets the transactions of its accounts, counterparties as external, assertions for its own only', async () => {
    const { admin } = ledger;
    const coop = await registerParty(admin, 'COOPERATIVE', 'Oven Co-op');
    const coopHours = await openAccount(admin, coop, 'HOUR', '100');
    const party = await registerParty(admin, 'MEMBER', 'Scoped Sam');
    const sam = await openAccount(admin, party, 'HOUR', '100');
    await addMember(admin, coop, party);
    await pay(admin, hours[0]!, sam, '5.00');
    await new Promise((r) => setTimeout(r, 3));
    await pay(admin, sam, coopHours, '1.50');
    await pay(admin, hours[1]!, hours[2]!, '0.25');
    const member = ledger.client(await createKey(admin, 'MEMBER', party));
    const journal = await exportJournal(member, 'HOUR', 'HLEDGER');
    expect(journal).toContain('# accounts: those this API key may read');
    const totals = await hledgerBalances(journal, ['--strict']);
    expect(totalsById(totals, 2)).toEqual(new Map([[sam, 350n]]));
    expect(
      [...totals.keys()]
        .filter((n) => n.startsWith('external:'))
        .map(idOf)
        .sort(),
    ).toEqual([hours[0]!, coopHours].sort());
    expect(journal.match(/^# hash-input: /gm)).toHaveLength(2);
    expect(journal).not.toContain(hours[2]!);

    const csv = parseCsv(await exportJournal(member, 'HOUR', 'CSV')).slice(1);
    expect(csv.map((r) => [r[4], r[6]])).toEqual([
      [sam, '5.00'],
      [sam, '-1.50'],
    ]);

    const treasurer = ledger.client(await createKey(admin, 'TREASURER', coop));
    const treasurerTotals = await hledgerBalances(await exportJournal(treasurer, 'HOUR', 'HLEDGER'), ['--strict']);
    expect(totalsById(treasurerTotals, 2)).toEqual(
      new Map([
        [sam, 350n],
        [coopHours, 150n],
      ]),
    );

    // A period after the member's first transfer opens with its balance, balanced by equity.
    const times = await member.ok('query($id: ID!) { statement(accountId: $id) { entries { edges { node { postedAt } } } } }', { id: sam });
    const second = times.statement.entries.edges[1].node.postedAt;
    const period = await exportJournal(member, 'HOUR', 'HLEDGER', second);
    expect(period).toContain(`    equity:opening balances  -5.00 HOUR\n`);
    expect(totalsById(await hledgerBalances(period, ['--strict']), 2)).toEqual(new Map([[sam, 350n]]));
  });

  it("refuses an integration's export of a currency its credit union does not issue", async () => {
    const other = await registerParty(ledger.admin, 'CREDIT_UNION', 'Other CU');
    const integration = ledger.client(await createKey(ledger.admin, 'INTEGRATION', other));
    expect(await integration.code(EXPORT, { c: 'MKE', f: 'HLEDGER' })).toBe('FORBIDDEN');
    const response = await fetch(`${ledger.service.baseUrl}/exports/journal?currency=MKE`, {
      headers: { authorization: `Bearer ${await createKey(ledger.admin, 'INTEGRATION', other)}` },
    });
    expect(response.status).toBe(403);
  });
});
