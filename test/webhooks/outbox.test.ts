import { Client as PgClient, type Client } from 'pg';
import { connect } from '../support/database';
import { startLedger, transfer, type TestLedger } from '../support/ledger';
import {
  captureHold,
  confirmExchange,
  createHold,
  dataOf,
  disputeExchange,
  newMember,
  recordExchange,
  setUpHours,
  voidHold,
  waitFor,
  type Member,
} from '../timebank/helpers';
import { createWebhook } from './helpers';

interface EventRow {
  type: string;
  account_ids: string[];
  data: Record<string, Record<string, unknown>>;
}

/** Events with their payloads, however written (migrations/0034: TRANSACTION_POSTED by reference). */
async function eventsSince(db: Client, seq: string): Promise<(EventRow & { seq: string })[]> {
  const { rows } = await db.query<EventRow & { seq: string }>(
    'SELECT seq::text, type, account_ids::text[] AS account_ids, data FROM ledger_events_with_data WHERE seq > $1 ORDER BY seq',
    [seq],
  );
  return rows;
}

/** How the outbox row of each event since `seq` was written: naming a transaction, or as a document. */
async function storedSince(
  db: Client,
  seq: string,
): Promise<{ type: string; id: string; transaction_sequence: string | null; document: boolean }[]> {
  const { rows } = await db.query<{ type: string; id: string; transaction_sequence: string | null; document: boolean }>(
    `SELECT type, id::text, transaction_sequence::text, data IS NOT NULL AS document FROM ledger_events WHERE seq > $1 ORDER BY seq`,
    [seq],
  );
  return rows;
}

async function lastSeq(db: Client): Promise<string> {
  const { rows } = await db.query<{ seq: string }>('SELECT coalesce(max(seq), 0)::text AS seq FROM ledger_events');
  return rows[0]?.seq ?? '0';
}

