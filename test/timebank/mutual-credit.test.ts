import fc from 'fast-check';
import type { Client } from 'pg';
import { connect } from '../support/database';
import type { GqlClient, GqlResponse } from '../support/graphql';
import {
  balances,
  createCurrency,
  openAccount,
  registerParty,
  startLedger,
  transfer,
  verifyLedger,
  type TestLedger,
} from '../support/ledger';
import {
  addMember,
  captureHold,
  codeOf,
  confirmExchange,
  createHold,
  dataOf,
  disputeExchange,
  newMember,
  recordExchange,
  setUpHours,
  voidHold,
  type Member,
} from './helpers';

/** Refusals a random mix of operations may meet; anything else (INTERNAL above all) fails the test. */
const EXPECTED_REFUSALS = new Set(['INSUFFICIENT_FUNDS', 'BALANCE_LIMIT_EXCEEDED', 'HOLD_NOT_PENDING', 'VALIDATION_FAILED', 'FORBIDDEN']);

describe('mutual credit', () => {
  let ledger: TestLedger;
  let db: Client;

  beforeAll(async () => {
    ledger = await startLedger({ DEFAULT_TIME_CREDIT_LIMIT: '7.5' });
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('gives a TIME account opened without a limit the deployment default, and holds it to that limit', async () => {
    const member = await newMember(ledger.admin, 'Ana');
    expect((await balances(ledger.admin, member.accountId)).creditLimit).toBe('7.50');
    const other = await newMember(ledger.admin, 'Ben', { creditLimit: '2' });
    expect((await balances(ledger.admin, other.accountId)).creditLimit).toBe('2.00');
    const cu = await registerParty(ledger.admin, 'CREDIT_UNION', 'Union');
    await createCurrency(ledger.admin, 'MKE', 'MONEY', 2, cu);
    expect((await balances(ledger.admin, await openAccount(ledger.admin, member.partyId, 'MKE'))).creditLimit).toBe('0.00');

    expect((await transfer(ledger.client(member.key), member.accountId, other.accountId, '7.5', 'to-the-limit')).errors).toBeUndefined();
    expect(await balances(ledger.admin, member.accountId)).toMatchObject({ posted: '-7.50', available: '-7.50' });
    expect(codeOf(await transfer(ledger.client(member.key), member.accountId, other.accountId, '0.01', 'past-the-limit'))).toBe(
      'INSUFFICIENT_FUNDS',
    );
  });

  it('lets the COMMUNITY pool grant welcome hours and pay for community work, within the pool’s own limit', async () => {
    const pool = await newMember(ledger.admin, 'Riverside Time Bank', { kind: 'COMMUNITY', role: 'TREASURER', creditLimit: '100' });
    const newcomer = await newMember(ledger.admin, 'Cara');
    await addMember(ledger.admin, pool.partyId, newcomer.partyId);
    // Welcome credits: the time bank's treasurer pays from the pool.
    expect((await transfer(ledger.client(pool.key), pool.accountId, newcomer.accountId, '5', 'welcome-cara')).errors).toBeUndefined();
    // Community work: the newcomer gave the time bank two hours; its coordinator records it, so it posts at once.
    const work = dataOf(
      await recordExchange(ledger.client(pool.key), {
        provider: newcomer.accountId,
        receiver: pool.accountId,
        hours: '2',
        description: 'stall at the fair',
        key: 'fair',
      }),
    ).recordExchange;
    expect(work.status).toBe('CONFIRMED');
    expect(await balances(ledger.admin, newcomer.accountId)).toMatchObject({ posted: '7.00', available: '7.00' });
    expect(await balances(ledger.admin, pool.accountId)).toMatchObject({ posted: '-7.00', available: '-7.00' });
    // The newcomer may now spend its 7 hours plus its own limit of 7.5.
    expect((await transfer(ledger.client(newcomer.key), newcomer.accountId, pool.accountId, '14.5', 'all-of-it')).errors).toBeUndefined();
    expect(codeOf(await transfer(ledger.client(newcomer.key), newcomer.accountId, pool.accountId, '0.01', 'one-more'))).toBe(
      'INSUFFICIENT_FUNDS',
    );
    // The pool holds 7.50 now and may go down to -100.
    expect(codeOf(await transfer(ledger.client(pool.key), pool.accountId, newcomer.accountId, '107.51', 'too-generous'))).toBe(
      'INSUFFICIENT_FUNDS',
    );
  });

  it('keeps the sum of every TIME currency at zero and every account within both bounds under any mix of exchanges, holds and transfers (property)', async () => {
    await createCurrency(ledger.admin, 'CARE', 'TIME', 0);
    const people: { hour: Member; care: string }[] = [];
    for (const name of ['P0', 'P1', 'P2', 'P3']) {
      const hour = await newMember(ledger.admin, name, { creditLimit: '3' });
      people.push({ hour, care: await openAccount(ledger.admin, hour.partyId, 'CARE', '4') });
      // Upper bounds (SPEC B.4) tight enough for random mixes to meet them: 4 hours, 5 care credits.
      await ledger.admin.ok('mutation($a: ID!, $m: Amount) { setMaxBalance(accountId: $a, maxBalance: $m) { id } }', {
        a: hour.accountId,
        m: '4',
      });
      await ledger.admin.ok('mutation($a: ID!, $m: Amount) { setMaxBalance(accountId: $a, maxBalance: $m) { id } }', {
        a: people.at(-1)?.care,
        m: '5',
      });
    }
    const pending: { exchanges: string[]; holds: string[] } = { exchanges: [], holds: [] };
    let step = 0;
    const succeeded = new Map<string, number>();
    const refusals = new Set<string>();

    const op = fc.record({
      kind: fc.constantFrom('transfer', 'care', 'byReceiver', 'byProvider', 'confirm', 'dispute', 'hold', 'capture', 'void'),
      a: fc.nat({ max: 3 }),
      b: fc.nat({ max: 3 }),
      minor: fc.integer({ min: 1, max: 250 }),
      pick: fc.nat(),
    });

    const run = async (o: { kind: string; a: number; b: number; minor: number; pick: number }): Promise<void> => {
      const payer = people[o.a] as { hour: Member; care: string };
      const payee = people[o.a === o.b ? (o.b + 1) % 4 : o.b] as { hour: Member; care: string };
      const hours = `${Math.floor(o.minor / 100)}.${String(o.minor % 100).padStart(2, '0')}`;
      const as = (m: Member): GqlClient => ledger.client(m.key);
      const key = `p-${++step}`;
      const take = (list: string[]): string | undefined => (list.length ? list.splice(o.pick % list.length, 1)[0] : undefined);
      let result: GqlResponse | undefined;
      switch (o.kind) {
        case 'transfer':
          result = await transfer(as(payer.hour), payer.hour.accountId, payee.hour.accountId, hours, key);
          break;
        case 'care':
          result = await transfer(as(payer.hour), payer.care, payee.care, String(1 + (o.minor % 3)), key);
          break;
        case 'byReceiver':
          result = await recordExchange(as(payer.hour), { provider: payee.hour.accountId, receiver: payer.hour.accountId, hours, key });
          break;
        case 'byProvider':
          result = await recordExchange(as(payee.hour), { provider: payee.hour.accountId, receiver: payer.hour.accountId, hours, key });
          if (!result.errors) pending.exchanges.push(result.data.recordExchange.id);
          break;
        case 'confirm':
        case 'dispute': {
          const id = take(pending.exchanges);
          if (!id) return;
          result = o.kind === 'confirm' ? await confirmExchange(ledger.admin, id) : await disputeExchange(ledger.admin, id, 'property');
          break;
        }
        case 'hold':
          result = await createHold(as(payer.hour), { from: payer.hour.accountId, to: payee.hour.accountId, amount: hours, key });
          if (!result.errors) pending.holds.push(result.data.createHold.id);
          break;
        case 'capture':
        case 'void': {
          const id = take(pending.holds);
          if (!id) return;
          result =
            o.kind === 'void' ? await voidHold(ledger.admin, id) : await captureHold(ledger.admin, id, o.minor % 2 ? undefined : '0.01');
          break;
        }
        default:
          throw new Error(`unknown operation ${o.kind}`);
      }
      if (result.errors) {
        expect(EXPECTED_REFUSALS).toContain(codeOf(result));
        refusals.add(codeOf(result) ?? '');
      } else succeeded.set(o.kind, (succeeded.get(o.kind) ?? 0) + 1);
    };

    // First a fixed tour on which every kind of operation succeeds, then random mixes.
    const tour = ['transfer', 'care', 'byReceiver', 'byProvider', 'confirm', 'byProvider', 'dispute', 'hold', 'capture', 'hold', 'void'];
    for (const [i, kind] of tour.entries()) await run({ kind, a: i % 4, b: (i + 1) % 4, minor: 50, pick: 0 });
    for (const kind of new Set(tour)) expect([kind, succeeded.get(kind)]).toEqual([kind, tour.filter((k) => k === kind).length]);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        for (const o of ops) await run(o);
        const { rows } = await db.query<{ code: string; total: string }>(
          `SELECT c.code, coalesce(sum(a.posted_minor), 0)::text AS total FROM currencies c LEFT JOIN accounts a ON a.currency_code = c.code
            WHERE c.kind = 'TIME' GROUP BY c.code ORDER BY c.code`,
        );
        expect(rows).toEqual([
          { code: 'CARE', total: '0' },
          { code: 'HOUR', total: '0' },
        ]);
        // Both bounds hold for every account at once, holds included.
        const breaches = await db.query(
          `SELECT id FROM accounts WHERE NOT unlimited
              AND (posted_minor - pending_debits_minor < -credit_limit_minor OR posted_minor + pending_credits_minor > max_balance_minor)`,
        );
        expect(breaches.rows).toEqual([]);
      }),
      { numRuns: 8 },
    );
    // Through the API too: what members see sums to zero per TIME currency.
    const accounts = (await ledger.admin.ok('{ accounts(first: 500) { edges { node { posted currency { code kind } } } } }')).accounts
      .edges;
    const sums = new Map<string, bigint>();
    for (const { node } of accounts) {
      if (node.currency.kind === 'TIME')
        sums.set(node.currency.code, (sums.get(node.currency.code) ?? 0n) + BigInt(node.posted.replace('.', '')));
    }
    expect(Object.fromEntries(sums)).toEqual({ HOUR: 0n, CARE: 0n });
    // Random mixes may or may not meet a bound; a fixed edge meets both, so both refusals are
    // exercised on every run: with limit 3 and maximum 4, a payee at 3 cannot take 2 more, and a
    // payer at -3 cannot give 1 more.
    await createCurrency(ledger.admin, 'EDGE', 'TIME', 0);
    const edge: string[] = [];
    for (const person of people.slice(0, 3)) edge.push(await openAccount(ledger.admin, person.hour.partyId, 'EDGE', '3'));
    const [x, y, z] = edge as [string, string, string];
    await ledger.admin.ok('mutation($a: ID!, $m: Amount) { setMaxBalance(accountId: $a, maxBalance: $m) { id } }', { a: y, m: '4' });
    const member = (i: number): GqlClient => ledger.client((people[i] as { hour: Member }).hour.key);
    expect((await transfer(member(0), x, y, '3', 'edge-1')).errors).toBeUndefined();
    const overMax = await transfer(member(2), z, y, '2', 'edge-2');
    const belowLimit = await transfer(member(0), x, z, '1', 'edge-3');
    for (const result of [overMax, belowLimit]) if (result.errors) refusals.add(codeOf(result) ?? '');
    expect([codeOf(overMax), codeOf(belowLimit)]).toEqual(['BALANCE_LIMIT_EXCEEDED', 'INSUFFICIENT_FUNDS']);
    expect([...refusals].filter((code) => code.endsWith('_EXCEEDED') || code === 'INSUFFICIENT_FUNDS').sort()).toEqual([
      'BALANCE_LIMIT_EXCEEDED',
      'INSUFFICIENT_FUNDS',
    ]);
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
