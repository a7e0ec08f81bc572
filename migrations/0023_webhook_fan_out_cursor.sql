-- Fan-out keeps one cursor per network (the last event seq it has fanned out) instead of marking
-- every event fanned out. Marking cost a second version of every event row (its payload copied
-- and logged again, a new primary-key entry, a partial index entry written by the posting group
-- and removed by the mark, and vacuum after it): the most costly of the rows one webhook adds to
-- a transfer. A cursor is one row update per fan-out round.
--
-- Why a cursor loses no event: every event of a network is written inside a posting group that
-- holds the network's head row locked until it commits (ledger_group_write, and the exchange
-- writes and hold expiries of that group's afterPost / onExpired), so the seq values of a
-- network's events are drawn, and become visible, in commit order: once an event is visible,
-- no event with a smaller seq of that network can still commit. (test/webhooks/fan-out-cursor.test.ts)
--
-- A network's cursor row is made by createWebhook (under a share lock on the head, at the
-- network's newest event: earlier ones are owed to nobody) or here. An event at or below its
-- network's cursor has been fanned out; events of a network without a cursor row are owed to no
-- webhook (the retention sweep deletes them).
-- Forward-only: never edit this file after it has landed.

CREATE TABLE webhook_fan_out (
  network_id   uuid PRIMARY KEY REFERENCES networks (id),
  -- Every event of the network with seq <= this has its deliveries written.
  through_seq  bigint NOT NULL
);

-- From the first event not yet fanned out (events after it that were are fanned out again: their
-- deliveries already exist, and the unique (network, webhook, event) key keeps one).
INSERT INTO webhook_fan_out (network_id, through_seq)
SELECT n.id,
       coalesce((SELECT min(e.seq) - 1 FROM ledger_events e WHERE e.network_id = n.id AND NOT e.fanned_out),
                (SELECT max(e.seq) FROM ledger_events e WHERE e.network_id = n.id), 0)
  FROM networks n;

DROP INDEX ledger_events_to_fan_out;
ALTER TABLE ledger_events DROP COLUMN fanned_out;
