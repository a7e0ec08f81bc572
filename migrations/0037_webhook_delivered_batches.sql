-- Deliveries answered within their fan-out round are written together, one row per webhook and
-- round, instead of one row each.
--
-- A fan-out round (docs/webhooks.md, "How it works") claims its deliveries, sends them, and when
-- the answers are in writes each once with what became of it. Most are DELIVERED at their first
-- attempt and never change again: the row, its primary key and its (network, webhook, event)
-- index entry were a third of what one webhook added to PostgreSQL's work per transfer (the
-- round's insert: 6-8 µs of statement time per delivery, bench:cpu with pg_stat_statements).
--
-- Now the deliveries of one webhook that a round delivered are one row here: the events' seqs, in
-- the order the round claimed them, and each answer's status code. Their ids are the row's id
-- with its last 16 bits replaced by the delivery's place in `event_seqs` (0-based;
-- src/webhooks/delivery-ids.ts), so a delivery is found by its id with one primary-key lookup.
-- A place whose delivery was not delivered within the round (failed, still under way, released)
-- holds NULL: that delivery is a webhook_deliveries row, as before, with the same id.
--
-- replayWebhookDelivery of a delivery kept here moves it out: its place becomes NULL and it is
-- written as a webhook_deliveries row with its id (a batch with no delivery left is deleted),
-- so a delivery is always in exactly one of the two tables, and every batch lists at least one.
--
-- The retention sweep deletes a batch when `kept_from` (its deliveries' time, or its last replay)
-- is older than the retention and the sweep has passed its last event; it never deletes an event
-- at or above the first event of a batch that remains (WebhookRepository.sweep).
--
-- webhook_deliveries_listed shows every delivery, wherever it is written, as a row of
-- webhook_deliveries would show it (for operators and tests; the service's queries read the two
-- tables by their indexes).
--
-- Forward-only: never edit this file after it has landed.

CREATE TABLE webhook_delivered_batches (
  network_id   uuid NOT NULL,
  id           uuid NOT NULL,
  webhook_id   uuid NOT NULL,
  -- The first and last non-NULL element of event_seqs when written (they only ever become NULL).
  first_seq    bigint NOT NULL,
  last_seq     bigint NOT NULL,
  event_seqs   bigint[] NOT NULL,
  status_codes smallint[] NOT NULL,
  delivered_at timestamptz NOT NULL,
  kept_from    timestamptz NOT NULL,
  PRIMARY KEY (network_id, id),
  CHECK (cardinality(event_seqs) = cardinality(status_codes) AND cardinality(event_seqs) BETWEEN 1 AND 65536)
);
-- webhookDeliveries: a webhook's batches newest first (a webhook's batches never overlap: a
-- network's rounds take its events one after the other).
CREATE INDEX webhook_delivered_batches_by_webhook ON webhook_delivered_batches (network_id, webhook_id, last_seq);
-- The retention sweep: the first event of the batches that remain.
CREATE INDEX webhook_delivered_batches_by_first_seq ON webhook_delivered_batches (network_id, first_seq);

CREATE VIEW webhook_deliveries_listed AS
  SELECT network_id, id, webhook_id, event_seq, status, attempts, next_attempt_at, last_status_code, last_error,
         first_attempt_at, delivered_at
    FROM webhook_deliveries
  UNION ALL
  SELECT b.network_id,
         overlay(b.id::text PLACING lpad(to_hex(x.place::int - 1), 4, '0') FROM 33 FOR 4)::uuid,
         b.webhook_id, x.seq, 'DELIVERED', 1, b.delivered_at, x.code::integer, NULL, b.delivered_at, b.delivered_at
    FROM webhook_delivered_batches b
   CROSS JOIN LATERAL unnest(b.event_seqs, b.status_codes) WITH ORDINALITY AS x(seq, code, place)
   WHERE x.seq IS NOT NULL;
