import { Injectable } from '@nestjs/common';
import { arrayLiteral } from '../database/array-literal';
import { Database, type Sql } from '../database/database';
import type { LedgerEventType } from '../ledger/events/ledger-events';
import { PostedPayloads } from '../ledger/events/posted-payloads';
import { batchPlaceOf, deliveryIdAt } from './delivery-ids';
import { AccountUnits, withPostedData } from './transaction-events';
import type { DeliveryRecord, WebhookRecord } from './webhook.record';

interface WebhookRow {
  network_id: string;
  id: string;
  url: string;
  events: LedgerEventType[];
  account_id: string | null;
  description: string | null;
  api_key_id: string;
  created_at: Date;
  deleted_at: Date | null;
}

interface DeliveryRow {
  network_id: string;
  id: string;
  seq: string;
  webhook_id: string;
  event_id: string;
  event_type: LedgerEventType;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  /** A delivery kept in a batch: its 1-based place there, `id` being the batch's (null for a row of its own). */
  place: string | null;
}

function toWebhookRecord(row: WebhookRow): WebhookRecord {
  return {
    networkId: row.network_id,
    id: row.id,
    url: row.url,
    events: row.events,
    accountId: row.account_id,
    description: row.description,
    apiKeyId: row.api_key_id,
    createdAt: row.created_at,
    deletedAt: row.deleted_at,
  };
}

function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  return {
    networkId: row.network_id,
    id: row.place === null ? row.id : deliveryIdAt(row.id, Number(row.place) - 1),
    seq: row.seq,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
  };
}

/** A number as an array element (its decimal text), or NULL. */
function numberOrNull(value: number | null): string | null {
  return value === null ? null : String(value);
}

/** A listening webhook with what fan-out needs of the key that created it, and what sending needs. */
export interface ListenerRow {
  network_id: string;
  id: string;
  events: LedgerEventType[];
  account_id: string | null;
  created_at: Date;
  api_key_id: string;
  role: string;
  party_id: string | null;
  url: string;
  secret_ciphertext: Buffer;
}

/** An event taken for fan-out, with its payload as the JSON text the database keeps (sent as it is). */
export interface PendingEventRow {
  network_id: string;
  seq: string;
  id: string;
  type: LedgerEventType;
  occurred_at: Date;
  account_ids: string[];
  data: string;
}

/** A delivery taken by this instance, with everything needed to send it. */
export interface ClaimedRow {
  network_id: string;
  id: string;
  webhook_id: string;
  attempts: number;
  url: string;
  secret_ciphertext: Buffer;
  /** Why it must not be sent any more (webhook deleted, key revoked), or null. */
  stopped: string | null;
  event_id: string;
  event_type: LedgerEventType;
  occurred_at: Date;
  /** The event's `data` as JSON text, spliced into the body without parsing. */
  data: string;
}

/** A delivery fan-out makes: claimed (sent by this instance right away) or left due for any instance. */
export interface NewDelivery {
  readonly webhook: ListenerRow;
  readonly event: PendingEventRow;
  readonly id: string;
  readonly claimed: boolean;
}

/** A delivery a leased fan-out round claimed, as it is written when the round ends. */
export interface RoundDelivery {
  readonly networkId: string;
  readonly id: string;
  readonly webhookId: string;
  readonly eventSeq: string;
  /** Its attempt answered (delivered or failed), still under way, or released unattempted. */
  readonly state: 'delivered' | 'failed' | 'sending' | 'released';
  readonly result: AttemptResult | null;
}

export interface AttemptResult {
  readonly networkId: string;
  readonly id: string;
  /** The attempt number this instance claimed: an older attempt's late answer never overrides a newer claim. */
  readonly attempts: number;
  readonly delivered: boolean;
  /** No retry (the webhook was deleted or its key revoked). */
  readonly final: boolean;
  readonly statusCode: number | null;
  readonly error: string | null;
  /** The retry delay, when not delivered. */
  readonly retryDelayMs: number;
  /**
   * Not attempted after all (it waited in this instance's queue too long, or the instance is
   * stopping): the claim is undone, so the delivery is due again at once and its attempt not counted.
   */
  readonly released?: boolean;
}

/** A row as read, before `withPostedData` fills the payload of an event written by reference (its transaction's sequence). */
type ByReference<T extends { data: string }> = Omit<T, 'data' | 'account_ids'> & {
  data: string | null;
  account_ids: string[] | null;
  transaction_sequence: string | null;
};

