-- A deposit batch writes a thousand transactions, two thousand postings and a thousand
-- idempotency records under the network's head lock (docs/performance.md, "Where a deposit batch
-- goes"). Two costs per row go here, with every rule kept:
--
-- 1. An idempotency record was indexed twice: by (network_id, api_key_id, key), the primary key,
--    and by (network_id, scope, key), the unique index idempotency is looked up by since 0011.
--    Every record written since 0011 has a scope, the party of the key that wrote it (or the
--    network), and a key's party and network never change: so among scoped records the scope's
--    uniqueness already makes (api_key_id, key) unique. The first index is kept only for the
--    records written before scopes (scope IS NULL), which the posting group still finds by their
--    API key: a partial unique index over those alone. A new record is one index insertion, and
--    the group's look-up of legacy records probes an index that is empty in a ledger started
--    after 0011. (The posting group looks a key up in its scope, then among legacy records, under
--    the head lock, and writes a scoped record only when neither exists.)
-- 2. transactions (network_id, reverses_id) -> transactions was the last foreign key checked row
--    by row: a queued trigger event for every transaction, null or not. It is checked with the
--    others, once per statement (0016's ledger_transactions_refer), with the same SQLSTATE
--    (23503); a transaction is never deleted nor changed (append-only), so the referenced side
--    needs no guard.
-- Forward-only: never edit this file after it has landed.

ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
CREATE UNIQUE INDEX idempotency_keys_legacy_key ON idempotency_keys (network_id, api_key_id, key) WHERE scope IS NULL;

ALTER TABLE transactions DROP CONSTRAINT transactions_network_id_reverses_id_fkey;

CREATE OR REPLACE FUNCTION ledger_transactions_refer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_network uuid;
  v_id      uuid;
BEGIN
  WITH wanted AS (SELECT DISTINCT network_id FROM new_transactions),
       locked AS (SELECT n.id FROM networks n WHERE n.id IN (SELECT network_id FROM wanted) FOR KEY SHARE OF n)
  SELECT w.network_id INTO v_network FROM wanted w WHERE w.network_id NOT IN (SELECT id FROM locked) LIMIT 1;
  IF v_network IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a transaction names network %s, which does not exist', v_network);
  END IF;
  WITH wanted AS (SELECT DISTINCT network_id, api_key_id FROM new_transactions WHERE api_key_id IS NOT NULL),
       locked AS (SELECT k.network_id, k.id FROM api_keys k
                   WHERE (k.network_id, k.id) IN (SELECT network_id, api_key_id FROM wanted) FOR KEY SHARE OF k)
  SELECT w.network_id, w.api_key_id INTO v_network, v_id
    FROM wanted w LEFT JOIN locked l ON l.network_id = w.network_id AND l.id = w.api_key_id
   WHERE l.id IS NULL LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a transaction names API key %s, which network %s does not have', v_id, v_network);
  END IF;
  -- A reversal names a transaction of its own network (rows of this statement included).
  SELECT w.network_id, w.reverses_id INTO v_network, v_id
    FROM new_transactions w
   WHERE w.reverses_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.network_id = w.network_id AND t.id = w.reverses_id) LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a transaction reverses transaction %s, which network %s does not have', v_id, v_network);
  END IF;
  RETURN NULL;
END;
$$;
