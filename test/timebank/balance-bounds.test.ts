import type { GqlClient } from '../support/graphql';
import { balances, createCurrency, registerParty, snapshot, startLedger, transfer, verifyLedger, type TestLedger } from '../support/ledger';
import { captureHold, codeOf, createHold, dataOf, newMember, recordExchange, setUpHours, voidHold, type Member } from './helpers';

const BOUNDS = 'id creditLimit maxBalance posted pendingCredits';

async function openWith(admin: GqlClient, partyId: string, currency: string, args: { creditLimit?: string; maxBalance?: string } = {}) {
  return (
    await admin.ok(
      `mutation($p: ID!, $c: String!, $l: Amount, $m: Amount) { openAccount(partyId: $p, currency: $c, creditLimit: $l, maxBalance: $m) { ${BOUNDS} } }`,
      { p: partyId, c: currency, l: args.creditLimit ?? null, m: args.maxBalance ?? null },
    )
  ).openAccount as { id: string; creditLimit: string; maxBalance: string | null };
}

function setMaxBalance(client: GqlClient, accountId: string, maxBalance: string | null) {
  return client.request(`mutation($a: ID!, $m: Amount) { setMaxBalance(accountId: $a, maxBalance: $m) { ${BOUNDS} } }`, {
    a: accountId,
    m: maxBalance,
  });
}

