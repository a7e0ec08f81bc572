import type { GqlClient } from './support/graphql';
import {
  balances,
  createCurrency,
  openAccount,
  registerParty,
  startLedger,
  type TestLedger,
  transfer,
  verifyLedger,
} from './support/ledger';

/** Minor units of a "12.34"-style amount, for exact sums in assertions. */
function minor(amount: string): bigint {
  return BigInt(amount.replace('.', ''));
}

describe('concurrent requests behave as if run one after another', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
  });
  afterAll(async () => ledger.stop());

  it('32 clients doing random transfers among 8 limited accounts conserve the total and never breach a limit', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 8; i++)
      accounts.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Bank member ${i}`), 'HOUR', '5'));
    const outcomes: string[] = [];
    const clients = Array.from({ length: 32 }, async (_, client) => {
      for (let n = 0; n < 20; n++) {
        const from = accounts[Math.floor(Math.random() * 8)] as string;
        let to = from;
        while (to === from) to = accounts[Math.floor(Math.random() * 8)] as string;
        const cents = 1 + Math.floor(Math.random() * 300);
        const result = await transfer(
          admin,
          from,
          to,
          `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
          `bank-${client}-${n}`,
        );
        outcomes.push(result.errors ? (result.errors[0]?.extensions?.code ?? 'NO_CODE') : 'POSTED');
      }
    });
    await Promise.all(clients);

    expect(outcomes).toHaveLength(640);
    expect(new Set(outcomes.filter((o) => o !== 'POSTED'))).toEqual(
      new Set(outcomes.includes('INSUFFICIENT_FUNDS') ? ['INSUFFICIENT_FUNDS'] : []),
    );
    const posted = outcomes.filter((o) => o === 'POSTED').length;
    expect(posted).toBeGreaterThan(100);

    let total = 0n;
    for (const id of accounts) {
      const b = await balances(admin, id);
      expect(minor(b.available)).toBeGreaterThanOrEqual(-500n);
      total += minor(b.posted);
    }
    expect(total).toBe(0n);
    const listed = await admin.ok('{ transactions(first: 500) { edges { cursor } } }');
    const more = await admin.ok('query($a: String) { transactions(first: 500, after: $a) { edges { cursor } } }', {
      after: null,
      a: listed.transactions.edges.at(-1)?.cursor ?? null,
    });
    expect(listed.transactions.edges.length + more.transactions.edges.length).toBe(posted);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: posted });
  });

  it('300 payments sent at once into one account all land', async () => {
    const coop = await openAccount(admin, await registerParty(admin, 'COOPERATIVE', 'Bakery co-op'), 'HOUR');
    const payers: string[] = [];
    for (let i = 0; i < 30; i++) payers.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Customer ${i}`), 'HOUR', '20'));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => transfer(admin, payers[i % 30] as string, coop, '1.00', `hot-${i}`)),
    );
    expect(results.filter((r) => r.errors)).toEqual([]);
    expect(new Set(results.map((r) => r.data?.transfer.id)).size).toBe(300);
    expect((await balances(admin, coop)).posted).toBe('300.00');
    for (const payer of payers) expect((await balances(admin, payer)).posted).toBe('-10.00');
    expect((await verifyLedger(admin)).ok).toBe(true);
  });

  it('the same idempotency key sent 16 times at once posts once', async () => {
    const a = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Eager'), 'HOUR');
    const b = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Patient'), 'HOUR');
    const results = await Promise.all(Array.from({ length: 16 }, () => transfer(admin, a, b, '2.00', 'pay-once')));
    expect(results.filter((r) => r.errors)).toEqual([]);
    expect(new Set(results.map((r) => r.data?.transfer.id)).size).toBe(1);
    expect((await balances(admin, b)).posted).toBe('2.00');
    const history = await admin.ok('query($id: ID!) { transactions(accountId: $id) { edges { node { id } } } }', { id: a });
    expect(history.transactions.edges).toHaveLength(1);
  });
});
