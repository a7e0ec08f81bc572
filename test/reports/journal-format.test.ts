import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { fromEpochMicros } from '../../src/common/instant';
import { GENESIS_HASH, jsonbText, transactionHashV2 } from '../../src/ledger/posting/hash-chain';
import { JournalWriter, safeText, type WriterTransaction } from '../../src/ledger/query/hledger-journal';
import { verifyJournal } from '../../src/ledger/query/journal-verifier';
import { hledgerBalances, idOf } from './helpers';

const NETWORK = '00000000-0000-4000-8000-000000000001';

/** Pieces of text that hledger, spreadsheets or JSON could misread. */
const AWKWARD = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  ';',
  ':',
  '"',
  "'",
  '\\',
  '=',
  '@',
  '*',
  '!',
  '(',
  ')',
  '[',
  ']',
  '#',
  '|',
  ',',
  '%',
  '$',
  '-',
  '+',
  '{',
  '}',
  'é',
  'Zoë',
  '🌱',
  '\u00a0',
  '\u2028',
  'a',
  'Bo',
  '42',
  '1.5',
];
const awkwardText = (maxLength: number) =>
  fc
    .array(fc.constantFrom(...AWKWARD), { minLength: 1, maxLength })
    .map((parts) => parts.join('').trim())
    .filter((text) => text.length > 0);

const journalInput = fc.record({
  scale: fc.integer({ min: 0, max: 8 }),
  code: fc.constantFrom('HOUR', 'MKE', 'B2B', 'L_3', 'TIME_BANK'),
  names: fc.array(awkwardText(8), { minLength: 2, maxLength: 6 }),
  transfers: fc.array(
    fc.record({
      from: fc.nat(),
      to: fc.nat(),
      amountMinor: fc.bigInt({ min: 1n, max: 10n ** 15n }),
      memo: fc.option(awkwardText(10), { nil: null }),
      ref: fc.option(awkwardText(5), { nil: null }),
      metadata: fc.option(
        fc.dictionary(awkwardText(3), fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), awkwardText(4))),
        {
          nil: null,
        },
      ),
      otherCurrency: fc.boolean(),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  partial: fc.boolean(),
});

describe('the hledger journal format', () => {
  it('keeps hledger-significant characters out of account names and descriptions', () => {
    fc.assert(
      fc.property(awkwardText(20), (text) => {
        const name = safeText(text, true);
        expect(name).not.toMatch(/ {2}|[\t\n\r;:]/);
        expect(safeText(text, false)).not.toMatch(/ {2}|[\t\n\r;]/);
      }),
    );
  });

  it('any journal of awkward names, memos and metadata verifies offline, and hledger reads it with the totals the postings make', async () => {
    await fc.assert(
      fc.asyncProperty(journalInput, async (input) => {
        const accounts = input.names.map((name) => ({ id: randomUUID(), name }));
        const others = [randomUUID(), randomUUID()] as const;
        const mayRead = (id: string) => !input.partial || id !== accounts[0]!.id;
        const writer = new JournalWriter({ code: input.code, scale: input.scale }, mayRead);
        const totals = new Map<string, bigint>();
        let text = writer.header(['random journal']);
        let previousHash = GENESIS_HASH;
        let postedAt = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1000n;
        const otherTotals = new Map<string, bigint>();
        const balance = (id: string, change: bigint, currency: string) => {
          const map = currency === input.code ? totals : otherTotals;
          map.set(id, (map.get(id) ?? 0n) + change);
          return map.get(id) as bigint;
        };
        for (const [i, t] of input.transfers.entries()) {
          const from = accounts[t.from % accounts.length]!;
          let to = accounts[t.to % accounts.length]!;
          if (to === from) to = accounts[(t.to + 1) % accounts.length]!;
          postedAt += 3_600_000_001n * BigInt(i % 3) + 1n;
          const sequence = BigInt(i + 1);
          const legs = [
            { accountId: from.id, amountMinor: -t.amountMinor, currencyCode: input.code, partyName: from.name },
            ...(t.otherCurrency
              ? [
                  { accountId: others[0], amountMinor: -5n, currencyCode: 'ZZZ', partyName: 'x' },
                  { accountId: others[1], amountMinor: 5n, currencyCode: 'ZZZ', partyName: 'y' },
                ]
              : []),
            { accountId: to.id, amountMinor: t.amountMinor, currencyCode: input.code, partyName: to.name },
          ];
          const postings = legs.map((leg, idx) => ({
            ...leg,
            idx,
            sequence,
            balanceAfterMinor: balance(leg.accountId, leg.amountMinor, leg.currencyCode),
          }));
          const unhashed = {
            hashVersion: 2,
            networkId: NETWORK,
            id: randomUUID(),
            sequence,
            kind: 'TRANSFER',
            postedAt: fromEpochMicros(postedAt),
            previousHash,
            memo: t.memo,
            metadata: null,
            metadataText: t.metadata === null ? null : jsonbText(t.metadata),
            externalRef: t.ref,
            reversesId: null,
            apiKeyId: null,
            postings,
          };
          const tx: WriterTransaction = { ...unhashed, hash: transactionHashV2(unhashed) };
          previousHash = tx.hash;
          text += writer.transaction(tx);
        }
        text += writer.close(new Map(writer.ownAccounts().map((id) => [id, totals.get(id) ?? 0n])), new Date());

        const verified = verifyJournal(text);
        expect(verified.problem).toBeNull();
        expect(verified).toMatchObject({ transactions: input.transfers.length, linksChecked: input.transfers.length, gaps: 0 });
        const read = await hledgerBalances(text, ['--strict', '--empty']);
        for (const [name, amount] of read) {
          const digits = amount.replace('.', '');
          expect(BigInt(digits === '0' ? '0' : digits)).toBe(totals.get(idOf(name)) ?? 0n);
        }
      }),
      { numRuns: 40 },
    );
  });
});
