import type { Client } from 'pg';
import { connect } from '../support/database';
import { GqlClient } from '../support/graphql';
import { createKey, registerParty, startLedger, transfer, type TestLedger } from '../support/ledger';
import { metricOf } from '../support/metrics';
import { startService, type RunningService } from '../support/service';
import { addMember, captureHold, createHold, dataOf, newMember, recordExchange, setUpHours, waitFor, type Member } from './helpers';
import { WsConnection } from './ws-client';

/** A member reads only its own balances, so the account of each posting is named, not read. */
const SUBSCRIPTION = `subscription($accountId: ID!) {
  transactionPosted(accountId: $accountId) { id sequence kind memo postings { amount account { id } } }
}`;

/** For a key that may read every account: each posting with its account's balance. */
const WITH_BALANCES = `subscription($accountId: ID!) {
  transactionPosted(accountId: $accountId) { id sequence kind memo postings { amount account { id posted } } }
}`;

interface Event {
  transactionPosted: {
    id: string;
    sequence: string;
    kind: string;
    memo: string | null;
    postings: { amount: string; account: { id: string; posted?: string } }[];
  };
}

function bearer(key: string): Record<string, unknown> {
  return { authorization: `Bearer ${key}` };
}

function liveSubscriptions(service: Pick<RunningService, 'baseUrl' | 'adminKey'>): Promise<number> {
  return metricOf(service, 'ledger_live_subscriptions');
}

/**
 * Subscribes and waits until the instance has registered the subscriptions (its
 * ledger_live_subscriptions gauge has grown by as many), so that what is posted next reaches them.
 */
async function subscribed<T extends unknown[]>(service: Pick<RunningService, 'baseUrl' | 'adminKey'>, make: () => T): Promise<T> {
  const before = await liveSubscriptions(service);
  const subscriptions = make();
  await waitFor('the subscriptions to be registered', async () =>
    (await liveSubscriptions(service)) >= before + subscriptions.length ? true : undefined,
  );
  return subscriptions;
}

