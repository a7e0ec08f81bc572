import { verifyJournal } from '../../src/ledger/query/journal-verifier';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { hledgerBalances, idOf, minor, parseCsv, pay, trialBalance } from './helpers';

/** More than two pages of the export (500 transactions a page). */
const TRANSFERS = 1100;
const PAIRS = 20;

describe('large exports', () => {
  let ledger: TestLedger;
  let accounts: string[];

  async function download(query: string): Promise<{ status: number; chunks: number; text: string }> {
    const response = await fetch(`${ledger.service.baseUrl}/exports/journal?${query}`, {
      headers: { authorization: `Bearer ${ledger.service.adminKey}` },
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    return { status: response.status, chunks, text: text + decoder.decode() };
  }

  beforeAll(async () => {
    // A small bound on the GraphQL string, so that a modest ledger is already "large".
    ledger = await startLedger({ EXPORT_MAX_STRING_BYTES: '20000' });
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    accounts = [];
    for (let i = 0; i < PAIRS * 2; i++) {
      accounts.push(await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', `Member ${i}`), 'HOUR', '1000'));
    }
    for (let round = 0; round < TRANSFERS / PAIRS; round++) {
      await Promise.all(
        Array.from({ length: PAIRS }, (_, p) => {
          const [a, b] = [accounts[2 * p]!, accounts[2 * p + 1]!];
          return round % 2 ? pay(ledger.admin, b, a, '0.03') : pay(ledger.admin, a, b, '0.05');
        }),
      );
    }
  });
  afterAll(async () => ledger.stop());

  it('refuses the GraphQL string beyond its bound and points to the streamed download', async () => {
    const result = await ledger.admin.request('{ exportJournal(currency: "HOUR", format: HLEDGER) }');
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/larger than 20000 bytes.*GET \/exports\/journal/);
  });

  it('streams an hledger journal of any size in pieces; it verifies, and hledger totals equal the trial balance', async () => {
    const { status, chunks, text } = await download('currency=HOUR&format=HLEDGER');
    expect(status).toBe(200);
    expect(chunks).toBeGreaterThan(2);
    expect(verifyJournal(text)).toMatchObject({ ok: true, transactions: TRANSFERS, linksChecked: TRANSFERS, gaps: 0 });
    const totals = await hledgerBalances(text, ['--strict']);
    const tb = await trialBalance(ledger.admin, 'HOUR');
    expect(tb.total).toBe('0.00');
    expect(new Map([...totals].map(([name, amount]) => [idOf(name), minor(amount, 2)]))).toEqual(
      new Map(tb.lines.filter((l) => l.balance !== '0.00').map((l) => [l.account.id, minor(l.balance, 2)])),
    );
  });

  it('streams CSV with one row per posting', async () => {
    const { status, text } = await download('currency=HOUR&format=CSV');
    expect(status).toBe(200);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(1 + 2 * TRANSFERS);
    expect(new Set(rows.slice(1).map((r) => r[1])).size).toBe(TRANSFERS);
  });

  it('an export that has started is not changed by transfers that arrive while it downloads', async () => {
    const response = await fetch(`${ledger.service.baseUrl}/exports/journal?currency=HOUR`, {
      headers: { authorization: `Bearer ${ledger.service.adminKey}` },
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    for (let i = 0; i < 10; i++) await pay(ledger.admin, accounts[0]!, accounts[1]!, '0.01');
    const decoder = new TextDecoder();
    let text = decoder.decode(first.value, { stream: true });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
    expect(verifyJournal(text)).toMatchObject({ ok: true, transactions: TRANSFERS, lastSequence: String(TRANSFERS) });
    const after = await (
      await fetch(`${ledger.service.baseUrl}/exports/journal?currency=HOUR`, {
        headers: { authorization: `Bearer ${ledger.service.adminKey}` },
      })
    ).text();
    expect(verifyJournal(after)).toMatchObject({ ok: true, transactions: TRANSFERS + 10 });
  });
});
