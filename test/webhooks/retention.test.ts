import type { Client } from 'pg';
import { connect } from '../support/database';
import { startLedger, transfer, type TestLedger } from '../support/ledger';
import { dataOf, newMember, setUpHours, waitFor, type Member } from '../timebank/helpers';
import { createWebhook, deliveries, waitUntil } from './helpers';
import { Receiver } from './receiver';

/** 0.0001 days: 8.64 seconds, long enough to see the rows before they go on a busy machine. */
const RETENTION_DAYS = '0.0001';
const RETENTION_MS = 8_640;

interface Row {
  seq: string;
  status: string | null;
}

describe('webhook retention: delivered deliveries and spent events are deleted after WEBHOOK_RETENTION_DAYS', () => {
  let ledger: TestLedger;
  let db: Client;
  let receiver: Receiver;
  let ana: Member;
  let ben: Member;
  let carol: Member;

  /** Each outbox event of these transactions (its id is the transaction's), with the status of its delivery to the webhook (null: none). */
  async function rows(transactionIds: readonly string[], webhookId: string): Promise<Row[]> {
    const { rows: found } = await db.query<Row>(
      `SELECT e.seq::text AS seq, d.status FROM ledger_events e
         LEFT JOIN webhook_deliveries_listed d ON d.network_id = e.network_id AND d.event_seq = e.seq AND d.webhook_id = $2
        WHERE e.type = 'TRANSACTION_POSTED' AND e.id = ANY($1::uuid[]) ORDER BY e.seq`,
      [transactionIds, webhookId],
    );
    return found;
  }

  async function pay(to: Member, key: string): Promise<string> {
    return dataOf(await transfer(ledger.client(ana.key), ana.accountId, to.accountId, '0.01', key)).transfer.id;
  }

  beforeAll(async () => {
    receiver = await new Receiver().start();
    ledger = await startLedger({
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RETRY_MIN_MS: '200',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_RETENTION_DAYS: RETENTION_DAYS,
    });
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '100' });
    ben = await newMember(ledger.admin, 'Ben');
    carol = await newMember(ledger.admin, 'Carol');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
    await receiver.stop();
  });

  it('deletes delivered deliveries and events with nothing left to send, keeps what is still owed, and only after the period', async () => {
    receiver.on('/down', () => 500);
    const ok = dataOf(await createWebhook(ledger.admin, { url: receiver.url('/ok'), events: ['TRANSACTION_POSTED'] })).createWebhook;
    // Hears only Carol's transfers, and never gets an answer it accepts: its deliveries stay PENDING.
    const down = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/down'), events: ['TRANSACTION_POSTED'], accountId: carol.accountId }),
    ).createWebhook;
    const toBen = [await pay(ben, 'r-1'), await pay(ben, 'r-2'), await pay(ben, 'r-3')];
    const toCarol = await pay(carol, 'r-4');
    const deliveredAt = Date.now();
    await waitUntil('every delivery to /ok', () => receiver.at('/ok').length >= 4);
    await waitFor('the deliveries recorded DELIVERED', async () => {
      const list = await rows([...toBen, toCarol], ok.webhook.id);
      return list.length === 4 && list.every((r) => r.status === 'DELIVERED') ? true : undefined;
    });
    await waitUntil('a failed attempt to /down', () => receiver.at('/down').length >= 1);
    // Well inside the period nothing has gone.
    if (Date.now() - deliveredAt < RETENTION_MS / 2) expect(await rows([...toBen, toCarol], ok.webhook.id)).toHaveLength(4);

    await waitFor(
      'the delivered rows and the spent events deleted',
      async () => ((await rows(toBen, ok.webhook.id)).length === 0 ? true : undefined),
      RETENTION_MS + 20_000,
    );
    expect(Date.now() - deliveredAt).toBeGreaterThanOrEqual(RETENTION_MS - 1_000);
    // Carol's event is still owed to /down: it stays, with that pending delivery; its delivered one to /ok is gone.
    expect(await rows([toCarol], ok.webhook.id)).toEqual([{ seq: expect.any(String), status: null }]);
    expect(await rows([toCarol], down.webhook.id)).toEqual([{ seq: expect.any(String), status: 'PENDING' }]);
    expect(await deliveries(ledger.admin, ok.webhook.id)).toEqual([]);
    expect((await deliveries(ledger.admin, down.webhook.id)).map((d) => d.status)).toEqual(['PENDING']);
  });
});