describe('live balance updates (transactionPosted over graphql-ws)', () => {
  let ledger: TestLedger; // instance A: where clients subscribe
  let second: RunningService; // instance B: where transactions are posted
  let viaB: (key: string) => GqlClient;
  let db: Client;
  let ana: Member;
  let ben: Member;
  let cara: Member;
  const sockets: WsConnection[] = [];
  let n = 0;
  const key = () => `live-${++n}`;

  async function open(secret: string, url = ledger.service.url): Promise<WsConnection> {
    const socket = await WsConnection.open(url, bearer(secret));
    sockets.push(socket);
    return socket;
  }

  beforeAll(async () => {
    ledger = await startLedger();
    second = await startService(ledger.databaseUrl);
    viaB = (secret) => new GqlClient(second.url, secret);
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '50' });
    ben = await newMember(ledger.admin, 'Ben', { creditLimit: '50' });
    cara = await newMember(ledger.admin, 'Cara', { creditLimit: '50' });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await db.end();
    await second.stop();
    await ledger.stop();
  });

  it('delivers to a subscriber on one instance a transfer posted through another instance', async () => {
    const socket = await open(ana.key);
    // Once instance A has registered the subscription, post through instance B.
    const [subscription] = await subscribed(ledger.service, () => [socket.subscribe(SUBSCRIPTION, { accountId: ana.accountId })]);
    const posted = await transfer(viaB(ben.key), ben.accountId, ana.accountId, '2', key());
    expect(posted.errors).toBeUndefined();
    const [event] = await subscription.waitForEvents<Event>(1);
    expect(event?.transactionPosted).toMatchObject({
      id: posted.data?.transfer.id,
      sequence: posted.data?.transfer.sequence,
      kind: 'TRANSFER',
    });
    expect(event?.transactionPosted.postings).toEqual([
      { amount: '-2.00', account: { id: ben.accountId } },
      { amount: '2.00', account: { id: ana.accountId } },
    ]);
  });

  it('delivers only the account’s transactions, in ledger order, with balances read afresh for each event', async () => {
    const socket = await open(ledger.admin.key as string);
    const [subscription] = await subscribed(ledger.service, () => [socket.subscribe(WITH_BALANCES, { accountId: cara.accountId })]);
    const caraBalance = (e: Event['transactionPosted'] | undefined) =>
      e?.postings.find((p) => p.account.id === cara.accountId)?.account.posted;
    // One at a time: each event must show Cara's balance as it is after that very transaction.
    const first = dataOf(await transfer(viaB(ana.key), ana.accountId, cara.accountId, '1', key())).transfer;
    expect(caraBalance((await subscription.waitForEvents<Event>(1))[0]?.transactionPosted)).toBe('1.00');
    dataOf(await transfer(viaB(ana.key), ana.accountId, ben.accountId, '1', key())); // not Cara's
    const exchange = dataOf(
      await recordExchange(viaB(cara.key), { provider: ben.accountId, receiver: cara.accountId, hours: '0.5', key: key() }),
    ).recordExchange;
    expect(caraBalance((await subscription.waitForEvents<Event>(2))[1]?.transactionPosted)).toBe('0.50');
    const hold = dataOf(
      await createHold(viaB(cara.key), { from: cara.accountId, to: ana.accountId, amount: '0.25', key: key() }),
    ).createHold;
    const captured = dataOf(await captureHold(viaB(cara.key), hold.id)).captureHold;
    expect(caraBalance((await subscription.waitForEvents<Event>(3))[2]?.transactionPosted)).toBe('0.25');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = subscription.events<Event>().map((e) => e.transactionPosted);
    expect(events.map((e) => [e.id, e.kind])).toEqual([
      [first.id, 'TRANSFER'],
      [exchange.transaction.id, 'EXCHANGE'],
      [captured.transaction.id, 'TRANSFER'],
    ]);
    const sequences = events.map((e) => BigInt(e.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('refuses a member subscribing to another member’s account with FORBIDDEN, and nothing arrives', async () => {
    const socket = await open(ben.key);
    const refused = socket.subscribe(SUBSCRIPTION, { accountId: ana.accountId });
    expect(await refused.errorCode()).toBe('FORBIDDEN');
    dataOf(await transfer(viaB(cara.key), cara.accountId, ana.accountId, '0.1', key()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(refused.events()).toEqual([]);
  });

  it('authenticates from connectionParams with the same roles as HTTP', async () => {
    // A key is required at connection_init (SPEC B.1): without one, or with a bad one, the socket is closed (4403).
    await expect(WsConnection.open(ledger.service.url, {})).rejects.toThrow(/socket closed \(4403\)/);
    await expect(open('sl_not-a-real-key')).rejects.toThrow(/socket closed \(4403\)/);
    const member = await open(ana.key);
    expect(await member.subscribe(SUBSCRIPTION, { accountId: '00000000-0000-4000-8000-000000000000' }).errorCode()).toBe('NOT_FOUND');
    expect(await member.subscribe(SUBSCRIPTION, { accountId: 'nope' }).errorCode()).toBe('VALIDATION_FAILED');
    expect(await member.subscribe('subscription { transactionPosted { id } }', {}).errorCode()).toBe('VALIDATION_FAILED');
    // A query that does not even parse is refused like any other; the socket stays open.
    expect(await member.subscribe('subscription {', {}).errorCode()).toBe('VALIDATION_FAILED');
    expect(member.closeCode).toBeNull();
    // The depth, cost and size limits of HTTP apply too.
    const deep = `subscription($a: ID!) { transactionPosted(accountId: $a) { ${'reverses { '.repeat(20)}id${' }'.repeat(20)} } }`;
    expect(await member.subscribe(deep, { a: ana.accountId }).errorCode()).toBe('QUERY_TOO_COMPLEX');
    const long = `subscription($a: ID!) { transactionPosted(accountId: $a) { ${'id '.repeat(20_000)} } }`;
    expect(await member.subscribe(long, { a: ana.accountId }).errorCode()).toBe('QUERY_TOO_COMPLEX');
    expect(member.closeCode).toBeNull();

    // An auditor reads everything; a treasurer reads its members' accounts.
    const auditor = await open(await createKey(ledger.admin, 'AUDITOR'));
    const auditorSocket = auditor;
    const coop = await registerParty(ledger.admin, 'COOPERATIVE', 'Co-op');
    await addMember(ledger.admin, coop, ben.partyId);
    const treasurer = await open(await createKey(ledger.admin, 'TREASURER', coop));
    const [watchedByAuditor, watchedByTreasurer] = await subscribed(ledger.service, () => [
      auditorSocket.subscribe(SUBSCRIPTION, { accountId: ben.accountId }),
      treasurer.subscribe(SUBSCRIPTION, { accountId: ben.accountId }),
    ]);
    const posted = dataOf(await transfer(viaB(ana.key), ana.accountId, ben.accountId, '0.1', key())).transfer;
    expect((await watchedByAuditor.waitForEvents<Event>(1))[0]?.transactionPosted.id).toBe(posted.id);
    expect((await watchedByTreasurer.waitForEvents<Event>(1))[0]?.transactionPosted.id).toBe(posted.id);
  });

  it("closes a revoked key's socket (4403), whichever instance revoked it", async () => {
    const dan = await newMember(ledger.admin, 'Dan');
    const socket = await open(dan.key);
    const [subscription] = await subscribed(ledger.service, () => [socket.subscribe(SUBSCRIPTION, { accountId: dan.accountId })]);
    const keyId = (await new GqlClient(ledger.service.url, dan.key).ok('{ me { apiKey { id } } }')).me.apiKey.id;
    await new GqlClient(second.url, second.adminKey).ok('mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }', { id: keyId });
    await subscription.connection.waitFor(() => socket.closeCode !== null, 'the socket to close');
    expect(socket.closeCode).toBe(4403);
  });

  it('delivers, after the listener reconnects, what was posted while it could not listen', async () => {
    const socket = await open(ana.key);
    const [subscription] = await subscribed(ledger.service, () => [socket.subscribe(SUBSCRIPTION, { accountId: ana.accountId })]);
    // No new connection to the database may open: the listeners, once cut, cannot come back yet.
    const dbName = new URL(ledger.databaseUrl).pathname.slice(1);
    const server = new URL(ledger.databaseUrl);
    server.pathname = '/postgres';
    const outside = await connect(server.toString());
    await outside.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
    try {
      const cut = await db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'solidarity-ledger-listener/2'`,
        [dbName],
      );
      expect(cut.rows.length).toBe(2);
      const missed = await transfer(viaB(ben.key), ben.accountId, ana.accountId, '0.5', key());
      expect(missed.errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(subscription.events()).toEqual([]);
    } finally {
      await outside.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      await outside.end();
    }
    const [event] = await subscription.waitForEvents<Event>(1);
    expect(event?.transactionPosted.kind).toBe('TRANSFER');
    expect(event?.transactionPosted.postings[1]).toMatchObject({ amount: '0.50', account: { id: ana.accountId } });
    // And the live path works again.
    const after = dataOf(await transfer(viaB(ben.key), ben.accountId, ana.accountId, '0.5', key())).transfer;
    expect((await subscription.waitForEvents<Event>(2))[1]?.transactionPosted.id).toBe(after.id);
  });

  it('closes open subscriptions’ sockets with 1001 (going away) on a graceful stop, and the instance exits cleanly', async () => {
    const third = await startService(ledger.databaseUrl);
    const socket = await WsConnection.open(third.url, bearer(ana.key));
    const [subscription] = await subscribed(third, () => [socket.subscribe(SUBSCRIPTION, { accountId: ana.accountId })]);
    await third.stop();
    expect(third.process.exitCode).toBe(0);
    await subscription.connection.waitFor(() => socket.closeCode !== null, 'the socket to close').catch(() => undefined);
    expect(socket.closeCode).toBe(1001);
  });
});