const WEBHOOK_COLUMNS = 'network_id, id, url, events, account_id, description, api_key_id, created_at, deleted_at';
const DELIVERY_COLUMNS = `d.network_id, d.id, d.event_seq::text AS seq, d.webhook_id, e.id AS event_id, e.type AS event_type, d.status,
  d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.place`;
/** A delivery row (alias d) as the columns DELIVERY_COLUMNS reads. */
const ROW_DELIVERY = `d.network_id, d.id, d.event_seq, d.webhook_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
  d.delivered_at, NULL::bigint AS place`;
/**
 * A delivery kept in a batch (alias b) at a place (x: seq, code, 1-based place), as the same columns: delivered at its first
 * attempt; the batch's id and the place, from which toDeliveryRecord makes the delivery's (delivery-ids.ts).
 */
const BATCHED_DELIVERY = `b.network_id, b.id, x.seq AS event_seq, b.webhook_id, 'DELIVERED'::text AS status, 1 AS attempts, b.delivered_at AS next_attempt_at,
  x.code::integer AS last_status_code, NULL::text AS last_error, b.delivered_at, x.place`;

/** The SQL of webhooks, their deliveries, and the outbox's fan-out. */
@Injectable()
export class WebhookRepository {
  /** The currencies of the accounts of events written by reference (their payloads are built here). */
  private readonly units = new AccountUnits();

  constructor(
    private readonly db: Database,
    private readonly kept: PostedPayloads,
  ) {}

