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

describe('a service started on a fresh database', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => ledger.stop());

  it('serves health and a first transfer that verifyLedger accepts', async () => {
    const health = await fetch(`${ledger.service.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'up' });

    const ana = await registerParty(ledger.admin, 'MEMBER', 'Ana');
    const ben = await registerParty(ledger.admin, 'MEMBER', 'Ben');
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    const a = await openAccount(ledger.admin, ana, 'HOUR');
    const b = await openAccount(ledger.admin, ben, 'HOUR');
    const result = await transfer(ledger.admin, a, b, '1.5', 'first');
    expect(result.errors).toBeUndefined();
    expect(result.data?.transfer.sequence).toBe('1');
    expect((await balances(ledger.admin, a)).posted).toBe('-1.50');
    expect((await balances(ledger.admin, b)).available).toBe('1.50');
    expect(await verifyLedger(ledger.admin)).toEqual({ ok: true, transactionsChecked: 1, accountsChecked: 2, firstProblem: null });
  });
});
