import { splitByWeights } from '../../src/credit-union/distribution';
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
import { DEPOSIT, DISTRIBUTE, issuanceAccount, openMemberAccounts, refusedWithoutChange } from './support';

interface Distribution {
  id: string;
  kind: string;
  memo: string | null;
  metadata: { shares: { accountId: string; weight: number }[] };
  postings: { amount: string; account: { id: string } }[];
}

describe('distribution (royalty split) over HTTP', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let label: string;
  let artist: string;
  let investor: string;
  let cltSupport: string;
  let other: string;
  let hourAccount: string;
  let issuance: string;
  let artistKey: GqlClient;

  const shares = (...weights: number[]) =>
    [artist, investor, cltSupport].slice(0, weights.length).map((accountId, i) => ({ accountId, weight: weights[i] }));

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const riverside = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, riverside);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    issuance = await issuanceAccount(admin, riverside, 'MKE');
    const coop = await registerParty(admin, 'COOPERATIVE', 'Northside Records Co-op');
    const artistParty = await registerParty(admin, 'MEMBER', 'Rosa the artist');
    const clt = await registerParty(admin, 'LAND_TRUST', 'Eastside Community Land Trust');
    label = await openAccount(admin, coop, 'MKE');
    artist = await openAccount(admin, artistParty, 'MKE');
    investor = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ike the investor'), 'MKE');
    cltSupport = await openAccount(admin, clt, 'MKE');
    other = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Olu'), 'MKE');
    hourAccount = await openAccount(admin, artistParty, 'HOUR');
    await admin.ok(DEPOSIT, { accountId: label, amount: '1000.00', ref: 'RCU-1', key: 'fund-label' });
    await admin.ok(DEPOSIT, { accountId: artist, amount: '10.00', ref: 'RCU-2', key: 'fund-artist' });
    artistKey = ledger.client(await createKey(admin, 'MEMBER', artistParty));
  });
  afterAll(async () => ledger.stop());

  it('splits 100.00 over weights 1,1,1 into 33.34, 33.33, 33.33 as one DISTRIBUTION transaction', async () => {
    const data = await admin.ok<{ distribute: Distribution }>(DISTRIBUTE, {
      from: label,
      amount: '100',
      shares: shares(1, 1, 1),
      memo: 'album royalties',
      key: 'd-1',
    });
    expect(data.distribute).toMatchObject({
      kind: 'DISTRIBUTION',
      memo: 'album royalties',
      postings: [
        { amount: '-100.00', account: { id: label } },
        { amount: '33.34', account: { id: artist } },
        { amount: '33.33', account: { id: investor } },
        { amount: '33.33', account: { id: cltSupport } },
      ],
    });
    expect(data.distribute.metadata).toEqual({ shares: shares(1, 1, 1) });
    expect((await balances(admin, label)).posted).toBe('900.00');
  });

  it('splits 10.00 over weights 50,30,17 into 5.16, 3.09, 1.75', async () => {
    const data = await admin.ok<{ distribute: Distribution }>(DISTRIBUTE, {
      from: label,
      amount: '10.00',
      shares: shares(50, 30, 17),
      key: 'd-2',
    });
    expect(data.distribute.postings.map((p) => p.amount)).toEqual(['-10.00', '5.16', '3.09', '1.75']);
  });

  it('gives no posting to a share that rounds to zero', async () => {
    const data = await admin.ok<{ distribute: Distribution }>(DISTRIBUTE, {
      from: label,
      amount: '0.01',
      shares: shares(1, 1, 1),
      key: 'd-3',
    });
    expect(data.distribute.postings).toEqual([
      { amount: '-0.01', account: { id: label } },
      { amount: '0.01', account: { id: artist } },
    ]);
    expect(data.distribute.metadata.shares).toHaveLength(3);
  });

  it('posts exactly the parts of splitByWeights across many shares, summing to the whole', async () => {
    const accounts = await openMemberAccounts(admin, 'MKE', 40, 'Backer');
    const weights = accounts.map((_, i) => ((i * 7919) % 97) + 1);
    const many = accounts.map((accountId, i) => ({ accountId, weight: weights[i] }));
    const data = await admin.ok<{ distribute: Distribution }>(DISTRIBUTE, { from: label, amount: '123.45', shares: many, key: 'd-4' });
    const expected = splitByWeights(
      12345n,
      weights.map((w) => BigInt(w)),
    );
    const credited = new Map(data.distribute.postings.slice(1).map((p) => [p.account.id, p.amount]));
    accounts.forEach((id, i) => {
      const part = expected[i] as bigint;
      expect(credited.get(id)).toBe(part === 0n ? undefined : `${part / 100n}.${String(part % 100n).padStart(2, '0')}`);
    });
    expect(data.distribute.postings[0]).toEqual({ amount: '-123.45', account: { id: label } });
  });

  it('returns the original distribution for a repeated key and refuses the key with other shares', async () => {
    const first = await admin.ok(DISTRIBUTE, { from: label, amount: '7.00', shares: shares(2, 1), key: 'd-5' });
    const before = await balances(admin, label);
    const again = await admin.ok(DISTRIBUTE, { from: label, amount: '7', shares: shares(2, 1), key: 'd-5' });
    expect(again.distribute).toEqual(first.distribute);
    expect(await balances(admin, label)).toEqual(before);
    await refusedWithoutChange(admin, admin, 'IDEMPOTENCY_CONFLICT', DISTRIBUTE, {
      from: label,
      amount: '7.00',
      shares: shares(1, 2),
      key: 'd-5',
    });
  });

  it('refuses weights that are not greater than zero, naming the share (VALIDATION_FAILED), and changes nothing', async () => {
    for (const weight of [0, -3]) {
      const error = await refusedWithoutChange(admin, admin, 'VALIDATION_FAILED', DISTRIBUTE, {
        from: label,
        amount: '1.00',
        shares: [
          { accountId: artist, weight: 1 },
          { accountId: investor, weight },
        ],
        key: `w-${weight}`,
      });
      expect(error.extensions?.fields).toEqual([{ field: 'shares.1.weight', message: 'must be a whole number greater than zero' }]);
    }
    expect(await admin.code(DISTRIBUTE, { from: label, amount: '1.00', shares: [{ accountId: artist, weight: 1.5 }], key: 'w-frac' })).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('refuses no shares, more than 1000, a share twice and the payer as a share (VALIDATION_FAILED)', async () => {
    const refuse = (list: unknown[], key: string) =>
      refusedWithoutChange(admin, admin, 'VALIDATION_FAILED', DISTRIBUTE, { from: label, amount: '1.00', shares: list, key });
    await refuse([], 'none');
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({
      accountId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      weight: 1,
    }));
    expect((await refuse(tooMany, 'too-many')).extensions?.fields).toEqual([
      { field: 'shares', message: 'a distribution has 1 to 1000 shares' },
    ]);
    await refuse(
      [
        { accountId: artist, weight: 1 },
        { accountId: artist, weight: 2 },
      ],
      'twice',
    );
    await refuse([{ accountId: label, weight: 1 }], 'payer');
  });

  it('refuses other currencies, amounts beyond the payer, frozen shares, bad amounts and the issuance account', async () => {
    await refusedWithoutChange(admin, admin, 'CURRENCY_MISMATCH', DISTRIBUTE, {
      from: label,
      amount: '1.00',
      shares: [{ accountId: hourAccount, weight: 1 }],
      key: 'cur',
    });
    await refusedWithoutChange(admin, admin, 'INSUFFICIENT_FUNDS', DISTRIBUTE, {
      from: label,
      amount: '100000.00',
      shares: shares(1, 1),
      key: 'big',
    });
    for (const amount of ['0', '-1.00', '1.001']) {
      await refusedWithoutChange(admin, admin, 'INVALID_AMOUNT', DISTRIBUTE, {
        from: label,
        amount,
        shares: shares(1, 1),
        key: `amt-${amount}`,
      });
    }
    await refusedWithoutChange(admin, admin, 'NOT_FOUND', DISTRIBUTE, {
      from: label,
      amount: '1.00',
      shares: [{ accountId: '00000000-0000-4000-8000-000000000000', weight: 1 }],
      key: 'nf',
    });
    await refusedWithoutChange(admin, admin, 'VALIDATION_FAILED', DISTRIBUTE, {
      from: issuance,
      amount: '1.00',
      shares: shares(1),
      key: 'mint',
    });
    await admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id) { status } }', { id: investor });
    await refusedWithoutChange(admin, admin, 'ACCOUNT_FROZEN', DISTRIBUTE, {
      from: label,
      amount: '1.00',
      shares: shares(1, 1),
      key: 'frozen',
    });
    await admin.ok('mutation($id: ID!) { unfreezeAccount(accountId: $id) { status } }', { id: investor });
  });

  it("lets a member distribute from their own account only (FORBIDDEN from anyone else's)", async () => {
    const own = await artistKey.ok<{ distribute: Distribution }>(DISTRIBUTE, {
      from: artist,
      amount: '3.00',
      shares: [
        { accountId: investor, weight: 1 },
        { accountId: other, weight: 2 },
      ],
      key: 'm-1',
    });
    expect(own.distribute.postings.map((p) => p.amount)).toEqual(['-3.00', '1.00', '2.00']);
    await refusedWithoutChange(admin, artistKey, 'FORBIDDEN', DISTRIBUTE, { from: label, amount: '3.00', shares: shares(1), key: 'm-2' });
  });

  it('leaves stored balances equal to the postings and the hash chain unbroken', async () => {
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
