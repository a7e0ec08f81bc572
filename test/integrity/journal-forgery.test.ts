import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { fromEpochMicros } from '../../src/common/instant';
import { GENESIS_HASH, transactionHashV2 } from '../../src/ledger/posting/hash-chain';
import { JournalWriter, renderSeal, SEAL_PREFIX, type WriterPosting, type WriterTransaction } from '../../src/ledger/query/hledger-journal';
import { verifyJournal } from '../../src/ledger/query/journal-verifier';

const NETWORK = '00000000-0000-4000-8000-000000000001';
const CODE = 'HOUR';

type Draft = Omit<WriterTransaction, 'hash' | 'previousHash'> & { postings: WriterPosting[] };

/** What a forger who recomputes every hash, link and the seal can still not hide (SPEC B.2: the offline verifier checks what verifyLedger checks). */
const MUTATIONS = [
  'dated before the one above',
  'kind outside the enum',
  'a single posting',
  'a posting of zero',
  'an account twice',
  'a running balance off by one',
  'a posting carrying another sequence',
  'postings numbered out of order',
  'two accounts dropped from the journal',
] as const;
type Mutation = (typeof MUTATIONS)[number];

function drafts(accounts: readonly string[], amounts: readonly bigint[]): Draft[] {
  const balances = new Map<string, bigint>();
  let micros = BigInt(Date.parse('2026-03-01T00:00:00Z')) * 1000n;
  return amounts.map((amount, i) => {
    const from = accounts[i % accounts.length] as string;
    const to = accounts[(i + 1) % accounts.length] as string;
    micros += 1_000_001n;
    const sequence = BigInt(i + 1);
    const postings = [
      [from, -amount],
      [to, amount],
    ].map(([accountId, amountMinor], idx) => {
      const id = accountId as string;
      balances.set(id, (balances.get(id) ?? 0n) + (amountMinor as bigint));
      return {
        idx,
        accountId: id,
        amountMinor: amountMinor as bigint,
        balanceAfterMinor: balances.get(id) as bigint,
        sequence,
        currencyCode: CODE,
        partyName: `P${id.slice(0, 4)}`,
      };
    });
    return {
      hashVersion: 2,
      networkId: NETWORK,
      id: randomUUID(),
      sequence,
      kind: 'TRANSFER',
      postedAt: fromEpochMicros(micros),
      memo: null,
      metadata: null,
      metadataText: null,
      externalRef: null,
      reversesId: null,
      apiKeyId: null,
      postings,
    };
  });
}

/** Writes the journal as the exporter would, chaining every hash from what the drafts say. */
function write(list: readonly Draft[]): string {
  const writer = new JournalWriter({ code: CODE, scale: 2 }, () => true);
  let text = writer.header(['forged journal']);
  let previousHash = GENESIS_HASH;
  const totals = new Map<string, bigint>();
  for (const draft of list) {
    const unhashed = { ...draft, previousHash };
    const tx: WriterTransaction = { ...unhashed, hash: transactionHashV2(unhashed) };
    previousHash = tx.hash;
    text += writer.transaction(tx);
    for (const p of draft.postings) totals.set(p.accountId, (totals.get(p.accountId) ?? 0n) + p.amountMinor);
  }
  return text + writer.close(totals, new Date());
}

function reseal(journal: string): string {
  const start = journal.lastIndexOf(SEAL_PREFIX);
  const body = journal.slice(0, start);
  const count = Number(/^# end of export: (\d+) /.exec(journal.slice(start))?.[1]);
  return body + renderSeal(count, createHash('sha256').update(body).digest('hex'));
}

function mutate(list: Draft[], k: number, mutation: Mutation, accounts: readonly string[]): string {
  const tx = list[k] as Draft;
  const set = (changed: Partial<Draft>) => {
    list[k] = { ...tx, ...changed };
  };
  const postings = tx.postings;
  switch (mutation) {
    case 'dated before the one above':
      set({ postedAt: fromEpochMicros(BigInt(list[k - 1]!.postedAt.getTime()) * 1000n - 1n) });
      break;
    case 'kind outside the enum':
      set({ kind: 'GIFT' });
      break;
    case 'a single posting':
      set({ postings: [postings[0]!] });
      break;
    case 'a posting of zero':
      set({ postings: [...postings, { ...postings[0]!, idx: 2, accountId: accounts[2]!, amountMinor: 0n, balanceAfterMinor: 0n }] });
      break;
    case 'an account twice':
      set({ postings: [...postings, { ...postings[0]!, idx: 2, amountMinor: 1n }, { ...postings[1]!, idx: 3, amountMinor: -1n }] });
      break;
    case 'a running balance off by one':
      set({ postings: [{ ...postings[0]!, balanceAfterMinor: postings[0]!.balanceAfterMinor + 1n }, postings[1]!] });
      break;
    case 'a posting carrying another sequence':
      set({ postings: [postings[0]!, { ...postings[1]!, sequence: tx.sequence + 7n }] });
      break;
    case 'postings numbered out of order':
      set({ postings: [postings[0]!, { ...postings[1]!, idx: 5 }] });
      break;
    case 'two accounts dropped from the journal': {
      // Everything hledger reads of them removed (declarations, posting lines, assertions); the hash inputs still name them.
      const dropped = [postings[0]!.accountId, postings[1]!.accountId];
      const kept = write(list)
        .split('\n')
        .filter((line) => line.startsWith('# hash-input: ') || !dropped.some((id) => line.includes(id)))
        .join('\n');
      return reseal(kept);
    }
  }
  return write(list);
}

describe('the offline verifier against a forger who recomputes every hash, link and the seal', () => {
  it('an honest journal verifies, and each kind of forgery of any transaction is found', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.constantFrom(...MUTATIONS),
        (amounts, at, mutation) => {
          const accounts = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
          const list = drafts(accounts, amounts);
          expect(verifyJournal(write(list)).problem).toBeNull();
          const k = 1 + (at % (list.length - 1));
          const forged = mutate(list, k, mutation, accounts);
          const result = verifyJournal(forged);
          expect([mutation, result.ok]).toEqual([mutation, false]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('covers every kind of forgery at least once in a fixed tour', () => {
    for (const mutation of MUTATIONS) {
      const accounts = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const list = drafts(accounts, [100n, 250n, 75n, 40n]);
      expect([mutation, verifyJournal(mutate(list, 2, mutation, accounts)).ok]).toEqual([mutation, false]);
    }
  });
});