  async insert(w: {
    id: string;
    apiKeyId: string;
    url: string;
    events: readonly string[];
    accountId: string | null;
    description: string | null;
    sealedSecret: Buffer;
  }): Promise<WebhookRecord> {
    // The webhook lives in its creating key's network. Posting groups build outbox events only
    // while their network has a webhook, judged under its head lock (migrations/0014): the share
    // lock waits for the group holding the head, and created_at is read after it, so every
    // event of a group that did not see this webhook happened before it was created.
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ledger_head h JOIN api_keys k ON k.network_id = h.network_id WHERE k.id = $1 FOR SHARE OF h`, [
        w.apiKeyId,
      ]);
      const [row] = await tx.query<WebhookRow>(
        `INSERT INTO webhooks (network_id, id, url, events, account_id, description, api_key_id, secret_ciphertext, created_at)
         SELECT k.network_id, $1, $2, $3, $4, $5, k.id, $7, clock_timestamp() FROM api_keys k WHERE k.id = $6
         RETURNING ${WEBHOOK_COLUMNS}`,
        [w.id, w.url, w.events, w.accountId, w.description, w.apiKeyId, w.sealedSecret],
      );
      if (!row) throw new Error(`api key ${w.apiKeyId} is missing`);
      // The network's fan-out starts after its newest event (none of those is owed to this webhook):
      // under the share lock no group of the network is writing, so every later event has a larger seq.
      await tx.query(
        `INSERT INTO webhook_fan_out (network_id, through_seq)
         VALUES ($1, coalesce((SELECT max(seq) FROM ledger_events WHERE network_id = $1), 0)) ON CONFLICT DO NOTHING`,
        [row.network_id],
      );
      return toWebhookRecord(row);
    });
  }

  /** Live webhooks: all of the key's network (`apiKeyId` null) or those the key created. */
  async list(networkOfKeyId: string, apiKeyId: string | null): Promise<WebhookRecord[]> {
    const rows = await this.db.query<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks
        WHERE network_id = (SELECT network_id FROM api_keys WHERE id = $1) AND deleted_at IS NULL
          AND ($2::uuid IS NULL OR api_key_id = $2) ORDER BY created_at, id`,
      [networkOfKeyId, apiKeyId],
    );
    return rows.map(toWebhookRecord);
  }

  /** A live webhook of the key's network. */
  async find(networkOfKeyId: string, id: string): Promise<WebhookRecord | undefined> {
    const [row] = await this.db.query<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks
        WHERE network_id = (SELECT network_id FROM api_keys WHERE id = $1) AND id = $2 AND deleted_at IS NULL`,
      [networkOfKeyId, id],
    );
    return row ? toWebhookRecord(row) : undefined;
  }

  /** Marks it deleted and ends its pending deliveries, in one transaction. */
  async delete(networkId: string, id: string): Promise<WebhookRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<WebhookRow>(
        `UPDATE webhooks SET deleted_at = now() WHERE network_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${WEBHOOK_COLUMNS}`,
        [networkId, id],
      );
      if (row) {
        await tx.query(
          `UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'the webhook was deleted'
            WHERE network_id = $1 AND webhook_id = $2 AND status = 'PENDING'`,
          [networkId, id],
        );
      }
      return row ? toWebhookRecord(row) : undefined;
    });
  }

  /**
   * Newest event first, keyset on the event's seq (one delivery per webhook and event). Rows and
   * batches (migrations/0037) are each read through their index: at most `limit` of each, since a
   * webhook's batches never overlap and each lists at least one delivery.
   */
  async deliveries(networkId: string, webhookId: string, beforeSeq: string | null, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS}
         FROM ((SELECT ${ROW_DELIVERY} FROM webhook_deliveries d
                 WHERE d.network_id = $1 AND d.webhook_id = $2 AND ($3::bigint IS NULL OR d.event_seq < $3)
                 ORDER BY d.event_seq DESC LIMIT $4)
               UNION ALL
               SELECT ${BATCHED_DELIVERY}
                 FROM (SELECT * FROM webhook_delivered_batches
                        WHERE network_id = $1 AND webhook_id = $2 AND ($3::bigint IS NULL OR first_seq < $3)
                        ORDER BY last_seq DESC LIMIT $4) b
                CROSS JOIN LATERAL unnest(b.event_seqs, b.status_codes) WITH ORDINALITY AS x(seq, code, place)
                WHERE x.seq IS NOT NULL AND ($3::bigint IS NULL OR x.seq < $3)) d
         JOIN ledger_events e ON e.network_id = d.network_id AND e.seq = d.event_seq
        ORDER BY d.event_seq DESC LIMIT $4`,
      [networkId, webhookId, beforeSeq, limit],
    );
    return rows.map(toDeliveryRecord);
  }

  /** A delivery of the key's network by id: its row, or its place in the batch its id names. */
  async findDelivery(networkOfKeyId: string, id: string): Promise<DeliveryRecord | undefined> {
    const { batchId, place } = batchPlaceOf(id);
    const [row] = await this.db.query<DeliveryRow>(
      `WITH n AS (SELECT network_id FROM api_keys WHERE id = $1)
       SELECT ${DELIVERY_COLUMNS}
         FROM (SELECT ${ROW_DELIVERY} FROM webhook_deliveries d WHERE d.network_id = (SELECT network_id FROM n) AND d.id = $2
               UNION ALL
               SELECT ${BATCHED_DELIVERY}
                 FROM webhook_delivered_batches b
                CROSS JOIN LATERAL (SELECT b.event_seqs[$4] AS seq, b.status_codes[$4] AS code, $4::bigint AS place) x
                WHERE b.network_id = (SELECT network_id FROM n) AND b.id = $3 AND x.seq IS NOT NULL) d
         JOIN ledger_events e ON e.network_id = d.network_id AND e.seq = d.event_seq
        LIMIT 1`,
      [networkOfKeyId, id, batchId, place + 1],
    );
    return row ? toDeliveryRecord(row) : undefined;
  }

  /**
   * Sends it again soon, with a fresh retry window. A delivery kept in a batch moves out of it
   * first: its place becomes empty and it is written as a row with its id (a batch left with no
   * delivery is deleted). The batch's `kept_from` moves to now, so a retention sweep racing the
   * replay keeps the batch, and with it the event (WebhookRepository.sweep).
   */
  async replay(networkId: string, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const updated = await tx.query(
        `UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now(), first_attempt_at = NULL, delivered_at = NULL
          WHERE network_id = $1 AND id = $2 RETURNING id`,
        [networkId, id],
      );
      if (updated.length > 0) return;
      const { batchId, place } = batchPlaceOf(id);
      const moved = await tx.query(
        `WITH b AS (SELECT network_id, id, webhook_id, event_seqs[$3] AS seq, status_codes[$3] AS code FROM webhook_delivered_batches
                     WHERE network_id = $1 AND id = $2 AND event_seqs[$3] IS NOT NULL FOR UPDATE),
              emptied AS (UPDATE webhook_delivered_batches t SET event_seqs[$3] = NULL, kept_from = now()
                            FROM b WHERE t.network_id = b.network_id AND t.id = b.id)
         INSERT INTO webhook_deliveries (network_id, id, webhook_id, event_seq, status, attempts, first_attempt_at, next_attempt_at,
                                         last_status_code, delivered_at)
         SELECT b.network_id, $4, b.webhook_id, b.seq, 'PENDING', 1, NULL, now(), b.code, NULL FROM b
         RETURNING id`,
        [networkId, batchId, place + 1, id],
      );
      if (moved.length === 0) return;
      await tx.query(
        `DELETE FROM webhook_delivered_batches
          WHERE network_id = $1 AND id = $2 AND cardinality(array_remove(event_seqs, NULL)) = 0`,
        [networkId, batchId],
      );
    });
  }

  // --- fan-out: events of the outbox become deliveries ---

  /**
   * Takes, of every network whose fan-out cursor no other instance holds (SKIP LOCKED), the
   * next `limit` events after its cursor, oldest first. The cursor rows stay locked until the
   * caller's transaction, which writes the events' deliveries, moves them (`advanceFanOut`):
   * an event is fanned out exactly once or not at all. A network's events become visible in seq
   * order (they are written under its head lock, migrations/0023), so none is passed over.
   */
  async takePendingEvents(tx: Sql, limit: number): Promise<PendingEventRow[]> {
    const rows = await tx.query<ByReference<PendingEventRow>>(
      // Only cursors with an event after them are locked: an idle round writes nothing.
      `WITH c AS (SELECT network_id, through_seq FROM webhook_fan_out f
                   WHERE (f.leased_until IS NULL OR f.leased_until < now())
                     AND EXISTS (SELECT 1 FROM ledger_events e WHERE e.network_id = f.network_id AND e.seq > f.through_seq)
                     FOR UPDATE SKIP LOCKED)
       SELECT e.network_id, e.seq::text AS seq, e.id, e.type, e.occurred_at, e.account_ids::text[] AS account_ids, e.data::text AS data,
              e.transaction_sequence::text AS transaction_sequence
         FROM c CROSS JOIN LATERAL (
           SELECT * FROM ledger_events e WHERE e.network_id = c.network_id AND e.seq > c.through_seq ORDER BY e.seq LIMIT $1) e
        ORDER BY e.seq`,
      [limit],
    );
    return withPostedData(tx, this.units, rows, this.kept);
  }

  /** Moves each network's cursor to the last event of it the caller fanned out (a round that claimed nothing). */
  async advanceFanOut(tx: Sql, events: readonly PendingEventRow[]): Promise<void> {
    const last = new Map<string, string>();
    for (const e of events) last.set(e.network_id, e.seq);
    if (last.size === 0) return;
    await tx.query(
      `UPDATE webhook_fan_out f SET through_seq = v.seq FROM unnest($1::uuid[], $2::bigint[]) AS v(network_id, seq)
        WHERE f.network_id = v.network_id`,
      [[...last.keys()], [...last.values()]],
    );
  }

  /**
   * Leases the cursors of a round's networks to the caller until it writes the round's claimed
   * deliveries (`endRound`) or `leaseMs` passes: no other round takes their events meanwhile, and
   * an instance that dies mid-round leaves the events to be fanned out again when the lease ends.
   */
  async leaseFanOut(tx: Sql, networkIds: readonly string[], leaseId: string, leaseMs: number): Promise<void> {
    await tx.query(
      `UPDATE webhook_fan_out SET lease_id = $2, leased_until = now() + $3 * interval '1 millisecond' WHERE network_id = ANY($1::uuid[])`,
      [networkIds, leaseId, leaseMs],
    );
  }

  /**
   * Ends a leased round in one transaction: writes its claimed deliveries once, each with what
   * became of its attempt, and moves the cursors past the round's events, when the lease is still
   * the caller's and its cursor below them (otherwise another instance has taken the events again,
   * and its own deliveries stand: this round's are not written). The deliveries it delivered go
   * into one batch row per webhook (migrations/0037); the others (failed and due for a retry or
   * FAILED, still being sent and leased, or released unattempted) are rows of their own.
   */
  async endRound(
    leaseId: string,
    through: ReadonlyMap<string, string>,
    deliveries: readonly RoundDelivery[],
    retryWindowMs: number,
    leaseMs: number,
  ): Promise<{ delivered: number; failed: number }> {
    const rows = deliveries.filter((d) => d.state !== 'delivered');
    const batches = deliveredBatches(deliveries);
    return this.db.transaction(async (tx) => {
      const written =
        deliveries.length === 0
          ? []
          : await tx.query<{ batch: string | null; status: string | null }>(
              // Only into networks whose cursor is still leased to the caller and below the round's events
              // (locked until the cursor moves, below): nothing else writes deliveries of those events
              // meanwhile, and the retention sweep never deletes an event above a cursor. An event
              // another instance has fanned out again since gets that instance's deliveries.
              `WITH mine AS (SELECT network_id, through_seq FROM webhook_fan_out WHERE network_id = ANY($12::uuid[]) AND lease_id = $13
                               FOR UPDATE),
               own AS (
                 INSERT INTO webhook_deliveries (network_id, id, webhook_id, event_seq, status, attempts, first_attempt_at, next_attempt_at,
                                                 last_status_code, last_error, delivered_at)
                 SELECT n, i, w, s,
                        CASE WHEN r = 'failed' AND (fin OR delay_ms >= $10) THEN 'FAILED' ELSE 'PENDING' END,
                        CASE WHEN r = 'released' THEN 0 ELSE 1 END,
                        CASE WHEN r = 'released' THEN NULL ELSE now() END,
                        now() + CASE r WHEN 'failed' THEN delay_ms WHEN 'sending' THEN $11 ELSE 0 END * interval '1 millisecond',
                        code, err, NULL
                   FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::boolean[], $7::integer[], $8::text[],
                               $9::bigint[]) AS v(n, i, w, s, r, fin, code, err, delay_ms)
                   JOIN mine ON mine.network_id = v.n AND v.s > mine.through_seq
                 -- A delivery of the same event to the same webhook is the only conflict there can be (the ids are new): naming
                 -- its index lets the insert check that one alone (ON CONFLICT with no target checks every unique index of
                 -- every row: 16.5 µs a row against 11.5 in a loop of 270-row rounds).
                 ON CONFLICT (network_id, webhook_id, event_seq) DO NOTHING
                 RETURNING status),
               batched AS (
                 INSERT INTO webhook_delivered_batches (network_id, id, webhook_id, first_seq, last_seq, event_seqs, status_codes,
                                                        delivered_at, kept_from)
                 SELECT n, i, w, f, l, s::bigint[], c::smallint[], now(), now()
                   FROM unnest($14::uuid[], $15::uuid[], $16::uuid[], $17::bigint[], $18::bigint[], $19::text[], $20::text[])
                        AS v(n, i, w, f, l, s, c)
                   JOIN mine ON mine.network_id = v.n AND v.f > mine.through_seq
                 RETURNING id)
               SELECT NULL AS batch, status FROM own UNION ALL SELECT id::text, NULL FROM batched`,
              [
                arrayLiteral(rows, (r) => r.networkId),
                arrayLiteral(rows, (r) => r.id),
                arrayLiteral(rows, (r) => r.webhookId),
                arrayLiteral(rows, (r) => r.eventSeq),
                arrayLiteral(rows, (r) => r.state),
                arrayLiteral(rows, (r) => String(r.result?.final ?? false)),
                arrayLiteral(rows, (r) => numberOrNull(r.result?.statusCode ?? null)),
                arrayLiteral(rows, (r) => r.result?.error ?? null),
                arrayLiteral(rows, (r) => String(r.result?.retryDelayMs ?? 0)),
                retryWindowMs,
                leaseMs,
                [...through.keys()],
                leaseId,
                arrayLiteral(batches, (b) => b.networkId),
                arrayLiteral(batches, (b) => b.id),
                arrayLiteral(batches, (b) => b.webhookId),
                arrayLiteral(batches, (b) => b.firstSeq),
                arrayLiteral(batches, (b) => b.lastSeq),
                arrayLiteral(batches, (b) => b.seqs),
                arrayLiteral(batches, (b) => b.codes),
              ],
            );
      await tx.query(
        `UPDATE webhook_fan_out f SET through_seq = greatest(f.through_seq, v.seq), lease_id = NULL, leased_until = NULL
           FROM unnest($1::uuid[], $2::bigint[]) AS v(network_id, seq) WHERE f.network_id = v.network_id AND f.lease_id = $3`,
        [[...through.keys()], [...through.values()], leaseId],
      );
      const sizes = new Map(batches.map((b) => [b.id, b.size]));
      let delivered = 0;
      for (const w of written) if (w.batch !== null) delivered += sizes.get(w.batch) ?? 0;
      return { delivered, failed: written.filter((w) => w.status === 'FAILED').length };
    });
  }

  /** Every live webhook whose creating key is not revoked. */
  async listeners(tx: Sql): Promise<ListenerRow[]> {
    return tx.query<ListenerRow>(
      `SELECT w.network_id, w.id, w.events, w.account_id, w.created_at, k.id AS api_key_id, k.role, k.party_id, w.url, w.secret_ciphertext
         FROM webhooks w JOIN api_keys k ON k.network_id = w.network_id AND k.id = w.api_key_id
        WHERE w.deleted_at IS NULL AND k.revoked_at IS NULL`,
    );
  }

  /** Writes the deliveries of a fan-out that no instance claimed: due at once for any instance. */
  async insertDeliveries(tx: Sql, deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await tx.query(
      `INSERT INTO webhook_deliveries (network_id, id, webhook_id, event_seq)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[])
       ON CONFLICT (network_id, webhook_id, event_seq) DO NOTHING`,
      [
        arrayLiteral(deliveries, (d) => d.event.network_id),
        arrayLiteral(deliveries, (d) => d.id),
        arrayLiteral(deliveries, (d) => d.webhook.id),
        arrayLiteral(deliveries, (d) => d.event.seq),
      ],
    );
  }

  // --- dispatch ---

  /**
   * Claims due deliveries for this instance: at most `limit`, at most `caps` of the webhooks it
   * names (none of a webhook whose cap is 0) and `defaultCap` of any other. Claiming counts the
   * attempt and moves `next_attempt_at` past a lease, so a delivery whose instance dies is taken
   * again when the lease ends; SKIP LOCKED lets instances claim side by side without waiting.
   */
  async claim(limit: number, defaultCap: number, caps: ReadonlyMap<string, number>, leaseMs: number): Promise<ClaimedRow[]> {
    const full = [...caps].filter(([, n]) => n <= 0).map(([id]) => id);
    const rows = await this.db.query<ByReference<ClaimedRow> & { account_ids: null }>(
      `WITH due AS (
         SELECT network_id, id, webhook_id, next_attempt_at FROM webhook_deliveries
          WHERE status = 'PENDING' AND next_attempt_at <= now() AND webhook_id <> ALL($3::uuid[])
          ORDER BY next_attempt_at LIMIT $1 * 4 FOR UPDATE SKIP LOCKED),
       picked AS (
         SELECT r.network_id, r.id
           FROM (SELECT *, row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at) AS rank FROM due) r
           LEFT JOIN unnest($5::uuid[], $6::integer[]) AS cap(webhook_id, n) ON cap.webhook_id = r.webhook_id
          WHERE r.rank <= coalesce(cap.n, $2) ORDER BY r.next_attempt_at LIMIT $1),
       claimed AS (
         UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, next_attempt_at = now() + $4 * interval '1 millisecond',
                first_attempt_at = coalesce(d.first_attempt_at, now())
           FROM picked p WHERE d.network_id = p.network_id AND d.id = p.id
         RETURNING d.network_id, d.id, d.webhook_id, d.attempts, d.event_seq)
       SELECT c.network_id, c.id, c.webhook_id, c.attempts, w.url, w.secret_ciphertext,
              CASE WHEN w.deleted_at IS NOT NULL THEN 'the webhook was deleted'
                   WHEN k.revoked_at IS NOT NULL THEN 'the key that created the webhook was revoked' END AS stopped,
              e.id AS event_id, e.type AS event_type, e.occurred_at, e.data::text AS data, NULL AS account_ids,
              e.transaction_sequence::text AS transaction_sequence
         FROM claimed c
         JOIN webhooks w ON w.network_id = c.network_id AND w.id = c.webhook_id
         JOIN api_keys k ON k.network_id = w.network_id AND k.id = w.api_key_id
         JOIN ledger_events e ON e.network_id = c.network_id AND e.seq = c.event_seq`,
      [limit, defaultCap, full, leaseMs, [...caps.keys()], [...caps.values()]],
    );
    return withPostedData(this.db, this.units, rows);
  }

  /**
   * Records attempts in one statement. A failure is retried after its delay unless the retry
   * window since the first attempt would be over by then: then it is FAILED.
   */
  async record(results: readonly AttemptResult[], retryWindowMs: number): Promise<{ delivered: number; failed: number }> {
    if (results.length === 0) return { delivered: 0, failed: 0 };
    const rows = await this.db.query<{ status: string; released: boolean }>(
      `UPDATE webhook_deliveries d
          SET status = CASE WHEN v.released THEN 'PENDING'
                            WHEN v.delivered THEN 'DELIVERED'
                            WHEN v.final OR now() + v.delay_ms * interval '1 millisecond'
                                 >= d.first_attempt_at + $10 * interval '1 millisecond' THEN 'FAILED'
                            ELSE 'PENDING' END,
              attempts = CASE WHEN v.released THEN d.attempts - 1 ELSE d.attempts END,
              first_attempt_at = CASE WHEN v.released AND d.attempts = 1 THEN NULL ELSE d.first_attempt_at END,
              delivered_at = CASE WHEN v.delivered THEN now() END,
              next_attempt_at = CASE WHEN v.released THEN now() WHEN v.delivered THEN d.next_attempt_at
                                     ELSE now() + v.delay_ms * interval '1 millisecond' END,
              last_status_code = CASE WHEN v.released THEN d.last_status_code ELSE v.status_code END,
              last_error = CASE WHEN v.released THEN d.last_error ELSE v.error END
         FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::boolean[], $5::boolean[], $6::integer[], $7::text[], $8::bigint[],
                     $9::boolean[]) AS v(network_id, id, attempts, delivered, final, status_code, error, delay_ms, released)
        WHERE d.network_id = v.network_id AND d.id = v.id AND (v.delivered OR d.attempts = v.attempts)
          -- Arrays (unnest knows their length) rather than a JSON document (guessed at 100 rows): the
          -- planner then finds each row by its key, never by a scan of every delivery. The status test is
          -- written not to match the due index's predicate, so that index (and the entries delivered rows
          -- leave in it until vacuum) is never walked for this either.
          AND d.status || '' = 'PENDING'
        RETURNING d.status, v.released`,
      [
        arrayLiteral(results, (r) => r.networkId),
        arrayLiteral(results, (r) => r.id),
        arrayLiteral(results, (r) => String(r.attempts)),
        arrayLiteral(results, (r) => String(r.delivered)),
        arrayLiteral(results, (r) => String(r.final)),
        arrayLiteral(results, (r) => numberOrNull(r.statusCode)),
        arrayLiteral(results, (r) => r.error),
        arrayLiteral(results, (r) => String(r.retryDelayMs)),
        arrayLiteral(results, (r) => String(r.released === true)),
        retryWindowMs,
      ],
    );
    return {
      delivered: rows.filter((r) => r.status === 'DELIVERED').length,
      failed: rows.filter((r) => r.status === 'FAILED' && !r.released).length,
    };
  }

  // --- retention ---

  async networkIds(): Promise<string[]> {
    return (await this.db.query<{ id: string }>('SELECT id FROM networks ORDER BY id')).map((r) => r.id);
  }

  /**
   * One step of the retention sweep of a network, over its next `limit` events after `afterSeq`:
   * of those older than the retention and fanned out (at or below the network's fan-out cursor; up to the first that is not), deletes the
   * deliveries DELIVERED before the cutoff (rows, and batches wholly among those events), then the events no remaining
   * delivery names (below the first event of every batch that remains). Returns
   * the last seq it went through (null: none was old enough) and whether the window was full
   * (more may follow at once).
   */
  async sweep(
    networkId: string,
    afterSeq: string,
    limit: number,
    retentionMs: number,
  ): Promise<{ last: string | null; full: boolean; deliveries: number; events: number }> {
    const [row] = await this.db.query<{ last: string | null; seen: number; deliveries: number; events: number }>(
      `WITH cutoff AS (SELECT now() - $4 * interval '1 millisecond' AS at),
       -- Fanned out: at or below the network's cursor (a network without one owes its events to nobody).
       fanned AS (SELECT coalesce((SELECT through_seq FROM webhook_fan_out WHERE network_id = $1), 9223372036854775807) AS seq),
       win AS (SELECT seq, occurred_at FROM ledger_events WHERE network_id = $1 AND seq > $2 ORDER BY seq LIMIT $3),
       young AS (SELECT min(win.seq) AS seq FROM win, cutoff, fanned WHERE win.seq > fanned.seq OR win.occurred_at >= cutoff.at),
       aged AS (SELECT win.seq FROM win, young WHERE young.seq IS NULL OR win.seq < young.seq),
       -- Batches of deliveries (migrations/0037) delivered, and not replayed from, before the cutoff, whose events the
       -- sweep has passed. A replay racing this statement moves kept_from: its DELETE rechecks the row and keeps it.
       batches_gone AS (
         DELETE FROM webhook_delivered_batches b USING cutoff
          WHERE b.network_id = $1 AND b.kept_from < cutoff.at AND b.last_seq <= (SELECT max(seq) FROM aged)
         RETURNING b.id, cardinality(array_remove(b.event_seqs, NULL)) AS deliveries),
       -- No event is deleted at or above the first event of a batch that remains (batches name their events by seq).
       kept_floor AS (
         SELECT coalesce(min(b.first_seq), 9223372036854775807) AS seq FROM webhook_delivered_batches b
          WHERE b.network_id = $1 AND b.id <> ALL (ARRAY(SELECT id FROM batches_gone))),
       old AS (SELECT aged.seq FROM aged, kept_floor WHERE aged.seq < kept_floor.seq),
       gone AS (
         DELETE FROM webhook_deliveries d USING old, cutoff
          WHERE d.network_id = $1 AND d.event_seq = old.seq AND d.status = 'DELIVERED' AND d.delivered_at < cutoff.at
            -- Looked up through the (network, webhook, event) index, never by a scan of every delivery.
            AND d.event_seq = ANY (ARRAY(SELECT seq FROM old))
         RETURNING d.id),
       -- An event goes only when every delivery naming it went in "gone" (no foreign key keeps it,
       -- migrations/0033). "gone" holds the rows actually deleted: a delivery a replay made PENDING
       -- after this statement's snapshot is rechecked by its DELETE and kept, and so is its event.
       events_gone AS (
         DELETE FROM ledger_events e USING old
          WHERE e.network_id = $1 AND e.seq = old.seq
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.network_id = $1 AND d.event_seq = e.seq
                               AND d.id <> ALL (ARRAY(SELECT id FROM gone)))
         RETURNING 1)
       SELECT (SELECT max(seq)::text FROM old) AS last, (SELECT count(*) FROM win)::int AS seen,
              ((SELECT count(*) FROM gone) + (SELECT coalesce(sum(deliveries), 0) FROM batches_gone))::int AS deliveries,
              (SELECT count(*) FROM events_gone)::int AS events`,
      [networkId, afterSeq, limit, retentionMs],
    );
    if (!row) throw new Error('the retention sweep returned no row');
    return { last: row.last, full: row.seen === limit && row.last !== null, deliveries: row.deliveries, events: row.events };
  }

  async pendingCount(): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM webhook_deliveries WHERE status = 'PENDING'`);
    return Number(row?.n ?? 0);
  }
}

/** The deliveries of one webhook that a round delivered, as a row of webhook_delivered_batches. */
interface DeliveredBatch {
  readonly networkId: string;
  readonly id: string;
  readonly webhookId: string;
  readonly firstSeq: string;
  readonly lastSeq: string;
  /** Array literals: the event's seq and answer's status code at each place, NULL where the delivery is a row. */
  readonly seqs: string;
  readonly codes: string;
  readonly size: number;
}

/**
 * A round's delivered deliveries, by the batch their ids name (delivery-ids.ts). A round gives
 * places to a webhook's deliveries in the order of their events, so a batch's first and last
 * filled places hold its first and last event.
 */
function deliveredBatches(deliveries: readonly RoundDelivery[]): DeliveredBatch[] {
  const byBatch = new Map<string, { of: RoundDelivery; seqs: (string | null)[]; codes: (string | null)[]; size: number }>();
  for (const d of deliveries) {
    if (d.state !== 'delivered') continue;
    const { batchId, place } = batchPlaceOf(d.id);
    let batch = byBatch.get(batchId);
    if (!batch) byBatch.set(batchId, (batch = { of: d, seqs: [], codes: [], size: 0 }));
    while (batch.seqs.length <= place) {
      batch.seqs.push(null);
      batch.codes.push(null);
    }
    batch.seqs[place] = d.eventSeq;
    batch.codes[place] = numberOrNull(d.result?.statusCode ?? null);
    batch.size++;
  }
  return [...byBatch].map(([id, b]) => ({
    networkId: b.of.networkId,
    id,
    webhookId: b.of.webhookId,
    firstSeq: b.seqs.find((seq) => seq !== null) as string,
    lastSeq: b.seqs[b.seqs.length - 1] as string,
    seqs: arrayLiteral(b.seqs, (v) => v),
    codes: arrayLiteral(b.codes, (v) => v),
    size: b.size,
  }));
}
