import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { runScript } from '../newcomer/run-script';
import { connect } from '../support/database';
import { createCurrency, startLedger, transfer, verifyLedger, type TestLedger } from '../support/ledger';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'import');

describe('npm run import (SPEC B.6)', () => {
  let ledger: TestLedger;
  let db: Client;
  const dirs: string[] = [];

  const importDir = (dir: string, args: string[] = [], options: { stopWhen?: RegExp; timeoutMs?: number } = {}) =>
    runScript(
      'dist/scripts/import.js',
      { LEDGER_URL: ledger.service.url, ADMIN_API_KEY: ledger.service.adminKey, NODE_ENV: 'test' },
      {
        args: [...args, dir],
        timeoutMs: options.timeoutMs ?? 120_000,
        stopWhen: options.stopWhen,
      },
    );
  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n);
  /** A copy of the sample set with one file replaced (text, or raw bytes). */
  const variant = (file: string, content: string | Buffer): string => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    dirs.push(dir);
    cpSync(EXAMPLES, dir, { recursive: true });
    writeFileSync(join(dir, file), content);
    return dir;
  };
  const sample = (file: string) => readFileSync(join(EXAMPLES, file), 'utf8');
  /** The sample's transactions with a byte-order mark, CRLF line ends and two empty lines (before line 6). */
  const withBomAndBlankLines = () => `\ufeff${sample('transactions.csv').replace('tx-0005', '\n\ntx-0005').replaceAll('\n', '\r\n')}`;

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
  });
  afterAll(async () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await db.end();
    await ledger.stop();
  });

  it('refuses hostile files naming file:line, exits non-zero and imports nothing', async () => {
    const utf8Tx = sample('transactions.csv');
    const cases: [string, string | Buffer, RegExp][] = [
      [
        'transactions.csv',
        Buffer.from(utf8Tx.replace('Spanish lesson', 'Le\u00e7on'), 'latin1'),
        /transactions\.csv:9: the file is not UTF-8/,
      ],
      [
        'parties.csv',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(sample('parties.csv'), 'utf16le')]),
        /parties\.csv:1: the file is UTF-16/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('tx-0013,2025-03-22,EXCHANGE,Soup', 'tx-0013,2025-03-22,EXCHANGE,"Soup'),
        /transactions\.csv:\d+: a quoted field is never closed/,
      ],
      ['transactions.csv', utf8Tx.replace('Spanish lesson', 'Spanish "lesson"'), /transactions\.csv:9: a quote inside an unquoted field/],
      ['transactions.csv', utf8Tx.replace('tx-0010,', 'tx-0009,'), /transactions\.csv:11: ref tx-0009 is already used on line 10/],
      [
        'transactions.csv',
        utf8Tx.replace('tx-0013,2025-03-22', 'tx-0013,2099-01-01'),
        /transactions\.csv:15: date 2099-01-01 is in the future/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('tx-0010,2025-02-20', 'tx-0010,2024-12-31'),
        /transactions\.csv:11: date 2024-12-31 is earlier than line 10/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace(
          'tx-0008,2025-02-02,EXCHANGE,Spanish lesson,acc-101,acc-104,1',
          'tx-0008,2025-02-02,EXCHANGE,Spanish lesson,acc-101,acc-101,1',
        ),
        /transactions\.csv:9: from_account_ref and to_account_ref are the same/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('acc-101,acc-104,1\n', 'acc-101,acc-999,1\n'),
        /transactions\.csv:9: to_account_ref acc-999 is not a ref/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('acc-103,acc-101,2\n', 'acc-103,acc-101,2.001\n'),
        /transactions\.csv:15: amount: "2.001" has more than 2 decimal places/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('acc-103,acc-101,2\n', 'acc-103,acc-101,-2\n'),
        /transactions\.csv:15: amount: "-2" is not an amount/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('acc-103,acc-101,2\n', 'acc-103,acc-101,200\n'),
        /transactions\.csv:15: account acc-103 would go below its credit limit/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('Paying back a favour,acc-103,acc-105,0.75', 'Paying back a favour,acc-103,acc-105,0.75,extra'),
        /transactions\.csv:11: 8 fields where the header has 7/,
      ],
      [
        'transactions.csv',
        utf8Tx.replace('2025-02-20,TRANSFER', '2025-02-30,TRANSFER'),
        /transactions\.csv:11: date: "2025-02-30" is not a real date/,
      ],
      [
        'accounts.csv',
        sample('accounts.csv').replace('acc-105,cw-105,HOUR', 'acc-105,cw-105,EUR'),
        /accounts\.csv:7: currency EUR does not exist/,
      ],
      ['accounts.csv', sample('accounts.csv').replace('ref,party_ref', 'id,party_ref'), /accounts\.csv:1: the header must be/],
      ['parties.csv', sample('parties.csv').replace('cw-105,MEMBER', 'cw-105,ROBOT'), /parties\.csv:7: kind "ROBOT"/],
      ['transactions.csv', '', /transactions\.csv:1: the file is empty/],
    ];
    for (const [file, content, expected] of cases) {
      const run = await importDir(variant(file, content));
      expect([file, run.code, run.output]).toEqual([file, 1, expect.stringMatching(expected)]);
      expect(run.output).toMatch(/Nothing was imported/);
    }
    // The dry run checks the untouched sample and sends nothing either.
    const dry = await importDir(EXAMPLES, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.output).toMatch(/6 parties, 6 accounts, 13 transactions: every row is fine/);
    expect(await count('SELECT count(*) AS n FROM transactions')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM parties')).toBe(0);
  }, 300_000);

  it('imports the sample set with its original dates, a BOM, empty lines and quoted fields, then posts nothing twice', async () => {
    const dir = variant('transactions.csv', `${withBomAndBlankLines()}\n\n`);
    const first = await importDir(dir);
    expect(first.output).toMatch(/Imported/);
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/transactions: 13 new, 0 already imported/);
    expect(first.output).toMatch(/verifyLedger: ok/);
    const { rows } = await db.query<{ external_ref: string; posted_at: Date; memo: string }>(
      'SELECT external_ref, posted_at, memo FROM transactions ORDER BY sequence',
    );
    expect(rows).toHaveLength(13);
    expect(rows[5]).toMatchObject({ external_ref: 'tx-0006', posted_at: new Date('2025-01-11T09:30:00Z') });
    expect(rows[0]?.posted_at).toEqual(new Date('2025-01-06T00:00:00Z'));
    expect(rows[10]?.memo).toBe('Childminding\r\n(two evenings)');
    const again = await importDir(dir);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(
      /parties: 0 new, 6 already imported; accounts: 0 new, 6 already imported; transactions: 0 new, 13 already imported/,
    );
    expect(await count('SELECT count(*) AS n FROM transactions')).toBe(13);
    // Imported history counts in activity like any posting.
    const activity = await ledger.admin.ok(
      '{ activity(currency: "HOUR", from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z") { totals { transactions volume } } }',
    );
    expect(activity.activity.totals).toEqual({ transactions: 7, volume: '28.75' });
  }, 300_000);

  it('refuses explicit dates once a live transaction was posted, and posts nothing of the batch', async () => {
    const accounts = await db.query<{ id: string }>('SELECT id FROM accounts ORDER BY id LIMIT 2');
    const [a, b] = accounts.rows.map((r) => r.id) as [string, string];
    expect((await transfer(ledger.admin, a, b, '0.25', 'live-one')).errors).toBeUndefined();
    // The same file as before (the same rows make the same requests) with one row more, on line 18.
    const later = variant('transactions.csv', `${withBomAndBlankLines()}tx-0014,2025-04-01,EXCHANGE,Too late,acc-101,acc-102,1\r\n`);
    const run = await importDir(later);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/transactions\.csv:18: .*history can be imported only into a ledger whose every transaction was imported/);
    expect(await count("SELECT count(*) AS n FROM transactions WHERE external_ref = 'tx-0014'")).toBe(0);
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
  }, 300_000);
});