describe('the webhook outbox: events written in the posting transaction', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member;
  let ben: Member;

  beforeAll(async () => {
    ledger = await startLedger({ HOLD_SWEEP_INTERVAL_MS: '100', WEBHOOK_EVENTS_BY_REFERENCE: 'true' });
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '20' });
    ben = await newMember(ledger.admin, 'Ben', { creditLimit: '20' });
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('writes no event while no webhook exists', async () => {
    dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '1.00', 'before-any-webhook'));
    expect(await eventsSince(db, '0')).toEqual([]);
  });

  describe('with a webhook', () => {
    beforeAll(async () => {
      const { rows } = await db.query<{ id: string; network_id: string }>(
        "SELECT id, network_id FROM api_keys WHERE role = 'ADMIN' LIMIT 1",
      );
      await db.query(
        `INSERT INTO webhooks (network_id, id, url, events, api_key_id, secret_ciphertext)
         VALUES ($2, gen_random_uuid(), 'http://example.test/hook', '{TRANSACTION_POSTED}', $1, '\\x00')`,
        [rows[0]?.id, rows[0]?.network_id],
      );
    });

    it('writes TRANSACTION_POSTED with the transaction, its postings and currency', async () => {
      const from = await lastSeq(db);
      const posted = dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '1.50', 'with-webhook')).transfer;
      const events = await eventsSince(db, from);
      expect(events.map((e) => e.type)).toEqual(['TRANSACTION_POSTED']);
      const transaction = events[0]?.data.transaction;
      expect(transaction).toMatchObject({ id: posted.id, sequence: posted.sequence, kind: 'TRANSFER' });
      // The posting time as the API gives it, to the microsecond.
      const api = await ledger.admin.ok<{ transaction: { postedAt: string } }>('query($id: ID!) { transaction(id: $id) { postedAt } }', {
        id: posted.id,
      });
      expect(api.transaction.postedAt).toMatch(/\.\d{6}Z$/);
      expect(transaction?.postedAt).toBe(api.transaction.postedAt);
      expect(transaction?.postings).toEqual([
        { accountId: ana.accountId, amount: '-1.50', currency: 'HOUR' },
        { accountId: ben.accountId, amount: '1.50', currency: 'HOUR' },
      ]);
      expect(new Set(events[0]?.account_ids)).toEqual(new Set([ana.accountId, ben.accountId]));
      // A group whose only events are transactions posted names each transaction; the event's id is the transaction's.
      expect(await storedSince(db, from)).toEqual([
        { type: 'TRANSACTION_POSTED', id: posted.id, transaction_sequence: posted.sequence, document: false },
      ]);
    });

    it('writes no event for a refused transfer, and none twice for an idempotent repeat', async () => {
      const from = await lastSeq(db);
      const refused = await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '500.00', 'too-much');
      expect(refused.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
      dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '1.50', 'with-webhook'));
      expect(await eventsSince(db, from)).toEqual([]);
    });

    it('writes HOLD_CREATED, then HOLD_RESOLVED with the transaction when captured, and when voided', async () => {
      const from = await lastSeq(db);
      const client = ledger.client(ana.key);
      const captured = dataOf(await createHold(client, { from: ana.accountId, to: ben.accountId, amount: '2', key: 'h1' })).createHold;
      const capture = dataOf(await captureHold(client, captured.id, '1.25')).captureHold;
      const voided = dataOf(await createHold(client, { from: ana.accountId, to: ben.accountId, amount: '3', key: 'h2' })).createHold;
      dataOf(await voidHold(client, voided.id));
      const events = await eventsSince(db, from);
      expect(events.map((e) => [e.type, e.data.hold?.status ?? null])).toEqual([
        ['HOLD_CREATED', 'PENDING'],
        ['HOLD_RESOLVED', 'CAPTURED'],
        ['TRANSACTION_POSTED', null],
        ['HOLD_CREATED', 'PENDING'],
        ['HOLD_RESOLVED', 'VOIDED'],
      ]);
      // The capture's group has a hold event too: every event of it is written as a document, in order.
      expect((await storedSince(db, from)).map((e) => [e.type, e.document])).toEqual([
        ['HOLD_CREATED', true],
        ['HOLD_RESOLVED', true],
        ['TRANSACTION_POSTED', true],
        ['HOLD_CREATED', true],
        ['HOLD_RESOLVED', true],
      ]);
      expect(events[2]?.data.transaction).toMatchObject({ id: capture.transaction.id });
      expect(events[1]?.data.hold).toEqual({
        id: captured.id,
        fromAccountId: ana.accountId,
        toAccountId: ben.accountId,
        amount: '2.00',
        currency: 'HOUR',
        status: 'CAPTURED',
        expiresAt: null,
        transactionId: capture.transaction.id,
      });
    });

    it('writes HOLD_RESOLVED with EXPIRED when the sweeper releases a hold', async () => {
      const from = await lastSeq(db);
      // With microseconds, which the event keeps.
      const expiresAt = new Date(Date.now() + 800).toISOString().replace('Z', '417Z');
      const hold = dataOf(
        await createHold(ledger.client(ana.key), { from: ana.accountId, to: ben.accountId, amount: '1', key: 'h3', expiresAt }),
      ).createHold;
      const expired = await waitFor('the expiry event', async () => {
        const events = await eventsSince(db, from);
        return events.find((e) => e.type === 'HOLD_RESOLVED' && e.data.hold?.id === hold.id);
      });
      expect(expired.data.hold).toMatchObject({ status: 'EXPIRED', expiresAt });
    });

    it('writes EXCHANGE_PENDING for a provider’s claim and EXCHANGE_RESOLVED when confirmed or disputed', async () => {
      const from = await lastSeq(db);
      const claim = dataOf(
        await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: ana.accountId, hours: '1.5', key: 'x1' }),
      ).recordExchange;
      dataOf(await confirmExchange(ledger.client(ana.key), claim.id));
      const disputed = dataOf(
        await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: ana.accountId, hours: '2', key: 'x2' }),
      ).recordExchange;
      dataOf(await disputeExchange(ledger.client(ana.key), disputed.id, 'never came'));
      const exchangeEvents = (await eventsSince(db, from)).filter((e) => e.type.startsWith('EXCHANGE_'));
      expect(exchangeEvents.map((e) => [e.type, e.data.exchange?.status])).toEqual([
        ['EXCHANGE_PENDING', 'PENDING'],
        ['EXCHANGE_RESOLVED', 'CONFIRMED'],
        ['EXCHANGE_PENDING', 'PENDING'],
        ['EXCHANGE_RESOLVED', 'DISPUTED'],
      ]);
      expect(exchangeEvents[1]?.data.exchange).toEqual({
        id: claim.id,
        providerAccountId: ben.accountId,
        receiverAccountId: ana.accountId,
        hours: '1.50',
        status: 'CONFIRMED',
        holdId: claim.hold.id,
        transactionId: expect.any(String),
      });
    });
  });

  it('creates a webhook only once no posting group holds its network’s head, dated after that group', async () => {
    // A group builds events only if it saw a webhook under the head lock (migrations/0014): a
    // webhook it did not see must be dated after everything the group posted, or fan-out
    // would owe the webhook events that were never built.
    const group = await connect(ledger.databaseUrl);
    try {
      await group.query('BEGIN');
      await group.query(
        "SELECT 1 FROM ledger_head WHERE network_id = (SELECT network_id FROM api_keys WHERE role = 'ADMIN' LIMIT 1) FOR UPDATE",
      );
      let settled = false;
      const creating = createWebhook(ledger.admin, { url: 'http://127.0.0.1:9/late', events: ['TRANSACTION_POSTED'] }).finally(() => {
        settled = true;
      });
      // Either the creation waits on a lock (it must wait for the group) or it is done already.
      await waitFor('the creation waiting on a lock, or done', async () => {
        const { rows } = await db.query(
          `SELECT 1 FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND (query LIKE '%FOR SHARE OF h%' OR query LIKE '%INSERT INTO webhooks%')`,
        );
        return settled || rows.length > 0 ? true : undefined;
      });
      const { rows } = await group.query<{ clock: string }>('SELECT clock_timestamp()::text AS clock');
      await group.query('COMMIT');
      const created = dataOf(await creating).createWebhook.webhook;
      const { rows: dated } = await db.query<{ after: boolean }>(
        'SELECT created_at > $1::timestamptz AS after FROM webhooks WHERE id = $2',
        [rows[0]?.clock, created.id],
      );
      expect(dated).toEqual([{ after: true }]);
    } finally {
      await group.end();
    }
  });
});

