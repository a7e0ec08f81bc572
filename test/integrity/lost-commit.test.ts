import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { CommitCutter } from '../support/commit-cutter';
import { connect, createTestDatabase, serverUrl } from '../support/database';
import { GqlClient } from '../support/graphql';
import { balances, createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { type RunningService, startService } from '../support/service';

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

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
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
});