describe('balance bounds (SPEC B.4)', () => {
  let ledger: TestLedger;

  beforeAll(async () => {
    ledger = await startLedger({ DEFAULT_TIME_CREDIT_LIMIT: '10' });
    await setUpHours(ledger.admin);
  });
  afterAll(async () => {
    await ledger.stop();
  });

  it('gives a new account its bounds from its own arguments, then the currency defaults, then DEFAULT_TIME_CREDIT_LIMIT or 0', async () => {
    const admin = ledger.admin;
    const party = await registerParty(admin, 'MEMBER', 'Dana');
    const created = (
      await admin.ok(
        `mutation { createCurrency(code: "CARE", name: "Care hours", kind: TIME, scale: 2, defaultCreditLimit: "4", defaultMaxBalance: "20") {
           code defaultCreditLimit defaultMaxBalance } }`,
      )
    ).createCurrency;
    expect(created).toEqual({ code: 'CARE', defaultCreditLimit: '4.00', defaultMaxBalance: '20.00' });
    expect(await openWith(admin, party, 'CARE')).toMatchObject({ creditLimit: '4.00', maxBalance: '20.00' });
    expect(await openWith(admin, party, 'CARE', { creditLimit: '1', maxBalance: '2.5' })).toMatchObject({
      creditLimit: '1.00',
      maxBalance: '2.50',
    });
    // Without currency defaults: the deployment's TIME default and no upper bound.
    expect(await openWith(admin, party, 'HOUR')).toMatchObject({ creditLimit: '10.00', maxBalance: null });
    const cu = await registerParty(admin, 'CREDIT_UNION', 'Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, cu);
    expect(await openWith(admin, party, 'MKE')).toMatchObject({ creditLimit: '0.00', maxBalance: null });

    // Changed defaults apply to accounts opened later; those already open keep theirs.
    const before = await openWith(admin, party, 'MKE', { maxBalance: '1' });
    const changed = (
      await admin.ok(
        'mutation { setCurrencyDefaults(code: "MKE", defaultCreditLimit: "50", defaultMaxBalance: "1000") { defaultCreditLimit defaultMaxBalance } }',
      )
    ).setCurrencyDefaults;
    expect(changed).toEqual({ defaultCreditLimit: '50.00', defaultMaxBalance: '1000.00' });
    expect(await openWith(admin, party, 'MKE')).toMatchObject({ creditLimit: '50.00', maxBalance: '1000.00' });
    expect(await balances(admin, before.id)).toMatchObject({ creditLimit: '0.00' });
    const cleared = (
      await admin.ok('mutation { setCurrencyDefaults(code: "MKE", defaultCreditLimit: null) { defaultCreditLimit defaultMaxBalance } }')
    ).setCurrencyDefaults;
    expect(cleared).toEqual({ defaultCreditLimit: null, defaultMaxBalance: null });
  });

  it('refuses bad bounds and non-admin callers, with SPEC codes', async () => {
    const ana = await newMember(ledger.admin, 'Ana');
    expect(codeOf(await setMaxBalance(ledger.admin, ana.accountId, '-1'))).toBe('INVALID_AMOUNT');
    expect(codeOf(await setMaxBalance(ledger.admin, ana.accountId, '1.001'))).toBe('INVALID_AMOUNT');
    expect(codeOf(await setMaxBalance(ledger.admin, ana.accountId, '99999999999999999999'))).toBe('INVALID_AMOUNT');
    expect(codeOf(await setMaxBalance(ledger.client(ana.key), ana.accountId, '100'))).toBe('FORBIDDEN');
    expect(
      codeOf(await ledger.client(ana.key).request('mutation { setCurrencyDefaults(code: "HOUR", defaultMaxBalance: "1") { code } }')),
    ).toBe('FORBIDDEN');
    expect(codeOf(await ledger.admin.request('mutation { setCurrencyDefaults(code: "NOPE", defaultMaxBalance: "1") { code } }'))).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses a payment that would lift the receiver above its maximum balance with BALANCE_LIMIT_EXCEEDED, naming no number, changing nothing', async () => {
    const payer = await newMember(ledger.admin, 'Payer');
    const capped = await newMember(ledger.admin, 'Capped');
    dataOf(await setMaxBalance(ledger.admin, capped.accountId, '3.25'));
    expect((await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '3.25', 'up-to-cap')).errors).toBeUndefined();
    const before = await snapshot(ledger.admin);
    const refused = await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '0.01', 'past-cap');
    expect(codeOf(refused)).toBe('BALANCE_LIMIT_EXCEEDED');
    // The payer may not read the receiver's account: the message shows none of its numbers.
    expect(refused.errors?.[0]?.message).not.toMatch(/3\.2|3\.25|0\.01|\d+\.\d\d/);
    expect(await snapshot(ledger.admin)).toBe(before);
    // The capped account may still spend, and then receive again.
    expect((await transfer(ledger.client(capped.key), capped.accountId, payer.accountId, '1', 'spend'))?.errors).toBeUndefined();
    expect((await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '1', 'refill')).errors).toBeUndefined();
    // Removing the bound lets it rise again.
    expect(dataOf(await setMaxBalance(ledger.admin, capped.accountId, null)).setMaxBalance.maxBalance).toBeNull();
    expect((await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '5', 'unbounded')).errors).toBeUndefined();
  });

  it('counts holds and pending claims against the maximum at once, and releases them when voided', async () => {
    const payer = await newMember(ledger.admin, 'Hold payer');
    const capped = await newMember(ledger.admin, 'Hold capped');
    dataOf(await setMaxBalance(ledger.admin, capped.accountId, '2'));
    const hold = dataOf(
      await createHold(ledger.client(payer.key), { from: payer.accountId, to: capped.accountId, amount: '1.5', key: 'h1' }),
    ).createHold;
    expect(await balances(ledger.admin, capped.accountId)).toMatchObject({ posted: '0.00', pendingCredits: '1.50' });
    expect(codeOf(await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '0.51', 't1'))).toBe(
      'BALANCE_LIMIT_EXCEEDED',
    );
    expect(
      codeOf(await createHold(ledger.client(payer.key), { from: payer.accountId, to: capped.accountId, amount: '0.51', key: 'h2' })),
    ).toBe('BALANCE_LIMIT_EXCEEDED');
    // A claim by the capped provider is a hold in its favour: refused the same way.
    expect(
      codeOf(
        await recordExchange(ledger.client(capped.key), {
          provider: capped.accountId,
          receiver: payer.accountId,
          hours: '0.75',
          key: 'c1',
        }),
      ),
    ).toBe('BALANCE_LIMIT_EXCEEDED');
    // Capturing less than held lowers posted + pendingCredits: allowed.
    dataOf(await captureHold(ledger.client(payer.key), hold.id, '1'));
    expect(await balances(ledger.admin, capped.accountId)).toMatchObject({ posted: '1.00', pendingCredits: '0.00' });
    const second = dataOf(
      await createHold(ledger.client(payer.key), { from: payer.accountId, to: capped.accountId, amount: '1', key: 'h3' }),
    ).createHold;
    expect(codeOf(await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '0.01', 't2'))).toBe(
      'BALANCE_LIMIT_EXCEEDED',
    );
    dataOf(await voidHold(ledger.client(payer.key), second.id));
    expect((await transfer(ledger.client(payer.key), payer.accountId, capped.accountId, '1', 't3')).errors).toBeUndefined();
  });

  it('refuses a reversal that would lift an account above a bound lowered since, and allows one that lowers it', async () => {
    const ana = await newMember(ledger.admin, 'Rev Ana');
    const ben = await newMember(ledger.admin, 'Rev Ben');
    dataOf(await transfer(ledger.client(ben.key), ben.accountId, ana.accountId, '3', 'rev-in'));
    const paid = dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '2', 'rev-out')).transfer;
    dataOf(await setMaxBalance(ledger.admin, ana.accountId, '2'));
    dataOf(await setMaxBalance(ledger.admin, ben.accountId, '0'));
    const reverse = (id: string, key: string) =>
      ledger.admin.request(
        'mutation($id: ID!, $k: String!) { reverseTransaction(id: $id, reason: "mistake", idempotencyKey: $k) { id } }',
        {
          id,
          k: key,
        },
      );
    // Reversing the payment would bring Ana from 1 back to 3, above her new bound of 2.
    const before = await snapshot(ledger.admin);
    expect(codeOf(await reverse(paid.id, 'rev-1'))).toBe('BALANCE_LIMIT_EXCEEDED');
    expect(await snapshot(ledger.admin)).toBe(before);
    // The reversal lowers Ben (bound 0) from -1 to -3: a falling account is never refused for its maximum.
    dataOf(await setMaxBalance(ledger.admin, ana.accountId, null));
    expect((await reverse(paid.id, 'rev-2')).errors).toBeUndefined();
  });

  it('lets exactly as many concurrent payments through as fit under the maximum', async () => {
    const capped = await newMember(ledger.admin, 'Hot capped');
    dataOf(await setMaxBalance(ledger.admin, capped.accountId, '10'));
    const payers: Member[] = [];
    for (let i = 0; i < 6; i++) payers.push(await newMember(ledger.admin, `Hot payer ${i}`));
    const attempts = payers.flatMap((p, i) =>
      [0, 1, 2, 3].map((j) => transfer(ledger.client(p.key), p.accountId, capped.accountId, '1', `hot-${i}-${j}`)),
    );
    const results = await Promise.all(attempts);
    const ok = results.filter((r) => !r.errors).length;
    expect(ok).toBe(10);
    expect(new Set(results.filter((r) => r.errors).map((r) => codeOf(r)))).toEqual(new Set(['BALANCE_LIMIT_EXCEEDED']));
    expect(await balances(ledger.admin, capped.accountId)).toMatchObject({ posted: '10.00' });
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
  });

  it('shows maxBalance only to whoever may read the account', async () => {
    const ana = await newMember(ledger.admin, 'Read Ana');
    const ben = await newMember(ledger.admin, 'Read Ben');
    dataOf(await setMaxBalance(ledger.admin, ben.accountId, '5'));
    const own = await ledger.client(ben.key).request('query($id: ID!) { account(id: $id) { maxBalance } }', { id: ben.accountId });
    expect(dataOf(own).account.maxBalance).toBe('5.00');
    const other = await ledger.client(ana.key).request('query($id: ID!) { account(id: $id) { id maxBalance } }', { id: ben.accountId });
    expect(codeOf(other)).toBe('FORBIDDEN');
  });
});
