import type { Client } from 'pg';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { transfer } from '../support/ledger';
import { startService, type RunningService } from '../support/service';
import {
  captureHold,
  confirmExchange,
  createHold,
  dataOf,
  newMember,
  recordExchange,
  setUpHours,
  voidHold,
  waitFor,
  type Member,
} from '../timebank/helpers';
import { createWebhook, waitUntil } from './helpers';
import { Receiver } from './receiver';

// Fan-out polls every few milliseconds and holds and claims expire within seconds, so the
// dispatchers of two instances read the outbox while posting groups of both instances (transfers,
// holds, captures, voids, claims, confirmations, hold and claim expiries) are committing.
const ENV = {
  WEBHOOK_POLL_MS: '10',
  WEBHOOK_RETRY_MIN_MS: '200',
  WEBHOOK_TIMEOUT_MS: '2000',
  HOLD_SWEEP_INTERVAL_MS: '50',
  EXCHANGE_CLAIM_TTL_DAYS: '0.00007',
  MAX_PENDING_CLAIMS: '1000',
};
const ALL_EVENTS = ['TRANSACTION_POSTED', 'HOLD_CREATED', 'HOLD_RESOLVED', 'EXCHANGE_PENDING', 'EXCHANGE_RESOLVED'];

describe('webhook fan-out: one cursor per network passes over no event', () => {
  let databaseUrl: string;
  let receiver: Receiver;
  let db: Client;
  const services: RunningService[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    receiver = await new Receiver().start();
    databaseUrl = await createTestDatabase({ migrated: true });
    const first = await startService(databaseUrl, ENV);
    services.push(first, await startService(databaseUrl, ENV, first.adminKey));
    db = await connect(databaseUrl);
    const admin = new GqlClient(first.url, first.adminKey);
    await setUpHours(admin);
    for (const name of ['Ana', 'Ben', 'Carol', 'Dan']) members.push(await newMember(admin, name, { creditLimit: '1000' }));
  });
  afterAll(async () => {
    await db?.end();
    for (const service of services) await service.stop();
    await receiver.stop();
  });

  /** A client of member i on instance i % 2, so both instances post side by side. */
  const client = (i: number) => {
    const service = services[i % 2] as RunningService;
    return new GqlClient(service.url, (members[i % members.length] as Member).key);
  };
  const account = (i: number) => (members[i % members.length] as Member).accountId;

  it('delivers every event written by concurrent posting groups, hold and claim expiries included', async () => {
    const admin = new GqlClient((services[0] as RunningService).url, (services[0] as RunningService).adminKey);
    const hook = dataOf(await createWebhook(admin, { url: receiver.url('/all'), events: ALL_EVENTS })).createWebhook;
    const soon = () => new Date(Date.now() + 6000 + Math.floor(Math.random() * 2000)).toISOString();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 24; i++) {
      const c = client(i);
      const from = account(i);
      const to = account(i + 1);
      work.push(transfer(c, from, to, '0.01', `t-${i}`).then(dataOf));
      // Holds left to expire in the sweep's own posting groups (both instances sweep).
      work.push(createHold(c, { from, to, amount: '0.01', key: `e-${i}`, expiresAt: soon() }).then(dataOf));
      work.push(
        createHold(c, { from, to, amount: '0.02', key: `h-${i}` })
          .then(dataOf)
          .then((d) => (i % 2 === 0 ? captureHold(c, d.createHold.id) : voidHold(c, d.createHold.id)))
          .then(dataOf),
      );
      // Claims by the provider (i+1): half confirmed by the receiver, half left to expire.
      work.push(
        recordExchange(client(i + 1), { provider: to, receiver: from, hours: '0.01', key: `x-${i}` })
          .then(dataOf)
          .then((d) => (i % 2 === 0 ? confirmExchange(client(i + 4), d.recordExchange.id).then(dataOf) : undefined)),
      );
    }
    await Promise.all(work);
    await waitFor('every hold and claim resolved', async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM holds WHERE status = 'PENDING') + (SELECT count(*) FROM exchanges WHERE status = 'PENDING') AS n`,
      );
      return Number(rows[0]?.n) === 0 ? true : undefined;
    });
    // Every event is behind the cursor once the dispatchers have caught up...
    await waitFor('the fan-out cursor at the newest event', async () => {
      const { rows } = await db.query<{ behind: boolean }>(
        `SELECT f.through_seq < (SELECT max(seq) FROM ledger_events e WHERE e.network_id = f.network_id) AS behind
           FROM webhook_fan_out f JOIN webhooks w ON w.network_id = f.network_id WHERE w.id = $1`,
        [hook.webhook.id],
      );
      return rows[0]?.behind === false ? true : undefined;
    });
    // ...and then every one of them has its delivery: none was committed behind the cursor.
    const { rows: missing } = await db.query<{ seq: string; type: string }>(
      `SELECT e.seq::text, e.type FROM ledger_events e JOIN webhooks w ON w.network_id = e.network_id AND w.id = $1
        WHERE e.occurred_at >= w.created_at
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries_listed d WHERE d.network_id = e.network_id AND d.event_seq = e.seq AND d.webhook_id = w.id)`,
      [hook.webhook.id],
    );
    expect(missing).toEqual([]);
    const { rows: events } = await db.query<{ id: string; type: string; status: string | null }>(
      `SELECT e.id::text, e.type, coalesce(e.data -> 'hold' ->> 'status', e.data -> 'exchange' ->> 'status') AS status
         FROM ledger_events e JOIN webhooks w ON w.network_id = e.network_id AND w.id = $1 WHERE e.occurred_at >= w.created_at`,
      [hook.webhook.id],
    );
    // What was raced: every kind of event, expiries written by the sweep's posting groups included.
    const kinds = new Set(events.map((e) => `${e.type}${e.status ? ` ${e.status}` : ''}`));
    for (const kind of [
      'TRANSACTION_POSTED',
      'HOLD_CREATED PENDING',
      'HOLD_RESOLVED EXPIRED',
      'HOLD_RESOLVED CAPTURED',
      'HOLD_RESOLVED VOIDED',
    ])
      expect(kinds).toContain(kind);
    for (const kind of ['EXCHANGE_PENDING PENDING', 'EXCHANGE_RESOLVED CONFIRMED', 'EXCHANGE_RESOLVED EXPIRED'])
      expect(kinds).toContain(kind);
    const sent = () => new Set(receiver.at('/all').map((r) => r.body.id as string));
    await waitUntil('every event received', () => events.every((e) => sent().has(e.id)), 30_000);
  });
});
