-- A delivery row is written for every event a webhook is owed (docs/webhooks.md, "Cost"), by the
-- dispatcher's fan-out round, on the two cores the posting group's backend shares. What each row
-- paid for and no query needs is dropped here:
--   webhook_deliveries (network_id, event_seq) -> ledger_events: the row-by-row check ran
--     `SELECT 1 FROM ONLY ledger_events ... FOR KEY SHARE` per delivery (7 µs), and its lock wrote
--     the event tuple's xmax: a WAL record and a dirtied page of the outbox per delivery, on top of
--     the row itself. 0018 kept it for the retention sweep; the sweep now keeps that promise by
--     itself (WebhookRepository.sweep: an event goes only when every delivery that names it was
--     deleted by the same statement, so a replay racing the sweep keeps its event), and the only
--     other writers of deliveries write them for events above their network's fan-out cursor,
--     which the sweep never touches (fan-out under the cursor's row lock; a leased round's
--     `endRound` only while the cursor is still below the round's events and leased to it).
--   webhook_deliveries.seq: an identity column (a sequence's nextval per row) that nothing has
--     read since 0018 dropped the index ordering by it; the deliveries of a webhook are listed by
--     event_seq.
--   webhook_deliveries.created_at: written (now()) and never read; next_attempt_at,
--     first_attempt_at and delivered_at say what the API and the dispatcher need.
-- Delivery ids are time-ordered UUIDs from now on (src/webhooks/webhook-fan-out.ts), so the
-- primary key's inserts go to its right edge rather than to a random page each.
-- Forward-only: never edit this file after it has landed.

ALTER TABLE webhook_deliveries
  DROP CONSTRAINT webhook_deliveries_network_id_event_seq_fkey,
  DROP COLUMN seq,
  DROP COLUMN created_at;
