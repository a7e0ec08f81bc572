import { randomBytes } from 'node:crypto';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { balances, createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { type RunningService, startService } from '../support/service';

/** Minor units of a "12.34"-style amount. */
function minor(amount: string): bigint {
  return BigInt(amount.replace('.', ''));
}

/** Three service processes on one database: the deployment of SPEC section 9, behind a load balancer. */
describe('several instances on one database', () => {
  let databaseUrl: string;
  let instances: RunningService[];
  let admins: GqlClient[];
  const adminKey = `sl_test_${randomBytes(16).toString('hex')}`;
  /** The instance that serves request number i, as a round-robin load balancer would choose. */
  const via = (i: number) => admins[i % admins.length] as GqlClient;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    // Started together on an empty database: migrations run once, under their advisory lock.
    instances = await Promise.all([0, 1, 2].map(() => startService(databaseUrl, {}, adminKey)));
    admins = instances.map((s) => new GqlClient(s.url, adminKey));
    await createCurrency(via(0), 'HOUR', 'TIME', 2);
  });
  afterAll(async () => Promise.all(instances.map((s) => s.stop())));

  it('migrated the database once although all three started at the same moment', async () => {
    const sql = await connect(databaseUrl);
    try {
      const { rows } = await sql.query<{ name: string; n: string }>('SELECT name, count(*) AS n FROM schema_migrations GROUP BY name');
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.n === '1')).toBe(true);
      const keys = await sql.query<{ n: string }>("SELECT count(*) AS n FROM api_keys WHERE label = 'bootstrap admin'");
      expect(keys.rows[0]?.n).toBe('1');
    } finally {
      await sql.end();
    }
  });

  it('never breaches a credit limit when 48 clients spread over three instances pay from the same limited accounts', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 6; i++) accounts.push(await openAccount(via(i), await registerParty(via(i), 'MEMBER', `Member ${i}`), 'HOUR', '5'));
    const outcomes: string[] = [];
    await Promise.all(
      Array.from({ length: 48 }, async (_, client) => {
        for (let n = 0; n < 12; n++) {
          const from = accounts[(client + n) % 6] as string;
          const to = accounts[(client + n * 5 + 1) % 6] as string;
          if (from === to) continue;
          const cents = 50 + ((client * 31 + n * 17) % 250);
          const result = await transfer(
            via(client + n),
            from,
            to,
            `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
            `limit-${client}-${n}`,
          );
          outcomes.push(result.errors ? (result.errors[0]?.extensions?.code ?? 'NO_CODE') : 'POSTED');
        }
      }),
    );
    expect(new Set(outcomes)).toEqual(new Set(['POSTED', 'INSUFFICIENT_FUNDS']));
    let total = 0n;
    for (const id of accounts) {
      const b = await balances(via(0), id);
      expect(minor(b.available)).toBeGreaterThanOrEqual(-500n);
      total += minor(b.posted);
    }
    expect(total).toBe(0n);
  });

  it('lets exactly ten 1.00 payments through a 10.00 limit when forty arrive at once on three instances', async () => {
    const payer = await openAccount(via(0), await registerParty(via(0), 'MEMBER', 'Payer'), 'HOUR', '10');
    const coop = await openAccount(via(1), await registerParty(via(1), 'COOPERATIVE', 'Bakery'), 'HOUR');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => transfer(via(i), payer, coop, '1.00', `hot-${i}`)));
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'POSTED');
    expect(codes.filter((c) => c === 'POSTED')).toHaveLength(10);
    expect(codes.filter((c) => c === 'INSUFFICIENT_FUNDS')).toHaveLength(30);
    expect((await balances(via(2), payer)).posted).toBe('-10.00');
  });

  it('posts a key sent to all three instances at the same moment once, and refuses it with other input', async () => {
    const a = await openAccount(via(0), await registerParty(via(0), 'MEMBER', 'Ana'), 'HOUR');
    const b = await openAccount(via(1), await registerParty(via(1), 'MEMBER', 'Ben'), 'HOUR');
    let movedMinor = 0n;
    for (let round = 0; round < 10; round++) {
      const same = await Promise.all(
        admins.flatMap((admin) => [transfer(admin, a, b, '0.10', `twice-${round}`), transfer(admin, a, b, '0.1', `twice-${round}`)]),
      );
      const ids = new Set(same.map((r) => r.data?.transfer.id));
      expect([round, ids.size, same.every((r) => !r.errors)]).toEqual([round, 1, true]);
      movedMinor += 10n;
      const mixed = await Promise.all(admins.map((admin, i) => transfer(admin, a, b, `0.0${i + 1}`, `conflict-${round}`)));
      const codes = mixed.map((r) => r.errors?.[0]?.extensions?.code ?? 'POSTED');
      expect([round, codes.filter((c) => c === 'POSTED').length, codes.filter((c) => c === 'IDEMPOTENCY_CONFLICT').length]).toEqual([
        round,
        1,
        2,
      ]);
      movedMinor += BigInt(codes.indexOf('POSTED') + 1);
    }
    expect(minor((await balances(via(2), a)).posted)).toBe(-movedMinor);
    expect(minor((await balances(via(1), b)).posted)).toBe(movedMinor);
  });

  it('applies a credit limit changed through one instance to payments through the others at once', async () => {
    const payer = await openAccount(via(0), await registerParty(via(0), 'MEMBER', 'Changer'), 'HOUR', '1');
    const payee = await openAccount(via(0), await registerParty(via(0), 'MEMBER', 'Receiver'), 'HOUR');
    expect((await transfer(via(1), payer, payee, '2.00', 'before-raise')).errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
    await via(0).ok('mutation($id: ID!) { setCreditLimit(accountId: $id, creditLimit: "3") { id } }', { id: payer });
    expect((await transfer(via(2), payer, payee, '2.00', 'after-raise')).errors).toBeUndefined();
    await via(1).ok('mutation($id: ID!) { freezeAccount(accountId: $id) { id } }', { id: payer });
    expect((await transfer(via(2), payer, payee, '0.50', 'after-freeze')).errors?.[0]?.extensions?.code).toBe('ACCOUNT_FROZEN');
  });

  it('keeps one gap-free sequence and an unbroken hash chain that every instance verifies', async () => {
    const sql = await connect(databaseUrl);
    try {
      const { rows } = await sql.query<{ n: string; max: string; heads: string }>(
        'SELECT count(*) AS n, max(sequence) AS max, count(DISTINCT previous_hash) AS heads FROM transactions',
      );
      expect(rows[0]?.n).toBe(rows[0]?.max);
      expect(rows[0]?.heads).toBe(rows[0]?.n);
      const transactions = Number(rows[0]?.n);
      expect(transactions).toBeGreaterThan(100);
      for (const admin of admins)
        expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: transactions, firstProblem: null });
    } finally {
      await sql.end();
    }
  });
});
