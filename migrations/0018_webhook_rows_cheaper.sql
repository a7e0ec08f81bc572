-- Every event a webhook is owed costs rows: its outbox event (written by the posting group, under
-- the network's head lock), the event marked fanned out, its delivery inserted and updated once
-- answered (docs/webhooks.md, "Cost"). Each index and each row-by-row foreign key on these rows is
-- paid per event, most of it by the posting path's share of the machine. Dropped here:
--   webhook_deliveries_by_webhook: webhookDeliveries lists a webhook's deliveries newest event
--     first, keyset on event_seq, through the unique index (network_id, webhook_id, event_seq)
--     that every delivery already has; a second index in another order was written for nothing.
--   webhook_deliveries (network_id) -> networks: a network is never deleted (the foreign key of its
--     head row keeps it), and a delivery lives in its event's network.
--   webhook_deliveries (network_id, webhook_id) -> webhooks: a webhook is never deleted (deleteWebhook
--     sets deleted_at), and only the dispatcher's fan-out inserts deliveries, for live webhooks it has
--     just read.
--   ledger_events (network_id, id) unique: event ids are random UUIDs (randomUUID, src/ledger/events/ledger-events.ts) and are
--     never looked up; the key of an event is (network_id, seq).
--   ledger_events (network_id) -> networks: the posting group writes its events in the network whose
--     head it holds locked; a network is never deleted.
-- Kept: webhook_deliveries (network_id, event_seq) -> ledger_events, which the retention sweep relies
-- on (an event is never deleted while a delivery names it).
-- Forward-only: never edit this file after it has landed.

DROP INDEX webhook_deliveries_by_webhook;
ALTER TABLE webhook_deliveries
  DROP CONSTRAINT webhook_deliveries_network_id_fkey,
  DROP CONSTRAINT webhook_deliveries_network_id_webhook_id_fkey;
ALTER TABLE ledger_events
  DROP CONSTRAINT ledger_events_network_id_id_key,
  DROP CONSTRAINT ledger_events_network_id_fkey;
