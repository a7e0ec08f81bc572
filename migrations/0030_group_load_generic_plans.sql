-- The posting group's load keeps one plan per statement for each connection, instead of planning
-- its statements again on every call.
--
-- PL/pgSQL caches the plans of a function's statements per connection, but with parameters (all
-- of the load's are) PostgreSQL's plan cache keeps re-planning a statement with each call's values
-- ("custom plans") while it guesses those cheaper than one plan for all values. The load's nine
-- statements were re-planned on every group, under the network's head lock: in interleaved
-- bench:cpu runs (transfers, groups of 15), with plan_cache_mode = force_generic_plan for the
-- function, ledger_group_load took 1.13 and 1.31 ms per call against 1.76 and 1.90 without; for
-- deposit batches of 1,000, 15.3 and 14.4 ms against 21.3 and 15.9 (shared machine, load 9-13).
--
-- One plan for all values is safe here because every statement of the load reaches its rows by
-- key or through a small partial index, whatever the values: the head by its network; idempotency
-- records by one probe per key (0028); reversed transactions and their postings, holds and
-- accounts by their primary keys; expired holds through holds_pending_expiry, which holds pending
-- holds only (checked with auto_explain on a database of 300,000 resolved and 20 pending holds:
-- the generic plan of the group's and of the sweeper's call both read that index). The setting
-- holds for the load's call only. The write keeps custom plans: its reference triggers run inside
-- it, and a generic plan of a statement over a transition table (no statistics) was measured at
-- 5 ms per call where the custom plan takes 0.7.
-- Forward-only: never edit this file after it has landed.

ALTER FUNCTION ledger_group_load(uuid, uuid[], text[], uuid[], uuid[], uuid[], boolean, integer)
  SET plan_cache_mode = force_generic_plan;