describe('npm run import at scale: 100,000 transactions, interrupted and run again', () => {
  let ledger: TestLedger;
  let db: Client;
  let dir: string;

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    dir = mkdtempSync(join(tmpdir(), 'import-big-'));
    const members = 200;
    writeFileSync(
      join(dir, 'parties.csv'),
      `ref,kind,name,handle\n${Array.from({ length: members }, (_, i) => `p${i},MEMBER,Member ${i},`).join('\n')}\n`,
    );
    writeFileSync(
      join(dir, 'accounts.csv'),
      `ref,party_ref,currency,credit_limit,max_balance\n${Array.from({ length: members }, (_, i) => `a${i},p${i},HOUR,1000,`).join('\n')}\n`,
    );
    const start = Date.parse('2024-01-01T00:00:00Z');
    const lines = ['ref,date,kind,memo,from_account_ref,to_account_ref,amount'];
    for (let i = 0; i < 100_000; i++) {
      // Pairs of exchanges that pay each other back, so no account drifts toward its limit.
      const k = Math.floor(i / 2);
      const a = (k * 7) % members;
      const b = (a + 1 + (k % (members - 1))) % members;
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const amount = `${(k % 5) + 1}.${String(k % 100).padStart(2, '0')}`;
      lines.push(`t${i},${new Date(start + i * 60_000).toISOString()},EXCHANGE,exchange ${i},a${from},a${to},${amount}`);
    }
    writeFileSync(join(dir, 'transactions.csv'), `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.end();
    await ledger.stop();
  });

  it('posts every row once across an interrupted run and a second run, keeps the order of dates, and verifies', async () => {
    const env = { LEDGER_URL: ledger.service.url, ADMIN_API_KEY: ledger.service.adminKey, NODE_ENV: 'test' };
    // Killed (SIGKILL, like a power cut) once 20,000 rows are reported sent.
    const interrupted = await runScript('dist/scripts/import.js', env, {
      args: [dir],
      stopWhen: /20000 of 100000 sent/,
      timeoutMs: 600_000,
    });
    expect(interrupted.output).toMatch(/20000 of 100000 sent/);
    expect(interrupted.code).not.toBe(0);
    const partial = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM transactions')).rows[0]?.n);
    expect(partial).toBeGreaterThanOrEqual(20_000);
    expect(partial).toBeLessThan(100_000);
    const rest = await runScript('dist/scripts/import.js', env, { args: [dir], timeoutMs: 600_000 });
    expect(rest.code).toBe(0);
    // A batch the killed run had already sent may still commit after the count above was read:
    // the second run finds at least `partial` rows imported, and the two counts cover every row once.
    const [, fresh, already] = /transactions: (\d+) new, (\d+) already imported/.exec(rest.output) ?? [];
    expect(Number(already)).toBeGreaterThanOrEqual(partial);
    expect(Number(fresh) + Number(already)).toBe(100_000);
    expect(rest.output).toMatch(/verifyLedger: ok/);
    const { rows } = await db.query<{ n: string; refs: string; decreasing: string }>(
      `SELECT count(*) AS n, count(DISTINCT external_ref) AS refs,
              count(*) FILTER (WHERE posted_at < prev) AS decreasing
         FROM (SELECT external_ref, posted_at, lag(posted_at) OVER (ORDER BY sequence) AS prev FROM transactions) t`,
    );
    expect(rows[0]).toEqual({ n: '100000', refs: '100000', decreasing: '0' });
    const last = await db.query<{ posted_at: Date }>("SELECT posted_at FROM transactions WHERE external_ref = 't99999'");
    expect(last.rows[0]?.posted_at).toEqual(new Date(Date.parse('2024-01-01T00:00:00Z') + 99_999 * 60_000));
  }, 900_000);

  it('verifyLedger names a changed transaction on the first page or a later one, while it reads the next page ahead', async () => {
    /** Changes (or puts back) one transaction's memo with the append-only triggers off, as someone with database access could. */
    const setMemo = async (sequence: number, memo: string) => {
      await db.query('BEGIN');
      await db.query('SET LOCAL session_replication_role = replica');
      await db.query('UPDATE transactions SET memo = $2 WHERE sequence = $1', [sequence, memo]);
      await db.query('COMMIT');
    };
    // Pages are 2,000 transactions: #3 is found while page 2 is being read, #4,100 on page 3.
    for (const sequence of [3, 4_100]) {
      const { memo } = (await db.query<{ memo: string }>('SELECT memo FROM transactions WHERE sequence = $1', [sequence])).rows[0] as {
        memo: string;
      };
      await setMemo(sequence, `${memo} (changed)`);
      const changed = await verifyLedger(ledger.admin);
      expect(changed.ok).toBe(false);
      expect(changed.transactionsChecked).toBe(sequence - 1);
      expect(changed.firstProblem).toMatch(new RegExp(`^transaction #${sequence} \\(.+\\): its content does not match its hash$`));
      await setMemo(sequence, memo);
    }
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, transactionsChecked: 100_000, firstProblem: null });
  }, 300_000);
});
