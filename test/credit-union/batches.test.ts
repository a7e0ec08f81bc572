import type { GqlClient } from '../support/graphql';
import {
  balances,
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  startLedger,
  type TestLedger,
  verifyLedger,
} from '../support/ledger';
import {
  DEPOSITS,
  type DepositItem,
  fullSnapshot,
  issuanceAccount,
  openMemberAccounts,
  type PostedTransaction,
  postedBalances,
  RECONCILE,
  refusedWithoutChange,
} from './support';

/** Deposit i of a batch: a different amount per member so that a misplaced posting shows. */
function item(accountId: string, i: number, keyPrefix: string): DepositItem {
  const cents = 100 + i;
  return {
    accountId,
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    externalRef: `RCU-${keyPrefix}-${i}`,
    idempotencyKey: `${keyPrefix}-${i}`,
  };
}

describe('deposit batches: recordDeposits over HTTP', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let integration: GqlClient;
  let lakesideIntegration: GqlClient;
  let issuance: string;
  let members: string[];
  let frozen: string;
  let hourAccount: string;
  let lakAccount: string;
  let firstBatch: DepositItem[];
  let firstPosted: PostedTransaction[];

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const riverside = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    const lakeside = await registerParty(admin, 'CREDIT_UNION', 'Lakeside Credit Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, riverside);
    await createCurrency(admin, 'LAK', 'MONEY', 2, lakeside);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    issuance = await issuanceAccount(admin, riverside, 'MKE');
    members = await openMemberAccounts(admin, 'MKE', 1000, 'Member');
    const odd = await registerParty(admin, 'MEMBER', 'Odd One');
    frozen = await openAccount(admin, odd, 'MKE');
    await admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id, reason: "court order") { status } }', { id: frozen });
    hourAccount = await openAccount(admin, odd, 'HOUR');
    lakAccount = await openAccount(admin, odd, 'LAK');
    integration = ledger.client(await createKey(admin, 'INTEGRATION', riverside));
    lakesideIntegration = ledger.client(await createKey(admin, 'INTEGRATION', lakeside));
  });
  afterAll(async () => ledger.stop());

  it('posts a batch of 1000 deposits as 1000 DEPOSIT transactions in order, in one database transaction', async () => {
    firstBatch = members.map((accountId, i) => item(accountId, i, 'b1'));
    const data = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch: firstBatch });
    firstPosted = data.recordDeposits;
    expect(firstPosted).toHaveLength(1000);
    firstPosted.forEach((tx, i) => {
      const expected = firstBatch[i] as DepositItem;
      expect(tx).toMatchObject({
        kind: 'DEPOSIT',
        externalRef: expected.externalRef,
        postings: [
          { amount: `-${expected.amount}`, account: { id: issuance } },
          { amount: expected.amount, account: { id: expected.accountId } },
        ],
      });
    });
    // One posting group: consecutive sequences, and each posting time at least a microsecond
    // after the one before (SPEC B.2), all within the one group (well under a second).
    const sequences = firstPosted.map((tx) => BigInt(tx.sequence));
    sequences.forEach((s, i) => expect(s).toBe((sequences[0] as bigint) + BigInt(i)));
    const micros = firstPosted.map((tx) => BigInt(Date.parse(tx.postedAt)) * 1000n + BigInt(tx.postedAt.slice(-4, -1)));
    micros.slice(1).forEach((m, i) => expect(m > (micros[i] as bigint)).toBe(true));
    expect((micros.at(-1) as bigint) - (micros[0] as bigint)).toBeLessThan(1_000_000n);

    const posted = await postedBalances(admin);
    members.forEach((id, i) => expect([i, posted.get(id)]).toEqual([i, firstBatch[i]?.amount]));
    // 1000 deposits of 1.00 + i cents: 1000.00 + 4995.00.
    expect(posted.get(issuance)).toBe('-5995.00');
    const reconciliation = await integration.ok(RECONCILE, { currency: 'MKE', reserve: '5995.00' });
    expect(reconciliation.reconciliation).toMatchObject({ circulation: '5995.00', balanced: true });
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 1000 });
  });

  it('returns the original transactions for a replayed batch and posts nothing again', async () => {
    const before = await fullSnapshot(admin);
    const again = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch: firstBatch });
    expect(again.recordDeposits).toEqual(firstPosted);
    expect(await fullSnapshot(admin)).toBe(before);
  });

  it('posts only the new items of a batch retried with more items, returning the originals for the rest', async () => {
    const extended = [...firstBatch.slice(0, 3), item(members[3] as string, 3, 'b2'), item(members[4] as string, 4, 'b2')];
    const data = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch: extended });
    expect(data.recordDeposits.slice(0, 3)).toEqual(firstPosted.slice(0, 3));
    expect(data.recordDeposits.slice(3).map((tx) => BigInt(tx.sequence))).toEqual([1001n, 1002n]);
    expect((await balances(admin, members[3] as string)).posted).toBe('2.06');
    expect((await balances(admin, members[0] as string)).posted).toBe('1.00');
  });

  it('refuses a whole batch of 1000 for one frozen account, naming its index, and changes nothing', async () => {
    const batch = members.map((accountId, i) => item(accountId, i, 'b3'));
    batch[637] = { ...(batch[637] as DepositItem), accountId: frozen };
    const error = await refusedWithoutChange(admin, integration, 'ACCOUNT_FROZEN', DEPOSITS, { batch });
    expect(error.extensions?.index).toBe(637);
    expect(error.message).toMatch(/^item 637: /);
    // Nothing was posted, so the same keys post once the bad item is fixed.
    batch[637] = item(members[637] as string, 637, 'b3');
    const data = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch });
    expect(data.recordDeposits).toHaveLength(1000);
  });

  it('refuses a whole batch for an account in the wrong currency, naming its index, and changes nothing', async () => {
    const batch = members.slice(0, 10).map((accountId, i) => item(accountId, i, 'b4'));
    batch[3] = { ...(batch[3] as DepositItem), accountId: hourAccount };
    const timeCredits = await refusedWithoutChange(admin, admin, 'CURRENCY_MISMATCH', DEPOSITS, { batch });
    expect(timeCredits.extensions?.index).toBe(3);
    batch[3] = { ...batch[3], accountId: lakAccount };
    const otherIssuer = await refusedWithoutChange(admin, integration, 'FORBIDDEN', DEPOSITS, { batch });
    expect(otherIssuer.extensions?.index).toBe(3);
  });

  it('refuses a whole batch for one bad amount, naming its index, and changes nothing', async () => {
    const batch = members.map((accountId, i) => item(accountId, i, 'b5'));
    for (const amount of ['0', '-1.00', '0.001']) {
      batch[999] = { ...(batch[999] as DepositItem), amount };
      const error = await refusedWithoutChange(admin, integration, 'INVALID_AMOUNT', DEPOSITS, { batch });
      expect([amount, error.extensions?.index]).toEqual([amount, 999]);
    }
  });

  it('refuses a whole batch for an unknown account, a reused key or a key given twice, naming the index', async () => {
    const batch = members.slice(0, 20).map((accountId, i) => item(accountId, i, 'b6'));
    const unknown = [...batch];
    unknown[12] = { ...(batch[12] as DepositItem), accountId: '00000000-0000-4000-8000-000000000000' };
    expect((await refusedWithoutChange(admin, integration, 'NOT_FOUND', DEPOSITS, { batch: unknown })).extensions?.index).toBe(12);

    const conflicting = [...batch];
    conflicting[7] = { ...(firstBatch[7] as DepositItem), amount: '99.00' };
    const conflict = await refusedWithoutChange(admin, integration, 'IDEMPOTENCY_CONFLICT', DEPOSITS, { batch: conflicting });
    expect(conflict.extensions?.index).toBe(7);

    const twice = [...batch];
    twice[15] = { ...(batch[15] as DepositItem), idempotencyKey: (batch[2] as DepositItem).idempotencyKey };
    const repeated = await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSITS, { batch: twice });
    expect(repeated.extensions).toMatchObject({ index: 15, fields: [{ field: 'batch.15.idempotencyKey' }] });
  });

  /** Sends one batch twice at the same moment: both answers are the same transactions, and each deposit moved its balance once. */
  async function sentTwiceAtOnce(batch: DepositItem[]): Promise<void> {
    const before = await postedBalances(admin);
    const [a, b] = await Promise.all([integration.ok(DEPOSITS, { batch }), integration.ok(DEPOSITS, { batch })]);
    expect(a.recordDeposits).toHaveLength(batch.length);
    expect(b.recordDeposits).toEqual(a.recordDeposits);
    const after = await postedBalances(admin);
    const cents = (text: string | undefined) => BigInt((text ?? '0').replace('.', ''));
    batch.forEach((deposit) =>
      expect(cents(after.get(deposit.accountId)) - cents(before.get(deposit.accountId))).toBe(cents(deposit.amount)),
    );
  }

  it('posts a batch sent twice at the same moment once, and answers both with the same transactions', async () => {
    await sentTwiceAtOnce(members.slice(0, 200).map((accountId, i) => item(accountId, i, 'b10')));
  });

  it('posts a batch of 1000 sent twice at the same moment once: the second group, started while the first writes, replays it', async () => {
    // A batch this size starts its group while the group ahead is still writing (posting.service.ts,
    // EARLY_START_OPS), and looks for its keys before the head is its own (migrations/0035): the
    // first group's records are not committed yet when the second looks, and the second must
    // still answer with the first's transactions, never post them twice or fail.
    const batch = members.map((accountId, i) => item(accountId, i, 'b10-big'));
    expect(batch).toHaveLength(1000);
    await sentTwiceAtOnce(batch);
  });

  it('refuses a malformed account id, naming the item and its field (VALIDATION_FAILED)', async () => {
    const batch = members.slice(0, 5).map((accountId, i) => item(accountId, i, 'b11'));
    batch[4] = { ...batch[4], accountId: 'not-an-id' } as DepositItem;
    const error = await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSITS, { batch });
    expect(error.extensions).toMatchObject({ index: 4, fields: [{ field: 'batch.4.accountId', message: 'not a valid id' }] });
  });

  it('names index 0 when the only item of a batch is refused', async () => {
    const error = await refusedWithoutChange(admin, integration, 'ACCOUNT_FROZEN', DEPOSITS, { batch: [item(frozen, 0, 'b7')] });
    expect(error.extensions?.index).toBe(0);
  });

  it('refuses a batch of 1001 deposits and an empty batch (VALIDATION_FAILED), changing nothing', async () => {
    const batch = [...members, members[0] as string].map((accountId, i) => item(accountId, i, 'b8'));
    expect(batch).toHaveLength(1001);
    const error = await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSITS, { batch });
    expect(error.extensions?.fields).toEqual([{ field: 'batch', message: 'a batch holds 1 to 1000 deposits' }]);
    await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSITS, { batch: [] });
  });

  it("refuses a batch of another credit union's integration key (FORBIDDEN), changing nothing", async () => {
    const batch = members.slice(0, 5).map((accountId, i) => item(accountId, i, 'b9'));
    const error = await refusedWithoutChange(admin, lakesideIntegration, 'FORBIDDEN', DEPOSITS, { batch });
    expect(error.extensions?.index).toBe(0);
  });

  it('stores references and keys holding quotes, backslashes, braces, commas and the word NULL exactly as sent', async () => {
    // The group write sends its columns as PostgreSQL array literals: these are the characters that literal syntax gives meaning to.
    const awkward = ['say "hi"', 'back\\slash\\', '{a,b}', 'NULL', 'two  spaces\nnew line\ttab', 'comma,here', 'ünïcødé ✓', '\\"{,}"\\'];
    const batch = awkward.map((text, i) => ({
      ...item(members[i] as string, i, 'awkward'),
      externalRef: text,
      idempotencyKey: `k ${text.replace(/[\n\t]/g, ' ')}`,
    }));
    const data = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch });
    expect(data.recordDeposits.map((tx) => tx.externalRef)).toEqual(awkward);
    const stored = await Promise.all(
      data.recordDeposits.map(
        async (tx) =>
          (await admin.ok('query($id: ID!) { transaction(id: $id) { externalRef } }', { id: tx.id })).transaction.externalRef as string,
      ),
    );
    expect(stored).toEqual(awkward);
    // The keys were stored as sent too: the same batch again is a replay, not new deposits.
    const again = await integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch });
    expect(again.recordDeposits).toEqual(data.recordDeposits);
  });

  it('posts three different batches of 1000 sent at once, each deposit once, whichever group carries each', async () => {
    const batches = ['c1', 'c2', 'c3'].map((prefix) => members.map((accountId, i) => item(accountId, i, prefix)));
    const before = await postedBalances(admin);
    const answers = await Promise.all(batches.map((batch) => integration.ok<{ recordDeposits: PostedTransaction[] }>(DEPOSITS, { batch })));
    const ids = answers.flatMap((a) => a.recordDeposits.map((tx) => tx.id));
    expect(new Set(ids).size).toBe(3000);
    answers.forEach((a, b) => expect(a.recordDeposits.map((tx) => tx.externalRef)).toEqual(batches[b]?.map((d) => d.externalRef)));
    const after = await postedBalances(admin);
    const cents = (text: string | undefined) => BigInt((text ?? '0').replace('.', ''));
    // Each member got item i of each batch: three times its amount.
    members.forEach((accountId, i) => expect(cents(after.get(accountId)) - cents(before.get(accountId))).toBe(3n * (100n + BigInt(i))));
  });

  it('leaves stored balances equal to the postings and the hash chain unbroken', async () => {
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 6210, firstProblem: null });
  });
});