describe('the webhook outbox with WEBHOOK_EVENTS_BY_REFERENCE=auto (the default)', () => {
  let ledger: TestLedger;
  let db: Client;
  /** Stands for an instance of an earlier release: its LISTEN connection, by the name those releases gave it. */
  let earlier: Client | null;
  let ana: Member;
  let ben: Member;
  let n = 0;

  async function connectEarlier(): Promise<Client> {
    const client = new PgClient({ connectionString: ledger.databaseUrl, application_name: 'solidarity-ledger-listener' });
    await client.connect();
    return client;
  }

  /** How the outbox row of a new transfer is written. */
  async function nextTransferStored(): Promise<'reference' | 'document'> {
    const from = await lastSeq(db);
    const posted = dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '0.01', `auto-${++n}`)).transfer;
    const [stored] = await storedSince(db, from);
    expect(stored).toMatchObject({ type: 'TRANSACTION_POSTED', id: posted.id });
    return stored?.document ? 'document' : 'reference';
  }

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    earlier = await connectEarlier();
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '20' });
    ben = await newMember(ledger.admin, 'Ben');
    dataOf(await createWebhook(ledger.admin, { url: 'http://127.0.0.1:9/hook', events: ['TRANSACTION_POSTED'] }));
  });
  afterAll(async () => {
    await earlier?.end();
    await db.end();
    await ledger.stop();
  });

  it('writes documents, which every version reads, while an instance of an earlier release is connected', async () => {
    // It connected just after the service's first look: the next look (within 10 s) sees it, and every one after.
    await waitFor('a look that sees it', async () => ((await nextTransferStored()) === 'document' ? true : undefined));
    for (let i = 0; i < 3; i++) expect(await nextTransferStored()).toBe('document');
  });

  it('names the transactions once no earlier instance is connected, and writes documents again when one connects', async () => {
    await earlier?.end();
    earlier = null;
    await waitFor('rows naming their transaction', async () => ((await nextTransferStored()) === 'reference' ? true : undefined), 25_000);
    earlier = await connectEarlier();
    await waitFor('documents again', async () => ((await nextTransferStored()) === 'document' ? true : undefined), 25_000);
  });
});

describe('the webhook outbox with WEBHOOK_EVENTS_BY_REFERENCE=false', () => {
  let ledger: TestLedger;
  let db: Client;

  beforeAll(async () => {
    ledger = await startLedger({ WEBHOOK_EVENTS_BY_REFERENCE: 'false' });
    db = await connect(ledger.databaseUrl);
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('writes TRANSACTION_POSTED as a document, with no earlier instance connected', async () => {
    await setUpHours(ledger.admin);
    const ana = await newMember(ledger.admin, 'Ana', { creditLimit: '20' });
    const ben = await newMember(ledger.admin, 'Ben');
    dataOf(await createWebhook(ledger.admin, { url: 'http://127.0.0.1:9/hook', events: ['TRANSACTION_POSTED'] }));
    const from = await lastSeq(db);
    const posted = dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, '2.00', 'as-document')).transfer;
    expect(await storedSince(db, from)).toEqual([
      { type: 'TRANSACTION_POSTED', id: posted.id, transaction_sequence: null, document: true },
    ]);
  });
});
