import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import type { WebhookRepository } from '../../src/webhooks/webhook.repository';
import { connect } from '../support/database';
import { newMedium, type Medium } from '../support/medium';

const NETWORK = '00000000-0000-4000-8000-000000000001';

// No foreign key keeps an outbox event while a delivery names it (migrations/0033): the retention
// sweep and the only late writer of deliveries (a leased round's end) keep that promise themselves.
describe('webhook events: never deleted while a delivery names them', () => {
  let medium: Medium;
  let db: Client;
  let other: Client;
  let repository: ReturnType<typeof remote>;
  const remote = (m: Medium) => m.service<WebhookRepository>('webhooks/webhook.repository', 'WebhookRepository');

  beforeAll(async () => {
    medium = await newMedium({}, [{ module: 'webhooks/webhook.repository', name: 'WebhookRepository' }]);
    db = await connect(medium.databaseUrl);
    other = await connect(medium.databaseUrl);
    repository = remote(medium);
  });
  afterAll(async () => {
    await other?.end();
    await db?.end();
    await medium?.close();
  });

  /** An event an hour old, fanned out (the cursor through it), and one delivery of it DELIVERED an hour ago. */
  async function deliveredEvent(): Promise<{ seq: string; delivery: string }> {
    const {
      rows: [event],
    } = await db.query<{ seq: string }>(
      `INSERT INTO ledger_events (network_id, id, type, occurred_at, account_ids, data)
       VALUES ($1, $2, 'TRANSACTION_POSTED', now() - interval '1 hour', '{}', '{}') RETURNING seq::text`,
      [NETWORK, randomUUID()],
    );
    const seq = (event as { seq: string }).seq;
    await db.query(
      `INSERT INTO webhook_fan_out (network_id, through_seq) VALUES ($1, $2)
       ON CONFLICT (network_id) DO UPDATE SET through_seq = excluded.through_seq, lease_id = NULL, leased_until = NULL`,
      [NETWORK, seq],
    );
    const delivery = randomUUID();
    await db.query(
      `INSERT INTO webhook_deliveries (network_id, id, webhook_id, event_seq, status, attempts, first_attempt_at, delivered_at)
       VALUES ($1, $2, $3, $4, 'DELIVERED', 1, now() - interval '1 hour', now() - interval '1 hour')`,
      [NETWORK, delivery, randomUUID(), seq],
    );
    return { seq, delivery };
  }

  /** Like deliveredEvent, but the delivery kept in a batch (migrations/0037) delivered `deliveredAgo` ago, at place 0. */
  async function batchedEvent(deliveredAgo = '1 hour'): Promise<{ seq: string; delivery: string; batch: string }> {
    const { seq, delivery: row } = await deliveredEvent();
    await db.query('DELETE FROM webhook_deliveries WHERE id = $1', [row]);
    const batch = `${randomUUID().slice(0, 32)}0000`;
    await db.query(
      `INSERT INTO webhook_delivered_batches (network_id, id, webhook_id, first_seq, last_seq, event_seqs, status_codes, delivered_at, kept_from)
       VALUES ($1, $2, $3, $4, $4, ARRAY[$4::bigint], '{200}', now() - $5::interval, now() - $5::interval)`,
      [NETWORK, batch, randomUUID(), seq, deliveredAgo],
    );
    return { seq, delivery: batch, batch };
  }

  /** Sweeps from the event while `other` holds an open replay, which commits once the sweep waits on its lock. */
  async function sweepWhileReplaying(seq: string): Promise<{ deliveries: number; events: number }> {
    const sweeping = repository.sweep(NETWORK, String(Number(seq) - 1), 500, 60_000);
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%events_gone%'`);
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await other.query('COMMIT');
    return sweeping;
  }

  async function exists(
    table: 'ledger_events' | 'webhook_deliveries' | 'webhook_deliveries_listed' | 'webhook_delivered_batches',
    where: string,
    value: string,
  ): Promise<boolean> {
    const { rows } = await db.query(`SELECT 1 FROM ${table} WHERE network_id = $1 AND ${where} = $2`, [NETWORK, value]);
    return rows.length > 0;
  }

  it('deletes a delivered delivery past the retention and its event', async () => {
    const { seq, delivery } = await deliveredEvent();
    const swept = await repository.sweep(NETWORK, String(Number(seq) - 1), 500, 60_000);
    expect(swept).toMatchObject({ deliveries: 1, events: 1 });
    expect(await exists('webhook_deliveries', 'id', delivery)).toBe(false);
    expect(await exists('ledger_events', 'seq', seq)).toBe(false);
  });

  it('keeps the event of a delivery a replay makes PENDING while the sweep is deleting it', async () => {
    const { seq, delivery } = await deliveredEvent();
    // The replay holds the delivery's row: the sweep took its snapshot with the delivery DELIVERED, then waits on it.
    await other.query('BEGIN');
    await other.query(`UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now(), delivered_at = NULL WHERE id = $1`, [
      delivery,
    ]);
    expect(await sweepWhileReplaying(seq)).toMatchObject({ deliveries: 0, events: 0 });
    expect(await exists('webhook_deliveries', 'id', delivery)).toBe(true);
    expect(await exists('ledger_events', 'seq', seq)).toBe(true);
  });

  it('deletes a batch of deliveries past the retention and its event', async () => {
    const { seq, batch } = await batchedEvent();
    const swept = await repository.sweep(NETWORK, String(Number(seq) - 1), 500, 60_000);
    expect(swept).toMatchObject({ deliveries: 1, events: 1 });
    expect(await exists('webhook_delivered_batches', 'id', batch)).toBe(false);
    expect(await exists('ledger_events', 'seq', seq)).toBe(false);
  });

  it('keeps the events of a batch delivered within the retention, and every event after its first', async () => {
    const { seq, batch } = await batchedEvent('1 second');
    // An older event after it, with no delivery at all: above the young batch's first event, so kept too.
    const after = await deliveredEvent();
    await db.query('DELETE FROM webhook_deliveries WHERE id = $1', [after.delivery]);
    const swept = await repository.sweep(NETWORK, String(Number(seq) - 1), 500, 60_000);
    expect(swept).toMatchObject({ deliveries: 0, events: 0 });
    expect(await exists('webhook_delivered_batches', 'id', batch)).toBe(true);
    expect(await exists('ledger_events', 'seq', seq)).toBe(true);
    expect(await exists('ledger_events', 'seq', after.seq)).toBe(true);
    await db.query('DELETE FROM webhook_delivered_batches WHERE id = $1', [batch]);
    expect(await repository.sweep(NETWORK, String(Number(seq) - 1), 500, 60_000)).toMatchObject({ events: 2 });
  });

  it('keeps the event of a batched delivery a replay moves out while the sweep is deleting the batch', async () => {
    const { seq, delivery, batch } = await batchedEvent();
    // The replay, as WebhookRepository.replay does it, holds the batch: the sweep took its snapshot before, then waits on it.
    await other.query('BEGIN');
    await other.query(`UPDATE webhook_delivered_batches SET event_seqs[1] = NULL, kept_from = now() WHERE network_id = $1 AND id = $2`, [
      NETWORK,
      batch,
    ]);
    await other.query(
      `INSERT INTO webhook_deliveries (network_id, id, webhook_id, event_seq, status, attempts, next_attempt_at)
       SELECT network_id, id, webhook_id, $3, 'PENDING', 1, now() FROM webhook_delivered_batches WHERE network_id = $1 AND id = $2`,
      [NETWORK, batch, seq],
    );
    expect(await sweepWhileReplaying(seq)).toMatchObject({ deliveries: 0, events: 0 });
    expect(await exists('webhook_deliveries', 'id', delivery)).toBe(true);
    expect(await exists('ledger_events', 'seq', seq)).toBe(true);
  });

  it('writes no delivery of a leased round whose events another instance has fanned out since', async () => {
    const { seq } = await deliveredEvent();
    const lease = randomUUID();
    // The round's lease, still its id, but the cursor already through its event (the lease ran out, another round moved it).
    await db.query(`UPDATE webhook_fan_out SET lease_id = $2, leased_until = now() WHERE network_id = $1`, [NETWORK, lease]);
    const late = {
      networkId: NETWORK,
      // A round's first delivery of its webhook: place 0 of its batch (delivery-ids.ts).
      id: `${randomUUID().slice(0, 32)}0000`,
      webhookId: randomUUID(),
      eventSeq: seq,
      state: 'delivered' as const,
      result: null,
    };
    await repository.endRound(lease, new Map([[NETWORK, seq]]), [late], 60_000, 60_000);
    expect(await exists('webhook_deliveries_listed', 'id', late.id)).toBe(false);

    // Still below the round's event and leased to it: written.
    await db.query(`UPDATE webhook_fan_out SET through_seq = $2 - 1, lease_id = $3 WHERE network_id = $1`, [NETWORK, seq, lease]);
    await repository.endRound(lease, new Map([[NETWORK, seq]]), [late], 60_000, 60_000);
    expect(await exists('webhook_deliveries_listed', 'id', late.id)).toBe(true);
    expect(await exists('webhook_delivered_batches', 'id', late.id)).toBe(true);
  });
});
