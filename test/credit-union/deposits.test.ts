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
import { DEPOSIT, DISTRIBUTE, issuanceAccount, RECONCILE, refusedWithoutChange, TRANSFER, WITHDRAWAL } from './support';

const POST = `mutation($postings: [PostingInput!]!, $key: String!) {
  postTransaction(postings: $postings, kind: DEPOSIT, idempotencyKey: $key) { id } }`;

describe('local dollars: deposits, withdrawals and reconciliation over HTTP', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let riverside: string;
  let issuance: string;
  let anaMke: string;
  let benMke: string;
  let anaLak: string;
  let anaHour: string;
  let integration: GqlClient;
  let lakesideIntegration: GqlClient;
  let anaMember: GqlClient;
  let auditor: GqlClient;

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    riverside = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    const lakeside = await registerParty(admin, 'CREDIT_UNION', 'Lakeside Credit Union');
    const ana = await registerParty(admin, 'MEMBER', 'Ana');
    const ben = await registerParty(admin, 'MEMBER', 'Ben');
    await createCurrency(admin, 'MKE', 'MONEY', 2, riverside);
    await createCurrency(admin, 'LAK', 'MONEY', 2, lakeside);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    issuance = await issuanceAccount(admin, riverside, 'MKE');
    anaMke = await openAccount(admin, ana, 'MKE');
    benMke = await openAccount(admin, ben, 'MKE');
    anaLak = await openAccount(admin, ana, 'LAK');
    anaHour = await openAccount(admin, ana, 'HOUR');
    integration = ledger.client(await createKey(admin, 'INTEGRATION', riverside));
    lakesideIntegration = ledger.client(await createKey(admin, 'INTEGRATION', lakeside));
    anaMember = ledger.client(await createKey(admin, 'MEMBER', ana));
    auditor = ledger.client(await createKey(admin, 'AUDITOR'));
  });
  afterAll(async () => ledger.stop());

  it('posts a deposit as issuance -X and member +X, kind DEPOSIT, keeping the external reference', async () => {
    const data = await integration.ok(DEPOSIT, { accountId: anaMke, amount: '250', ref: 'RCU-0001', key: 'dep-1' });
    expect(data.recordDeposit).toMatchObject({
      kind: 'DEPOSIT',
      externalRef: 'RCU-0001',
      postings: [
        { amount: '-250.00', account: { id: issuance } },
        { amount: '250.00', account: { id: anaMke } },
      ],
    });
    expect((await balances(admin, anaMke)).posted).toBe('250.00');
    expect((await balances(admin, issuance)).posted).toBe('-250.00');
    const read = await integration.ok('query($id: ID!) { transaction(id: $id) { externalRef kind } }', { id: data.recordDeposit.id });
    expect(read.transaction).toEqual({ externalRef: 'RCU-0001', kind: 'DEPOSIT' });
  });

  it('returns the original deposit for a repeated idempotency key and posts nothing again', async () => {
    const first = await integration.ok(DEPOSIT, { accountId: benMke, amount: '40.00', ref: 'RCU-0002', key: 'dep-2' });
    const before = await balances(admin, benMke);
    const again = await integration.ok(DEPOSIT, { accountId: benMke, amount: '40', ref: 'RCU-0002', key: 'dep-2' });
    expect(again.recordDeposit).toEqual(first.recordDeposit);
    expect(await balances(admin, benMke)).toEqual(before);
    await refusedWithoutChange(admin, integration, 'IDEMPOTENCY_CONFLICT', DEPOSIT, {
      accountId: benMke,
      amount: '41.00',
      ref: 'RCU-0002',
      key: 'dep-2',
    });
  });

  it('posts a withdrawal as member -X and issuance +X, kind WITHDRAWAL', async () => {
    const data = await integration.ok(WITHDRAWAL, { accountId: anaMke, amount: '50.25', ref: 'RCU-W-1', key: 'wd-1' });
    expect(data.recordWithdrawal).toMatchObject({
      kind: 'WITHDRAWAL',
      externalRef: 'RCU-W-1',
      postings: [
        { amount: '50.25', account: { id: issuance } },
        { amount: '-50.25', account: { id: anaMke } },
      ],
    });
    expect((await balances(admin, anaMke)).posted).toBe('199.75');
  });

  it("refuses a withdrawal past the member's limit (INSUFFICIENT_FUNDS) and changes nothing", async () => {
    await refusedWithoutChange(admin, integration, 'INSUFFICIENT_FUNDS', WITHDRAWAL, {
      accountId: anaMke,
      amount: '199.76',
      ref: 'RCU-W-2',
      key: 'wd-2',
    });
    await integration.ok(WITHDRAWAL, { accountId: anaMke, amount: '199.75', ref: 'RCU-W-3', key: 'wd-3' });
    expect((await balances(admin, anaMke)).posted).toBe('0.00');
    await integration.ok(DEPOSIT, { accountId: anaMke, amount: '100', ref: 'RCU-0003', key: 'dep-3' });
  });

  it('refuses bad deposits, each changing nothing', async () => {
    const deposit = (accountId: string, amount: string, key: string, ref = 'RCU-BAD') => ({ accountId, amount, ref, key });
    await refusedWithoutChange(admin, admin, 'CURRENCY_MISMATCH', DEPOSIT, deposit(anaHour, '1.00', 'bad-hour'));
    await refusedWithoutChange(admin, admin, 'VALIDATION_FAILED', DEPOSIT, deposit(issuance, '1.00', 'bad-issuance'));
    for (const amount of ['0', '-5.00', '1.001', '10000000000000.01']) {
      await refusedWithoutChange(admin, integration, 'INVALID_AMOUNT', DEPOSIT, deposit(anaMke, amount, `bad-amount-${amount}`));
    }
    await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSIT, deposit(anaMke, '1.00', 'bad-ref', '   '));
    await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSIT, deposit(anaMke, '1.00', ''));
    await refusedWithoutChange(admin, integration, 'NOT_FOUND', DEPOSIT, deposit('00000000-0000-4000-8000-000000000000', '1.00', 'bad-nf'));
    await refusedWithoutChange(admin, integration, 'VALIDATION_FAILED', DEPOSIT, deposit('not-an-id', '1.00', 'bad-id'));
    await admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id, reason: "under review") { status } }', { id: benMke });
    await refusedWithoutChange(admin, integration, 'ACCOUNT_FROZEN', DEPOSIT, deposit(benMke, '1.00', 'bad-frozen'));
    await refusedWithoutChange(admin, integration, 'ACCOUNT_FROZEN', WITHDRAWAL, deposit(benMke, '1.00', 'bad-frozen-wd'));
    await admin.ok('mutation($id: ID!) { unfreezeAccount(accountId: $id) { status } }', { id: benMke });
  });

  it("lets an integration key deposit and withdraw only its own credit union's currencies (FORBIDDEN otherwise)", async () => {
    await refusedWithoutChange(admin, lakesideIntegration, 'FORBIDDEN', DEPOSIT, {
      accountId: anaMke,
      amount: '1',
      ref: 'x',
      key: 'lak-1',
    });
    await refusedWithoutChange(admin, lakesideIntegration, 'FORBIDDEN', WITHDRAWAL, {
      accountId: anaMke,
      amount: '1',
      ref: 'x',
      key: 'lak-2',
    });
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', DEPOSIT, { accountId: anaLak, amount: '1', ref: 'x', key: 'rcu-lak' });
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', DEPOSIT, { accountId: anaHour, amount: '1', ref: 'x', key: 'rcu-hour' });
    const own = await lakesideIntegration.ok(DEPOSIT, { accountId: anaLak, amount: '5', ref: 'LAK-1', key: 'lak-3' });
    expect(own.recordDeposit.postings[1]).toEqual({ amount: '5.00', account: { id: anaLak } });
  });

  it('lets an integration key read accounts of its currencies only, and never transfer, distribute or post', async () => {
    expect((await balances(integration, anaMke)).posted).toBe('100.00');
    expect(await integration.code('query($id: ID!) { account(id: $id) { posted } }', { id: anaLak })).toBe('FORBIDDEN');
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', TRANSFER, { from: anaMke, to: benMke, amount: '1', key: 'int-t' });
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', TRANSFER, { from: issuance, to: benMke, amount: '1', key: 'int-t2' });
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', DISTRIBUTE, {
      from: anaMke,
      amount: '1',
      shares: [{ accountId: benMke, weight: 1 }],
      key: 'int-d',
    });
    await refusedWithoutChange(admin, integration, 'FORBIDDEN', POST, {
      key: 'int-p',
      postings: [
        { accountId: issuance, amount: '-1' },
        { accountId: benMke, amount: '1' },
      ],
    });
  });

  it('refuses deposits and withdrawals to member, treasurer and auditor keys (FORBIDDEN)', async () => {
    const coop = await registerParty(admin, 'COOPERATIVE', 'Bakery Co-op');
    const treasurer = ledger.client(await createKey(admin, 'TREASURER', coop));
    for (const client of [anaMember, treasurer, auditor]) {
      await refusedWithoutChange(admin, client, 'FORBIDDEN', DEPOSIT, { accountId: anaMke, amount: '1', ref: 'x', key: 'nope' });
      await refusedWithoutChange(admin, client, 'FORBIDDEN', WITHDRAWAL, { accountId: anaMke, amount: '1', ref: 'x', key: 'nope' });
    }
  });

  it('reconciles circulation (minus the issuance balance) with the reserve the credit union reports', async () => {
    // Deposits 250 + 40 + 100, withdrawals 50.25 + 199.75: 140.00 in circulation.
    const balanced = await integration.ok(RECONCILE, { currency: 'MKE', reserve: '140' });
    expect(balanced.reconciliation).toMatchObject({
      currency: { code: 'MKE', issuer: { name: 'Riverside Credit Union' } },
      circulation: '140.00',
      reserve: '140.00',
      difference: '0.00',
      balanced: true,
    });
    expect((await balances(admin, anaMke)).posted).toBe('100.00');
    expect((await balances(admin, benMke)).posted).toBe('40.00');
    const short = await auditor.ok(RECONCILE, { currency: 'MKE', reserve: '139.99' });
    expect(short.reconciliation).toMatchObject({ circulation: '140.00', reserve: '139.99', difference: '-0.01', balanced: false });
    const over = await admin.ok(RECONCILE, { currency: 'MKE', reserve: '150.5' });
    expect(over.reconciliation).toMatchObject({ difference: '10.50', balanced: false });
  });

  it('refuses reconciliation of another credit union, of time credits, of unknown currencies and of bad reserves', async () => {
    expect(await lakesideIntegration.code(RECONCILE, { currency: 'MKE', reserve: '0' })).toBe('FORBIDDEN');
    expect(await anaMember.code(RECONCILE, { currency: 'MKE', reserve: '0' })).toBe('FORBIDDEN');
    expect(await admin.code(RECONCILE, { currency: 'HOUR', reserve: '0' })).toBe('VALIDATION_FAILED');
    expect(await admin.code(RECONCILE, { currency: 'NOPE', reserve: '0' })).toBe('NOT_FOUND');
    expect(await admin.code(RECONCILE, { currency: 'MKE', reserve: '-1.00' })).toBe('INVALID_AMOUNT');
    expect(await admin.code(RECONCILE, { currency: 'MKE', reserve: '1.001' })).toBe('INVALID_AMOUNT');
    expect(await admin.code('query { reconciliation(currency: "MKE", reserve: 140) { balanced } }')).toBe('INVALID_AMOUNT');
  });

  it('leaves stored balances equal to the postings and the hash chain unbroken', async () => {
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
