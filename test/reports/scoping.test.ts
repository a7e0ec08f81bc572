import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { addMember, issuanceAccount, pay, post, trialBalance } from './helpers';

const STATEMENT = 'query($id: ID!) { statement(accountId: $id) { closingBalance entries { edges { node { amount } } } } }';
const BALANCE_AT = 'query($id: ID!) { balanceAt(accountId: $id, asOf: "2999-01-01T00:00:00Z") }';

describe('role scoping of reports', () => {
  let ledger: TestLedger;
  const account: Record<string, string> = {};
  let member: GqlClient;
  let treasurer: GqlClient;
  let auditor: GqlClient;
  let integration: GqlClient;
  let otherIntegration: GqlClient;

  beforeAll(async () => {
    ledger = await startLedger();
    const { admin } = ledger;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const coop = await registerParty(admin, 'COOPERATIVE', 'Bakery Co-op');
    const mia = await registerParty(admin, 'MEMBER', 'Mia');
    const noor = await registerParty(admin, 'MEMBER', 'Noor');
    const olu = await registerParty(admin, 'MEMBER', 'Olu');
    await addMember(admin, coop, mia);
    await addMember(admin, coop, noor);
    const creditUnion = await registerParty(admin, 'CREDIT_UNION', 'Harbour CU');
    const otherUnion = await registerParty(admin, 'CREDIT_UNION', 'Hill CU');
    await createCurrency(admin, 'HBR', 'MONEY', 2, creditUnion);
    account.coop = await openAccount(admin, coop, 'HOUR');
    account.mia = await openAccount(admin, mia, 'HOUR');
    account.noor = await openAccount(admin, noor, 'HOUR');
    account.olu = await openAccount(admin, olu, 'HOUR');
    account.miaMoney = await openAccount(admin, mia, 'HBR');
    await pay(admin, account.mia, account.olu, '2.00');
    await pay(admin, account.noor, account.coop, '1.00');
    await pay(admin, account.olu, account.coop, '0.50');
    await post(admin, 'DEPOSIT', [
      { accountId: await issuanceAccount(admin, creditUnion, 'HBR'), amount: '-10.00' },
      { accountId: account.miaMoney, amount: '10.00' },
    ]);
    member = ledger.client(await createKey(admin, 'MEMBER', mia));
    treasurer = ledger.client(await createKey(admin, 'TREASURER', coop));
    auditor = ledger.client(await createKey(admin, 'AUDITOR'));
    integration = ledger.client(await createKey(admin, 'INTEGRATION', creditUnion));
    otherIntegration = ledger.client(await createKey(admin, 'INTEGRATION', otherUnion));
  });
  afterAll(async () => ledger.stop());

  const ids = (tb: { lines: { account: { id: string } }[] }) => tb.lines.map((l) => l.account.id).sort();

  it('a member sees only its own accounts: its lines in the trial balance, its own statement, no one else', async () => {
    const tb = await trialBalance(member, 'HOUR');
    expect(ids(tb)).toEqual([account.mia]);
    expect(tb.total).toBe('-2.00');
    expect((await member.ok(STATEMENT, { id: account.mia })).statement.closingBalance).toBe('-2.00');
    expect((await member.ok(BALANCE_AT, { id: account.mia })).balanceAt).toBe('-2.00');
    expect(await member.code(STATEMENT, { id: account.olu })).toBe('FORBIDDEN');
    expect(await member.code(STATEMENT, { id: account.coop })).toBe('FORBIDDEN');
    expect(await member.code(BALANCE_AT, { id: account.noor })).toBe('FORBIDDEN');
  });

  it("a treasurer sees its organisation's and its members' accounts, not outsiders'", async () => {
    const tb = await trialBalance(treasurer, 'HOUR');
    expect(ids(tb)).toEqual([account.coop, account.mia, account.noor].sort());
    expect(tb.total).toBe('-1.50');
    expect((await treasurer.ok(STATEMENT, { id: account.noor })).statement.closingBalance).toBe('-1.00');
    expect((await treasurer.ok(BALANCE_AT, { id: account.mia })).balanceAt).toBe('-2.00');
    expect(await treasurer.code(STATEMENT, { id: account.olu })).toBe('FORBIDDEN');
    expect(await treasurer.code(BALANCE_AT, { id: account.olu })).toBe('FORBIDDEN');
  });

  it('an auditor and an admin see every account, and the total is zero', async () => {
    for (const client of [auditor, ledger.admin]) {
      const tb = await trialBalance(client, 'HOUR');
      expect(ids(tb)).toEqual([account.coop, account.mia, account.noor, account.olu].sort());
      expect(tb.total).toBe('0.00');
      expect((await client.ok(STATEMENT, { id: account.olu })).statement.closingBalance).toBe('1.50');
    }
  });

  it('an integration reads the currency its credit union issues and nothing else', async () => {
    const tb = await trialBalance(integration, 'HBR');
    expect(tb.total).toBe('0.00');
    expect(tb.lines).toHaveLength(2);
    expect((await integration.ok(STATEMENT, { id: account.miaMoney })).statement.closingBalance).toBe('10.00');
    expect(await integration.code('{ trialBalance(currency: "HOUR") { total } }')).toBe('FORBIDDEN');
    expect(await integration.code(STATEMENT, { id: account.mia })).toBe('FORBIDDEN');
    expect(await otherIntegration.code('{ trialBalance(currency: "HBR") { total } }')).toBe('FORBIDDEN');
  });

  it('refuses a request without a valid key', async () => {
    expect(await ledger.client().code('{ trialBalance(currency: "HOUR") { total } }')).toBe('UNAUTHENTICATED');
    expect(await ledger.client('sl_not_a_key').code(STATEMENT, { id: account.mia })).toBe('UNAUTHENTICATED');
  });
});
