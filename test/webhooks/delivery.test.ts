import { connect } from '../support/database';
import { startLedger, transfer, type TestLedger } from '../support/ledger';
import { metricOf } from '../support/metrics';
import { dataOf, newMember, setUpHours, waitFor, type Member } from '../timebank/helpers';
import { createWebhook, deliveries, waitUntil } from './helpers';
import { Receiver, verifySignature } from './receiver';

const RETRY_MIN_MS = 300;

describe('webhook delivery to a real HTTP receiver', () => {
  let ledger: TestLedger;
  let receiver: Receiver;
  let ana: Member;
  let ben: Member;
  let sent = 0;

  /** A transfer from Ana to Ben; returns the transaction. */
  async function pay(amount = '0.10'): Promise<{ id: string; sequence: string }> {
    sent++;
    return dataOf(await transfer(ledger.client(ana.key), ana.accountId, ben.accountId, amount, `pay-${sent}`)).transfer;
  }

  beforeAll(async () => {
    receiver = await new Receiver().start();
    ledger = await startLedger({
      WEBHOOK_RETRY_MIN_MS: String(RETRY_MIN_MS),
      WEBHOOK_RETRY_WINDOW_MS: '4000',
      WEBHOOK_TIMEOUT_MS: '1500',
      WEBHOOK_POLL_MS: '50',
      // Payloads read back from the ledger when fanned out and when claimed for a retry (migrations/0034).
      WEBHOOK_EVENTS_BY_REFERENCE: 'true',
    });
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '1000' });
    ben = await newMember(ledger.admin, 'Ben');
  });
  afterAll(async () => {
    await ledger.stop();
    await receiver.stop();
  });

  it('POSTs the event with a Ledger-Signature the secret verifies, once, and lists it DELIVERED', async () => {
    const created = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/signed'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    expect(created.secret).toMatch(/^whsec_/);
    const posted = await pay('1.25');
    await waitUntil('the delivery', () => receiver.at('/signed').length > 0);
    const [request] = receiver.at('/signed');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(verifySignature(created.secret, request?.headers['ledger-signature'], request?.raw ?? '')).toBe(true);
    expect(verifySignature('whsec_someone-else', request?.headers['ledger-signature'], request?.raw ?? '')).toBe(false);
    const timestamp = Number(/t=(\d+)/.exec(String(request?.headers['ledger-signature']))?.[1]);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(120);
    expect(Object.keys(request?.body).sort()).toEqual(['data', 'id', 'network', 'occurredAt', 'type']);
    expect(request?.body).toMatchObject({
      type: 'TRANSACTION_POSTED',
      data: { transaction: { id: posted.id, sequence: posted.sequence } },
    });
    expect(request?.body.data.transaction.postings).toEqual([
      { accountId: ana.accountId, amount: '-1.25', currency: 'HOUR' },
      { accountId: ben.accountId, amount: '1.25', currency: 'HOUR' },
    ]);
    const [delivery] = await waitFor('the delivery to be recorded', async () => {
      const list = await deliveries(ledger.admin, created.webhook.id);
      return list[0]?.status === 'DELIVERED' ? list : undefined;
    });
    expect(delivery).toMatchObject({
      eventId: request?.body.id,
      event: 'TRANSACTION_POSTED',
      attempts: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
    expect(receiver.at('/signed')).toHaveLength(1);
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
  });

  it('deliveries answered within their round are kept together, and each is listed, paged and replayed by its own id', async () => {
    const created = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/batched'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    const posted = await Promise.all([pay(), pay(), pay()]);
    await waitUntil('three deliveries', () => receiver.at('/batched').length >= 3);
    const listed = await waitFor('three deliveries recorded', async () => {
      const list = await deliveries(ledger.admin, created.webhook.id);
      return list.length === 3 && list.every((d) => d.status === 'DELIVERED') ? list : undefined;
    });
    // Written as batch rows (migrations/0037), not as a row each.
    const db = await connect(ledger.databaseUrl);
    try {
      const { rows } = await db.query<{ rows: number; batched: number }>(
        `SELECT (SELECT count(*)::int FROM webhook_deliveries WHERE webhook_id = $1) AS rows,
                (SELECT coalesce(sum(cardinality(array_remove(event_seqs, NULL))), 0)::int FROM webhook_delivered_batches
                  WHERE webhook_id = $1) AS batched`,
        [created.webhook.id],
      );
      expect(rows[0]).toEqual({ rows: 0, batched: 3 });
    } finally {
      await db.end();
    }
    expect(new Set(listed.map((d) => d.id)).size).toBe(3);
    expect(listed.map((d) => d.attempts)).toEqual([1, 1, 1]);
    expect(listed.map((d) => d.lastStatusCode)).toEqual([200, 200, 200]);
    // Newest event first, and a page at a time.
    const bySequence = [...posted].sort((a, b) => Number(b.sequence) - Number(a.sequence));
    const eventIds = receiver.at('/batched').map((r) => r.body);
    const idOfSequence = (sequence: string) => eventIds.find((b) => b.data.transaction.sequence === sequence)?.id;
    expect(listed.map((d) => d.eventId)).toEqual(bySequence.map((t) => idOfSequence(t.sequence)));
    const page = (after: string | null) =>
      ledger.admin.ok<{ webhookDeliveries: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
        'query($id: ID!, $after: String) { webhookDeliveries(webhookId: $id, first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { id: created.webhook.id, after },
      );
    const first = (await page(null)).webhookDeliveries;
    expect(first.edges.map((e) => e.node.id)).toEqual(listed.slice(0, 2).map((d) => d.id));
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await page(first.pageInfo.endCursor)).webhookDeliveries;
    expect(second.edges.map((e) => e.node.id)).toEqual([listed[2]?.id]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    // The middle one sent again: it leaves its batch for a row of its own, under the same id, and is listed once.
    const again = listed[1] as (typeof listed)[number];
    const replayed = dataOf(
      await ledger.admin.request('mutation($id: ID!) { replayWebhookDelivery(id: $id) { id status eventId } }', { id: again.id }),
    ).replayWebhookDelivery;
    expect(replayed).toEqual({ id: again.id, status: 'PENDING', eventId: again.eventId });
    await waitUntil('the replay', () => receiver.at('/batched').length >= 4);
    expect(receiver.at('/batched')[3]?.body.id).toBe(again.eventId);
    const after = await waitFor('the replay recorded', async () => {
      const list = await deliveries(ledger.admin, created.webhook.id);
      return list.every((d) => d.status === 'DELIVERED') ? list : undefined;
    });
    expect(after.map((d) => d.id)).toEqual(listed.map((d) => d.id));
    expect(after[1]?.attempts).toBe(2);
    // An id that names a place no delivery holds is not found.
    const nowhere = `${again.id.slice(0, 32)}ffff`;
    const missing = await ledger.admin.request('mutation($id: ID!) { replayWebhookDelivery(id: $id) { id } }', { id: nowhere });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
  });

  it('a 2xx answer with a body far over 64 KiB is delivered, its body not read to the end', async () => {
    const BODY_BYTES = 64 * 1024 * 1024;
    receiver.answerBody('/big-answer', BODY_BYTES);
    const created = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/big-answer'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    const first = await pay();
    const second = await pay();
    const list = await waitFor('both deliveries recorded DELIVERED', async () => {
      const found = await deliveries(ledger.admin, created.webhook.id);
      return found.length === 2 && found.every((d) => d.status === 'DELIVERED') ? found : undefined;
    });
    expect(list.map((d) => [d.attempts, d.lastStatusCode, d.lastError])).toEqual([
      [1, 200, null],
      [1, 200, null],
    ]);
    const got = receiver.at('/big-answer').map((r) => r.body.data.transaction.id);
    expect(got.sort()).toEqual([first.id, second.id].sort());
    // The sender dropped each connection soon after 64 KiB of the answer rather than reading (or buffering) 64 MiB:
    // what its socket took is its limit plus the kernel's socket buffers.
    await waitUntil('both answers ended', () => (receiver.bodyBytesTaken.get('/big-answer') ?? []).length === 2);
    const taken = receiver.bodyBytesTaken.get('/big-answer') ?? [];
    for (const bytes of taken) expect(bytes).toBeLessThan(BODY_BYTES / 4);
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
  });

  it('retries a failing receiver with growing delays until it answers 2xx', async () => {
    // A memo with characters JSON escapes or writes as they are, so that "the same bytes" below means something.
    const memo = 'Café "du coin" \\ tab\t, a newline\n and ünïcode ✓';
    /** One transfer to a receiver that fails three times; whether its first attempt's body was built from the posting group's record. */
    async function flaky(round: number): Promise<boolean> {
      const path = `/flaky-${round}`;
      receiver.on(path, (_request, count) => (count <= 3 ? 500 : 204));
      const created = dataOf(await createWebhook(ledger.admin, { url: receiver.url(path), events: ['TRANSACTION_POSTED'] })).createWebhook;
      const keptBefore = await metricOf(ledger.service, 'ledger_webhook_payloads_kept_total');
      dataOf(
        await ledger
          .client(ana.key)
          .request(
            'mutation($from: ID!, $to: ID!, $memo: String, $key: String!) { transfer(from: $from, to: $to, amount: "0.25", memo: $memo, idempotencyKey: $key) { id } }',
            { from: ana.accountId, to: ben.accountId, memo, key: `flaky-memo-${round}` },
          ),
      );
      await waitUntil('four attempts', () => receiver.at(path).length >= 4);
      const times = receiver.at(path).map((r) => r.atMs);
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
      // First retry after at least the minimum; each later delay at least the previous base (doubling, jitter on top).
      expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_MIN_MS - 20);
      expect(gaps[1]).toBeGreaterThanOrEqual(2 * RETRY_MIN_MS - 20);
      expect(gaps[2]).toBeGreaterThanOrEqual(4 * RETRY_MIN_MS - 20);
      expect(new Set(receiver.at(path).map((r) => r.body.id)).size).toBe(1);
      // Every attempt carries the same bytes, the retries' read back from the ledger when they are claimed.
      expect(new Set(receiver.at(path).map((r) => r.raw)).size).toBe(1);
      expect(receiver.at(path)[0]?.body.data.transaction.memo).toBe(memo);
      const [delivery] = await waitFor('DELIVERED', async () => {
        const list = await deliveries(ledger.admin, created.webhook.id);
        return list[0]?.status === 'DELIVERED' ? list : undefined;
      });
      expect(delivery).toMatchObject({ attempts: 4, lastStatusCode: 204, lastError: null });
      dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
      return (await metricOf(ledger.service, 'ledger_webhook_payloads_kept_total')) > keptBefore;
    }
    // The first attempt's body is built when its event is fanned out: from the posting group's own record, kept by this
    // instance, unless the fan-out read the event in the instant between its commit and the group's return (the record is
    // kept once the group has its COMMIT's answer; PostgreSQL shows the commit to others a moment before it answers). Then
    // that body too is read from the ledger. Rounds until one first body came from the record, so that "the same bytes"
    // compares the two ways of building it; three rounds that all met that instant would be a fault.
    const rounds: boolean[] = [];
    while (rounds.length < 3 && !rounds.includes(true)) rounds.push(await flaky(rounds.length + 1));
    expect(rounds).toContain(true);
  });

  it('gives up after the retry window: FAILED, with the last answer; a redirect is not followed', async () => {
    receiver.on('/moved', () => 302);
    const created = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/moved'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    await pay();
    const [delivery] = await waitFor(
      'FAILED',
      async () => {
        const list = await deliveries(ledger.admin, created.webhook.id);
        return list[0]?.status === 'FAILED' ? list : undefined;
      },
      30_000,
    );
    expect(delivery).toMatchObject({ lastStatusCode: 302, nextAttemptAt: null, deliveredAt: null });
    expect(delivery?.attempts).toBeGreaterThanOrEqual(3);
    expect(receiver.received.filter((r) => r.path === '/elsewhere')).toEqual([]);
    // replayWebhookDelivery sends it once more, with the same event id.
    receiver.on('/moved', () => 200);
    const replayed = dataOf(
      await ledger.admin.request('mutation($id: ID!) { replayWebhookDelivery(id: $id) { id status } }', { id: delivery?.id }),
    ).replayWebhookDelivery;
    expect(replayed.status).toBe('PENDING');
    await waitFor('the replay delivered', async () => {
      const list = await deliveries(ledger.admin, created.webhook.id);
      return list[0]?.status === 'DELIVERED' ? true : undefined;
    });
    expect(new Set(receiver.at('/moved').map((r) => r.body.id))).toEqual(new Set([delivery?.eventId]));
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
  });

  it('a receiver that never answers delays no other receiver', async () => {
    receiver.on('/stuck', () => 'hang');
    const stuck = dataOf(await createWebhook(ledger.admin, { url: receiver.url('/stuck'), events: ['TRANSACTION_POSTED'] })).createWebhook;
    const quick = dataOf(await createWebhook(ledger.admin, { url: receiver.url('/quick'), events: ['TRANSACTION_POSTED'] })).createWebhook;
    const before = receiver.at('/quick').length;
    const started = Date.now();
    for (let i = 0; i < 30; i++) await pay();
    await waitUntil('30 quick deliveries', () => receiver.at('/quick').length - before >= 30);
    // 30 events held by a receiver that answers nothing for 1.5 s each would take many seconds in line.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(receiver.at('/stuck').length).toBeGreaterThan(0);
    for (const id of [stuck.webhook.id, quick.webhook.id]) {
      dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id }));
    }
  });

  it('holds deliveries while the receiver is down and sends them when it is back', async () => {
    const down = await new Receiver().start();
    const port = down.port;
    const created = dataOf(await createWebhook(ledger.admin, { url: down.url('/later'), events: ['TRANSACTION_POSTED'] })).createWebhook;
    await down.stop();
    const posted = [await pay(), await pay()];
    await waitFor('failed attempts', async () => {
      const list = await deliveries(ledger.admin, created.webhook.id);
      return list.length === 2 && list.every((d) => d.attempts >= 1 && d.status === 'PENDING' && d.lastError) ? true : undefined;
    });
    const back = await new Receiver().start(port);
    try {
      await waitUntil('both delivered', () => back.at('/later').length >= 2, 20_000);
      expect(new Set(back.at('/later').map((r) => r.body.data.transaction.id))).toEqual(new Set(posted.map((p) => p.id)));
    } finally {
      await back.stop();
    }
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
  });

  it('a deleted webhook is sent nothing more', async () => {
    const created = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/deleted'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    const deleted = dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.webhook.id }));
    expect(deleted.deleteWebhook.id).toBe(created.webhook.id);
    // A webhook that still listens marks the moment every earlier event has been sent.
    const marker = dataOf(
      await createWebhook(ledger.admin, { url: receiver.url('/marker'), events: ['TRANSACTION_POSTED'] }),
    ).createWebhook;
    await pay();
    await waitUntil('the marker delivery', () => receiver.at('/marker').length > 0);
    expect(receiver.at('/deleted')).toEqual([]);
    const webhooks = (await ledger.admin.ok<{ webhooks: { id: string }[] }>('{ webhooks { id } }')).webhooks.map((w) => w.id);
    expect(webhooks).toContain(marker.webhook.id);
    expect(webhooks).not.toContain(created.webhook.id);
    dataOf(await ledger.admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: marker.webhook.id }));
  });
});
