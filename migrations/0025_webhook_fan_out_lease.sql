-- A fan-out round may hold its networks' cursors leased while it sends the deliveries it claimed,
-- and write each of those deliveries once, with its answer, when the round ends (one row insert
-- instead of an insert and an update: docs/webhooks.md, "How it works"). The cursor moves only
-- then, in the same transaction: an instance that dies mid-round never wrote the round's claimed
-- deliveries, its lease ends, and any instance fans the events out again (at least once).
-- While `leased_until` is in the future no other round takes the network's events.
-- Forward-only: never edit this file after it has landed.

ALTER TABLE webhook_fan_out
  ADD COLUMN lease_id uuid,
  ADD COLUMN leased_until timestamptz;
