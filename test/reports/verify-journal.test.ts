import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSeal, SEAL_PREFIX } from '../../src/ledger/query/hledger-journal';
import { verifyJournal } from '../../src/ledger/query/journal-verifier';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { pay, post, run } from './helpers';

const ROOT = join(__dirname, '..', '..');

/** The journal with its seal recomputed, as a forger who knows the format would. */
function reseal(journal: string): string {
  const start = journal.lastIndexOf(SEAL_PREFIX);
  const body = journal.slice(0, start);
  const count = Number(/^# end of export: (\d+) /.exec(journal.slice(start))?.[1]);
  return body + renderSeal(count, createHash('sha256').update(body).digest('hex'));
}

function changeByte(journal: Buffer, offset: number): string {
  const copy = Buffer.from(journal);
  copy[offset] = copy[offset]! ^ 0x01;
  return copy.toString('utf8');
}

describe('offline verification of an exported journal', () => {
  let ledger: TestLedger;
  let dir: string;
  let journal: string;
  let lastId: string;

  beforeAll(async () => {
    ledger = await startLedger();
    dir = mkdtempSync(join(tmpdir(), 'ledger-verify-'));
    const { admin } = ledger;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    await createCurrency(admin, 'BREAD', 'TIME', 0);
    const ana = await registerParty(admin, 'MEMBER', 'Ana; Zoë  "the baker"');
    const ben = await registerParty(admin, 'MEMBER', 'Ben');
    const a = await openAccount(admin, ana, 'HOUR');
    const b = await openAccount(admin, ben, 'HOUR');
    const a2 = await openAccount(admin, ana, 'BREAD');
    const b2 = await openAccount(admin, ben, 'BREAD');
    await pay(admin, a, b, '1.50');
    await pay(admin, a2, b2, '2');
    await post(
      admin,
      'EXCHANGE',
      [
        { accountId: a, amount: '-0.75' },
        { accountId: b2, amount: '-1' },
        { accountId: b, amount: '0.75' },
        { accountId: a2, amount: '1' },
      ],
      { memo: 'loaf\nfor time; "fair"', metadata: { season: 'spring', weights: [1, 2] }, externalRef: 'X-1' },
    );
    const last = await post(admin, 'TRANSFER', [
      { accountId: b, amount: '-0.10' },
      { accountId: a, amount: '0.10' },
    ]);
    lastId = last.id;
    journal = (await admin.ok('{ exportJournal(currency: "HOUR", format: HLEDGER) }')).exportJournal;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ledger.stop();
  });

  it('accepts a fresh export, recomputes every hash and link, and ends at the hash the ledger gives its last transaction', async () => {
    const file = join(dir, 'fresh.journal');
    writeFileSync(file, journal);
    const result = await run(process.execPath, [join(ROOT, 'dist/scripts/verify-journal.js'), file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${file}: OK`);
    expect(result.stdout).toContain('currency HOUR: 3 transactions (#1 to #4)');
    expect(result.stdout).toContain('links checked: 2; gaps where the file skips sequences (other currencies or accounts): 1');
    const { transaction } = await ledger.admin.ok('query($id: ID!) { transaction(id: $id) { hash } }', { id: lastId });
    expect(result.stdout).toContain(`last hash:                  ${transaction.hash}`);
    expect(verifyJournal(journal)).toMatchObject({
      ok: true,
      transactions: 3,
      linksChecked: 2,
      gaps: 1,
      assertions: 2,
      lastHash: transaction.hash,
    });
  });

  it('npm run verify finds a changed byte in an exported journal and names the line', async () => {
    const amountLine = journal.split('\n').findIndex((line) => line.endsWith('  1.50 HOUR'));
    const changed = journal.replace(/ {2}1\.50 HOUR\n/, '  1.60 HOUR\n');
    expect(changed).not.toBe(journal);
    const file = join(dir, 'changed.journal');
    writeFileSync(file, changed);
    const result = await run('npm', ['run', '--silent', 'verify', '--', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${file}: NOT OK`);
    expect(result.stdout).toContain(`line ${amountLine + 1}: transaction #1`);
    expect(result.stdout).toContain('is not written as its hashed content says');

    const memo = journal.replace('for time; \\"fair\\"', 'for time; \\"fain\\"');
    expect(verifyJournal(memo).problem).toMatch(/transaction #3 \([0-9a-f-]+\): its content does not match its hash/);
    const missing = await run('npm', ['run', '--silent', 'verify', '--', join(dir, 'no-such-file')]);
    expect(missing.code).toBe(2);
  });

  it('detects every single-byte change anywhere in the journal', () => {
    const bytes = Buffer.from(journal, 'utf8');
    const missed: number[] = [];
    for (let offset = 0; offset < bytes.length; offset++) {
      if (verifyJournal(changeByte(bytes, offset)).ok) missed.push(offset);
    }
    expect(missed).toEqual([]);
  });

  it('refuses a transaction time of the right shape that names no date (month 13, hour 29), whatever the day the test runs', () => {
    const times = [...new Set(journal.match(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/g) ?? [])];
    expect(times.length).toBeGreaterThan(0);
    const time = times[0] as string;
    for (const impossible of [`${time.slice(0, 5)}13${time.slice(7)}`, `${time.slice(0, 11)}29${time.slice(13)}`]) {
      const changed = journal.split(time).join(impossible);
      for (const candidate of [changed, reseal(changed)]) {
        const result = verifyJournal(candidate);
        expect([impossible, result.ok]).toEqual([impossible, false]);
      }
    }
  });

  it('still catches a forger who recomputes the seal, for every byte hledger reads or the chain covers', () => {
    const bytes = Buffer.from(journal, 'utf8');
    const start = bytes.indexOf('decimal-mark .');
    const end = bytes.lastIndexOf(SEAL_PREFIX);
    const missed: number[] = [];
    for (let offset = start; offset < end; offset++) {
      if (verifyJournal(reseal(changeByte(bytes, offset))).ok) missed.push(offset);
    }
    expect(missed).toEqual([]);
    // What the seal alone protects: the header comments, which hledger ignores.
    expect(verifyJournal(reseal(journal.replace('# exported at', '# exported on'))).ok).toBe(true);
  });

  it('reports a truncated download, a dropped transaction and transactions out of order', () => {
    expect(verifyJournal(journal.slice(0, journal.length / 2)).problem).toMatch(/incomplete/);
    const blocks = journal.split('\n\n');
    const transactions = blocks.filter((b) => b.startsWith('# hash-input: '));
    const dropped = reseal(blocks.filter((b) => b !== transactions[1]).join('\n\n'));
    expect(verifyJournal(dropped).ok).toBe(false);
    const swapped = reseal(
      blocks.map((b) => (b === transactions[1] ? transactions[2] : b === transactions[2] ? transactions[1] : b)).join('\n\n'),
    );
    // Caught by the sequence order, or before it by the running balances the swap breaks.
    expect(verifyJournal(swapped).problem).toMatch(/increasing sequence|records a running balance/);
  });
});
