import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { CommitCutter } from '../support/commit-cutter';
import { connect, createTestDatabase, serverUrl } from '../support/database';
import { GqlClient } from '../support/graphql';
import { balances, createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { type RunningService, startService } from '../support/service';
import { newMember, recordExchange, dataOf } from '../timebank/helpers';

/**
 * SPEC B.2: a lost acknowledgement of a COMMIT never turns committed work into a reported failure,
 * nor a failure into a reported success. The service reaches PostgreSQL through a proxy that cuts
 * the connection exactly at a posting group's COMMIT: after forwarding it (committed, answer lost)
 * or instead of forwarding it (rolled back); and once with the database unreachable afterwards.
 */
describe('a connection lost during COMMIT', () => {
  let cutter: CommitCutter;
  let service: RunningService;
  let admin: GqlClient;
  let sql: Client;
  let ana: string;
  let ben: string;
  const adminKey = `sl_test_${randomBytes(16).toString('hex')}`;

  const countByRef = async (key: string) => {
    const { rows } = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM idempotency_keys i JOIN transactions t ON t.id = i.result_id WHERE i.key = $1`,
      [key],
    );
    return Number(rows[0]?.n);
  };
  /** Transactions that captured this hold (an exchange's confirmation captures its hold). */
  const capturesOf = async (holdId: string) => {
    const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM transactions WHERE metadata->>'holdId' = $1`, [holdId]);
    return Number(rows[0]?.n);
  };
  /** After an outage the pool reconnects: a client retries (with the same key) until it gets an answer. */
  const retried = async <T>(send: () => Promise<{ errors?: unknown[]; data?: T }>) => {
    let result = await send();
    for (let i = 0; i < 50 && result.errors; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = await send();
    }
    return result;
  };

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase({ migrated: true });
    const target = new URL(serverUrl());
    cutter = new CommitCutter({ host: target.hostname, port: Number(target.port) });
    const proxied = await cutter.start(databaseUrl);
    service = await startService(proxied, { POSTING_COMMIT_CHECK_MS: '1500', DATABASE_POOL_SIZE: '4' }, adminKey);
    admin = new GqlClient(service.url, adminKey);
    sql = await connect(databaseUrl);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    ana = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ana'), 'HOUR', '100');
    ben = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR', '100');
  });
  afterAll(async () => {
    await sql.end();
    await service.stop();
    await cutter.stop();
  });

  it('answers the truth when the database committed but its answer was lost: posted, once', async () => {
    cutter.arm('after-commit');
    const result = await transfer(admin, ana, ben, '1.00', 'lost-ack-1');
    expect(cutter.cutCount).toBe(1);
    expect(result.errors).toBeUndefined();
    expect(await countByRef('lost-ack-1')).toBe(1);
    const again = await transfer(admin, ana, ben, '1.00', 'lost-ack-1');
    expect(again.data?.transfer.id).toBe(result.data?.transfer.id);
    expect((await balances(admin, ben)).posted).toBe('1.00');
  });

  it('posts the group again when the COMMIT never reached the database: posted, once', async () => {
    cutter.arm('before-commit');
    const result = await transfer(admin, ana, ben, '2.00', 'lost-commit-2');
    expect(cutter.cutCount).toBe(2);
    expect(result.errors).toBeUndefined();
    expect(await countByRef('lost-commit-2')).toBe(1);
    expect((await balances(admin, ben)).posted).toBe('3.00');
  });

  it('a hold captured whose answer was lost is reported captured, not HOLD_NOT_PENDING or INTERNAL', async () => {
    const hold = await admin.ok<{ createHold: { id: string } }>(
      'mutation($from: ID!, $to: ID!) { createHold(from: $from, to: $to, amount: "0.50", idempotencyKey: "hold-3") { id } }',
      { from: ana, to: ben },
    );
    cutter.arm('after-commit');
    const captured = await admin.request<{ captureHold: { status: string } }>('mutation($id: ID!) { captureHold(id: $id) { status } }', {
      id: hold.createHold.id,
    });
    expect(cutter.cutCount).toBe(3);
    expect(captured.errors).toBeUndefined();
    expect(captured.data?.captureHold.status).toBe('CAPTURED');
    // It really is captured: capturing it again (under a key never used) is refused.
    const retried = await admin.request<{ captureHold: { status: string } }>(
      'mutation($id: ID!) { captureHold(id: $id, idempotencyKey: "cap-3") { status } }',
      { id: hold.createHold.id },
    );
    expect(retried.errors?.[0]?.extensions?.code).toBe('HOLD_NOT_PENDING');
    expect((await balances(admin, ben)).posted).toBe('3.50');
  });

  it('answers OUTCOME_UNKNOWN when the database cannot be asked, and the retry with the same key finds the one posting', async () => {
    cutter.arm('after-commit', true);
    const result = await transfer(admin, ana, ben, '4.00', 'unknown-4');
    expect(cutter.cutCount).toBe(4);
    expect(result.errors?.[0]?.extensions?.code).toBe('OUTCOME_UNKNOWN');
    cutter.restore();
    let again = await transfer(admin, ana, ben, '4.00', 'unknown-4');
    for (let i = 0; i < 50 && again.errors; i++) {
      // The pool reconnects after the outage; a retry is what a client does.
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await transfer(admin, ana, ben, '4.00', 'unknown-4');
    }
    expect(again.errors).toBeUndefined();
    expect(await countByRef('unknown-4')).toBe(1);
    expect((await balances(admin, ben)).posted).toBe('7.50');
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 4 });
  });

  it('captureHold, voidHold with an idempotency key replay their first answer', async () => {
    const create = (key: string) =>
      admin.ok<{ createHold: { id: string } }>(
        `mutation($from: ID!, $to: ID!) { createHold(from: $from, to: $to, amount: "0.25", idempotencyKey: "${key}") { id } }`,
        { from: ana, to: ben },
      );
    const [h1, h2] = [(await create('h-5')).createHold.id, (await create('h-6')).createHold.id];
    const capture = () =>
      admin.request<{ captureHold: { status: string } }>('mutation($id: ID!) { captureHold(id: $id, idempotencyKey: "c-5") { status } }', {
        id: h1,
      });
    const voidIt = () =>
      admin.request<{ voidHold: { status: string } }>('mutation($id: ID!) { voidHold(id: $id, idempotencyKey: "v-6") { status } }', {
        id: h2,
      });
    expect((await capture()).data?.captureHold.status).toBe('CAPTURED');
    expect((await capture()).data?.captureHold.status).toBe('CAPTURED');
    expect((await voidIt()).data?.voidHold.status).toBe('VOIDED');
    expect((await voidIt()).data?.voidHold.status).toBe('VOIDED');
    expect((await balances(admin, ben)).posted).toBe('7.75');
  });

  describe('confirmExchange, disputeExchange, captureHold with an idempotency key', () => {
    const EXCHANGE = 'status hold { id } transaction { id }';
    interface ExchangeAnswer {
      status: string;
      hold: { id: string } | null;
      transaction: { id: string } | null;
    }
    let giver: Awaited<ReturnType<typeof newMember>>;
    let taker: Awaited<ReturnType<typeof newMember>>;
    /** An exchange the provider recorded: pending, its hours held on the receiver's account. */
    const pendingExchange = async (key: string) => {
      const recorded = dataOf(
        await recordExchange(new GqlClient(service.url, giver.key), {
          provider: giver.accountId,
          receiver: taker.accountId,
          hours: '1.00',
          key,
        }),
      ) as { recordExchange: { id: string; status: string; hold: { id: string } } };
      expect(recorded.recordExchange.status).toBe('PENDING');
      return recorded.recordExchange;
    };
    const confirm = (id: string, key: string) =>
      admin.request<{ confirmExchange: ExchangeAnswer }>(
        `mutation($id: ID!, $key: String) { confirmExchange(id: $id, idempotencyKey: $key) { ${EXCHANGE} } }`,
        { id, key },
      );
    const dispute = (id: string, key: string) =>
      admin.request<{ disputeExchange: ExchangeAnswer }>(
        `mutation($id: ID!, $key: String) { disputeExchange(id: $id, reason: "not done", idempotencyKey: $key) { ${EXCHANGE} } }`,
        { id, key },
      );
    const capture = (id: string, key: string) =>
      admin.request<{ captureHold: { status: string; transaction: { id: string } | null } }>(
        'mutation($id: ID!, $key: String) { captureHold(id: $id, idempotencyKey: $key) { status transaction { id } } }',
        { id, key },
      );

    beforeAll(async () => {
      giver = await newMember(admin, 'Gia', { creditLimit: '100' });
      taker = await newMember(admin, 'Tom', { creditLimit: '100' });
    });

    it('confirmExchange whose answer was lost is reported confirmed, and its retry replays the one transaction', async () => {
      const exchange = await pendingExchange('ex-lost-1');
      const cuts = cutter.cutCount;
      cutter.arm('after-commit');
      const confirmed = await confirm(exchange.id, 'confirm-lost-1');
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(confirmed.errors).toBeUndefined();
      expect(confirmed.data?.confirmExchange.status).toBe('CONFIRMED');
      const transactionId = confirmed.data?.confirmExchange.transaction?.id;
      expect(transactionId).toBeDefined();
      const again = await confirm(exchange.id, 'confirm-lost-1');
      expect(again.errors).toBeUndefined();
      expect(again.data?.confirmExchange).toEqual(confirmed.data?.confirmExchange);
      expect(await capturesOf(exchange.hold.id)).toBe(1);
      expect((await balances(admin, giver.accountId)).posted).toBe('1.00');
    });

    it('confirmExchange answered OUTCOME_UNKNOWN (database unreachable) and retried with its key: confirmed, posted once', async () => {
      const exchange = await pendingExchange('ex-unknown-2');
      const cuts = cutter.cutCount;
      cutter.arm('after-commit', true);
      const first = await confirm(exchange.id, 'confirm-unknown-2');
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(first.errors?.[0]?.extensions?.code).toBe('OUTCOME_UNKNOWN');
      cutter.restore();
      const again = await retried(() => confirm(exchange.id, 'confirm-unknown-2'));
      expect(again.errors).toBeUndefined();
      expect(again.data?.confirmExchange.status).toBe('CONFIRMED');
      expect(await capturesOf(exchange.hold.id)).toBe(1);
      // The retry answers the transaction the lost COMMIT wrote, and a second retry the same.
      const [row] = (await sql.query<{ id: string }>(`SELECT id FROM transactions WHERE metadata->>'holdId' = $1`, [exchange.hold.id]))
        .rows;
      expect(again.data?.confirmExchange.transaction?.id).toBe(row?.id);
      expect((await confirm(exchange.id, 'confirm-unknown-2')).data?.confirmExchange).toEqual(again.data?.confirmExchange);
      expect((await balances(admin, giver.accountId)).posted).toBe('2.00');
      expect((await balances(admin, taker.accountId)).posted).toBe('-2.00');
    });

    it('disputeExchange whose answer was lost is reported disputed, and its retry replays it', async () => {
      const exchange = await pendingExchange('ex-lost-3');
      const cuts = cutter.cutCount;
      cutter.arm('after-commit');
      const disputed = await dispute(exchange.id, 'dispute-lost-3');
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(disputed.errors).toBeUndefined();
      expect(disputed.data?.disputeExchange).toMatchObject({ status: 'DISPUTED', transaction: null });
      expect((await dispute(exchange.id, 'dispute-lost-3')).data?.disputeExchange.status).toBe('DISPUTED');
      // Nothing moved, and the receiver's held hours were released.
      expect(await balances(admin, taker.accountId)).toMatchObject({ posted: '-2.00', pendingDebits: '0.00' });
    });

    it('captureHold answered OUTCOME_UNKNOWN (database unreachable) and retried with its key: captured, posted once', async () => {
      const hold = await admin.ok<{ createHold: { id: string } }>(
        'mutation($from: ID!, $to: ID!) { createHold(from: $from, to: $to, amount: "0.75", idempotencyKey: "hold-unknown-4") { id } }',
        { from: taker.accountId, to: giver.accountId },
      );
      const cuts = cutter.cutCount;
      cutter.arm('after-commit', true);
      const first = await capture(hold.createHold.id, 'capture-unknown-4');
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(first.errors?.[0]?.extensions?.code).toBe('OUTCOME_UNKNOWN');
      cutter.restore();
      const again = await retried(() => capture(hold.createHold.id, 'capture-unknown-4'));
      expect(again.errors).toBeUndefined();
      expect(again.data?.captureHold.status).toBe('CAPTURED');
      expect(await capturesOf(hold.createHold.id)).toBe(1);
      expect((await capture(hold.createHold.id, 'capture-unknown-4')).data?.captureHold).toEqual(again.data?.captureHold);
      expect((await balances(admin, giver.accountId)).posted).toBe('2.75');
      expect(await verifyLedger(admin)).toMatchObject({ ok: true });
    });
  });

  describe('a batch large enough to travel as bound parameters, its COMMIT on its own', () => {
    const DEPOSITS = 'mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id externalRef } }';
    const BATCH = 300;
    let savers: string[];
    /** 300 deposits with long references: well past the size a write is inlined into SQL text at (posting.repository.ts). */
    const batch = (label: string) =>
      Array.from({ length: BATCH }, (_, i) => ({
        accountId: savers[i % savers.length] as string,
        amount: '1.00',
        externalRef: `${label}-${i}-${'it\'s a \\ "hostile" reference; '.repeat(4)}end`,
        idempotencyKey: `${label}-${i}`,
      }));
    const posted = async (label: string) => {
      const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM transactions WHERE external_ref LIKE $1`, [`${label}-%`]);
      return Number(rows[0]?.n);
    };

    beforeAll(async () => {
      const union = await registerParty(admin, 'CREDIT_UNION', 'Harbour Credit Union');
      await createCurrency(admin, 'HBR', 'MONEY', 2, union);
      savers = [];
      for (let i = 0; i < 5; i++) savers.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Saver ${i}`), 'HBR'));
    });

    it('a lost answer to its COMMIT: reported posted, once, every reference read back exactly', async () => {
      const items = batch('big-lost-ack');
      const cuts = cutter.cutCount;
      cutter.arm('after-commit');
      const result = await admin.request<{ recordDeposits: { id: string; externalRef: string }[] }>(DEPOSITS, { batch: items });
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(result.errors).toBeUndefined();
      expect(result.data?.recordDeposits.map((t) => t.externalRef)).toEqual(items.map((i) => i.externalRef));
      expect(await posted('big-lost-ack')).toBe(BATCH);
      const again = await admin.ok<{ recordDeposits: { id: string }[] }>(DEPOSITS, { batch: items });
      expect(again.recordDeposits.map((t) => t.id)).toEqual(result.data?.recordDeposits.map((t) => t.id));
      expect(await posted('big-lost-ack')).toBe(BATCH);
    });

    it('a COMMIT that never reached the database: the batch is posted again, once', async () => {
      const cuts = cutter.cutCount;
      cutter.arm('before-commit');
      const result = await admin.request<{ recordDeposits: { id: string }[] }>(DEPOSITS, { batch: batch('big-lost-commit') });
      expect(cutter.cutCount).toBe(cuts + 1);
      expect(result.errors).toBeUndefined();
      expect(result.data?.recordDeposits).toHaveLength(BATCH);
      expect(await posted('big-lost-commit')).toBe(BATCH);
      const { rows } = await sql.query<{ ref: string }>(
        `SELECT external_ref AS ref FROM transactions WHERE external_ref LIKE 'big-lost-commit-%' ORDER BY sequence`,
      );
      expect(rows.map((r) => r.ref)).toEqual(batch('big-lost-commit').map((i) => i.externalRef));
      expect(await verifyLedger(admin)).toMatchObject({ ok: true });
    });
  });
});
