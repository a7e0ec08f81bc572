-- A batch applied while the group ahead of it is still writing.
--
-- A network's groups take its head one after the other, and each held it from its load to its
-- COMMIT: the load, the service applying the commands, the write and the COMMIT. For a batch of
-- 1,000 deposits the service's part alone (applying 1,000 deposits and chaining their hashes,
-- then building the write's columns) is 5-6 ms of that hold, and PostgreSQL's parse of the write's
-- ~760 kB of parameters another 3-4 ms, while the next batch can only wait.
--
-- Now a batch that arrives while the group ahead of it (of the same instance) is writing is
-- applied to the state that group is about to commit: its head, and the balances of the accounts
-- it writes, which the service knows because it decided them. The batch reads what it needs
-- without waiting (ledger_group_load_ahead: its idempotency records, the clock, and its other
-- accounts as they are, each with its row version, xmin), is applied, and sends its write, which
-- waits for the head first thing and checks, before it writes anything, that what it was applied
-- to is what it finds (ledger_group_write's last four parameters):
--
--   - the head is the one the group ahead was to leave (sequence and hash): the group ahead
--     committed, and no other group came between;
--   - every account it read is unchanged since: written by the group ahead (its xmin is that
--     group's transaction) or not written at all since it was read (the xmin it read). The
--     accounts are locked by that check, in id order, as every load locks them.
--
-- Anything else raises SQLSTATE SL001 and the whole group rolls back; the service then runs it
-- again the ordinary way (posting.service.ts). A group applied ahead never changes holds and
-- releases none: if a pending hold of its accounts is past its expiry, its load says so (NULL)
-- and the group runs the ordinary way. Every command is decided against exactly the state it
-- commits on top of, so the outcome is the one the ordinary way would have had.
--
-- The write takes the head before its first insert, as the ordinary load does: a group applied
-- ahead holds no lock before the head, and the locks come in the one order (head, then accounts
-- in id order), so it cannot deadlock with a group of another instance. (Inserting first, while
-- the group ahead still held the head, measured a little faster, but a group of another instance
-- that took the head in between then waited on the batch's uncommitted sequence numbers while the
-- batch waited for the head: a deadlock, found after deadlock_timeout.)
--
-- The probe of idempotency records moves into a function of its own, ledger_group_probe, which
-- both loads call; ledger_group_load is otherwise 0035's. ledger_group_write gains the four
-- parameters (NULL for a group that holds the head from its load: nothing is checked) and is
-- otherwise 0034's. The signatures of 0028 and 0034 stay for a service of the previous version
-- during a rolling upgrade.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_group_probe(
  p_network     uuid,
  p_key_api_ids uuid[],
  p_keys        text[],
  OUT scopes    json,
  OUT keys      json
) LANGUAGE plpgsql AS $$
BEGIN
  -- Each key is probed on its own (LATERAL ... OFFSET 0 keeps the probe per key): in its scope,
  -- and among the records written before scopes. The two never find the same record. Nothing is
  -- locked: a record committed after this probe is refused by its key's unique index at the
  -- group's write, and the service runs the group again (migrations/0035).
  WITH wanted AS (
         SELECT w.api_key_id, w.key, k.network_id, CASE WHEN k.party_id IS NULL THEN 'network' ELSE 'party:' || k.party_id END AS scope
           FROM unnest(p_key_api_ids, p_keys) AS w(api_key_id, key) JOIN api_keys k ON k.network_id = p_network AND k.id = w.api_key_id),
       found AS (
         SELECT f.api_key_id, f.key, f.scope, f.request_hash, f.result_type, f.result_id
           FROM wanted w,
                LATERAL (SELECT i.api_key_id, i.key, i.scope, i.request_hash, i.result_type, i.result_id
                           FROM idempotency_keys i
                          WHERE i.network_id = w.network_id AND i.scope = w.scope AND i.key = w.key
                         UNION ALL
                         SELECT i.api_key_id, i.key, i.scope, i.request_hash, i.result_type, i.result_id
                           FROM idempotency_keys i
                          WHERE i.network_id = w.network_id AND i.api_key_id = w.api_key_id AND i.key = w.key AND i.scope IS NULL
                         OFFSET 0) f)
  SELECT (SELECT coalesce(json_object_agg(s.api_key_id, s.scope), '{}') FROM (SELECT DISTINCT api_key_id, scope FROM wanted) s),
         (SELECT coalesce(json_agg(json_build_object('apiKeyId', f.api_key_id, 'key', f.key, 'scope', f.scope,
                                                     'requestHash', f.request_hash, 'resultType', f.result_type,
                                                     'resultId', f.result_id)), '[]') FROM found f)
    INTO scopes, keys;
END;
$$;

ALTER FUNCTION ledger_group_probe(uuid, uuid[], text[]) SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE FUNCTION ledger_group_load(
  p_network       uuid,
  p_key_api_ids   uuid[],
  p_keys          text[],
  p_account_ids   uuid[],
  p_hold_ids      uuid[],
  p_reverse_ids   uuid[],
  p_sweep_all     boolean,
  p_expired_limit integer
) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  v_head      ledger_head%ROWTYPE;
  v_clock     timestamptz;
  v_accounts  uuid[];
  v_scopes    json;
  v_keys      json;
  v_reverse   json;
  v_holds     json;
  v_expired   json;
  v_rows      json;
BEGIN
  -- The idempotency records first, before the head: probed while the group ahead still holds it.
  SELECT p.scopes, p.keys INTO v_scopes, v_keys FROM ledger_group_probe(p_network, p_key_api_ids, p_keys) p;

  -- Then the network's head: every group of the network waits here, so the rest cannot
  -- deadlock; groups of other networks lock other heads and go on. (The probe above locks
  -- nothing.)
  SELECT * INTO v_head FROM ledger_head WHERE network_id = p_network FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'network % has no ledger head', p_network;
  END IF;
  -- Read only now, under the lock: no group that commits later can carry an earlier time.
  v_clock := clock_timestamp();

  SELECT coalesce(json_agg(json_build_object(
           'id', t.id, 'kind', t.kind,
           'reversedById', (SELECT r.id FROM transactions r WHERE r.network_id = p_network AND r.reverses_id = t.id),
           'postings', (SELECT json_agg(json_build_array(p.account_id, p.amount_minor::text) ORDER BY p.idx)
                          FROM postings p WHERE p.network_id = p_network AND p.transaction_id = t.id))), '[]')
    INTO v_reverse
    FROM transactions t WHERE t.network_id = p_network AND t.id = ANY(p_reverse_ids);
  v_accounts := p_account_ids || ARRAY(SELECT p.account_id FROM postings p
                                        WHERE p.network_id = p_network AND p.transaction_id = ANY(p_reverse_ids));

  SELECT coalesce(json_agg(x), '[]'), v_accounts || coalesce(array_agg(x.from_account_id), '{}') || coalesce(array_agg(x.to_account_id), '{}')
    INTO v_holds, v_accounts
    FROM (SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor::text AS amount_minor, h.status, h.kind, h.memo,
                 h.expires_at, h.api_key_id, h.transaction_id, h.captured_minor::text AS captured_minor, h.created_at, h.resolved_at
            FROM holds h WHERE h.network_id = p_network AND h.id = ANY(p_hold_ids) ORDER BY h.id FOR UPDATE) x;

  -- Every expired hold on the group's accounts (their available balances depend on it); the
  -- sweeper alone pages (p_expired_limit), a NULL limit is none.
  SELECT coalesce(json_agg(x), '[]'), v_accounts || coalesce(array_agg(x.from_account_id), '{}') || coalesce(array_agg(x.to_account_id), '{}')
    INTO v_expired, v_accounts
    FROM (SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor::text AS amount_minor, h.status, h.kind, h.memo,
                 h.expires_at, h.api_key_id, h.transaction_id, h.captured_minor::text AS captured_minor, h.created_at, h.resolved_at
            FROM holds h
           WHERE h.network_id = p_network AND h.status = 'PENDING' AND h.expires_at <= v_clock AND NOT h.id = ANY(p_hold_ids)
             AND (p_sweep_all OR h.from_account_id = ANY(v_accounts) OR h.to_account_id = ANY(v_accounts))
           ORDER BY h.id LIMIT p_expired_limit FOR UPDATE) x;

  -- Accounts last, in id order: the one order every writer uses. An account of another
  -- network is not loaded, so the group reports it as not found.
  SELECT coalesce(json_agg(x), '[]') INTO v_rows
    FROM (SELECT a.id, a.party_id, a.currency_code, c.scale, a.status, a.credit_limit_minor::text AS credit_limit_minor, a.unlimited,
                 a.posted_minor::text AS posted_minor, a.pending_debits_minor::text AS pending_debits_minor,
                 a.pending_credits_minor::text AS pending_credits_minor,
                 a.max_balance_minor::text AS max_balance_minor
            FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
           WHERE a.network_id = p_network AND a.id = ANY(v_accounts) ORDER BY a.id FOR UPDATE OF a) x;

  RETURN json_build_object('network', v_head.network_id, 'sequence', v_head.sequence::text, 'hash', v_head.hash,
                           'clock', v_clock, 'headPostedAt', v_head.posted_at, 'historyOpen', v_head.history_open, 'xid', pg_current_xact_id()::text,
                           'scopes', v_scopes, 'keys', v_keys, 'reversible', v_reverse, 'holds', v_holds, 'expired', v_expired,
                           'accounts', v_rows);
END;
$$;

ALTER FUNCTION ledger_group_load(uuid, uuid[], text[], uuid[], uuid[], uuid[], boolean, integer)
  SET plan_cache_mode = force_generic_plan;

-- The load of a group applied ahead: its idempotency records, the clock, and its accounts as
-- they are now with each row's version (xmin), locking nothing and not waiting for the head.
-- NULL when a pending hold of its accounts is past its expiry (only a group holding the head
-- releases holds). The head and the balances of the accounts the group ahead writes come from
-- the service; the write checks all of it (ledger_group_write).
CREATE FUNCTION ledger_group_load_ahead(
  p_network     uuid,
  p_key_api_ids uuid[],
  p_keys        text[],
  p_account_ids uuid[]
) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  v_clock  timestamptz;
  v_scopes json;
  v_keys   json;
  v_rows   json;
BEGIN
  SELECT p.scopes, p.keys INTO v_scopes, v_keys FROM ledger_group_probe(p_network, p_key_api_ids, p_keys) p;
  v_clock := clock_timestamp();
  IF EXISTS (SELECT 1 FROM holds h
              WHERE h.network_id = p_network AND h.status = 'PENDING' AND h.expires_at <= v_clock
                AND (h.from_account_id = ANY(p_account_ids) OR h.to_account_id = ANY(p_account_ids))) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(json_agg(x), '[]') INTO v_rows
    FROM (SELECT a.id, a.party_id, a.currency_code, c.scale, a.status, a.credit_limit_minor::text AS credit_limit_minor, a.unlimited,
                 a.posted_minor::text AS posted_minor, a.pending_debits_minor::text AS pending_debits_minor,
                 a.pending_credits_minor::text AS pending_credits_minor,
                 a.max_balance_minor::text AS max_balance_minor, a.xmin::text AS xmin
            FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
           WHERE a.network_id = p_network AND a.id = ANY(p_account_ids)) x;
  RETURN json_build_object('clock', v_clock, 'xid', pg_current_xact_id()::text, 'scopes', v_scopes, 'keys', v_keys, 'accounts', v_rows);
END;
$$;

ALTER FUNCTION ledger_group_load_ahead(uuid, uuid[], text[], uuid[]) SET plan_cache_mode = force_generic_plan;

CREATE FUNCTION ledger_group_write(
  p_network uuid,
  -- transactions, one element per transaction
  t_id uuid[], t_sequence bigint[], t_kind text[], t_memo text[], t_metadata text[], t_external_ref text[], t_api_key_id uuid[],
  t_posted_at timestamptz[], t_previous_hash text[], t_hash text[], t_reverses_id uuid[], t_hash_version smallint[],
  -- postings, one element per posting
  p_transaction_id uuid[], p_idx smallint[], p_account_id uuid[], p_amount_minor bigint[], p_balance_after_minor bigint[], p_sequence bigint[],
  -- the new balances of every account the group touched
  a_id uuid[], a_posted_minor bigint[], a_pending_debits_minor bigint[], a_pending_credits_minor bigint[],
  p_new_holds json, p_hold_changes json,
  -- idempotency records, one element per record
  i_api_key_id uuid[], i_key text[], i_request_hash text[], i_result_type text[], i_result_id uuid[], i_scope text[],
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[], p_events json,
  -- a TRANSACTION_POSTED event by reference for every transaction (p_events is then empty)
  t_events boolean,
  -- a group applied ahead: the head it was applied to, and every account it read with the version it counted on
  expect_sequence bigint, expect_hash text, r_account_id uuid[], r_xmin xid[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bad      uuid;
  v_found    integer;
  v_sequence bigint;
  v_hash     text;
BEGIN
  -- Version 2 hashes metadata as the text jsonb stores; a text that would be stored differently
  -- would leave a hash that never verifies, so it is refused before anything is written.
  SELECT m.id INTO v_bad FROM unnest(t_id, t_metadata) AS m(id, metadata)
   WHERE m.metadata IS NOT NULL AND m.metadata::jsonb::text <> m.metadata LIMIT 1;
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'metadata of transaction % is not written as jsonb stores it', v_bad;
  END IF;
  IF t_events AND json_array_length(p_events) > 0 THEN
    RAISE EXCEPTION 'a group writes its events by reference or as documents, not both';
  END IF;

  IF expect_sequence IS NOT NULL THEN
    -- Applied ahead: the head it was applied to, then every account it read, unchanged since.
    -- Rows are locked first and compared after: a locked row is returned as it is once the lock
    -- is granted (the group ahead committed), while a condition in the locking statement would be
    -- tested on the row as it was when the statement began, and pass it over without waiting.
    SELECT h.sequence, h.hash INTO v_sequence, v_hash FROM ledger_head h WHERE h.network_id = p_network FOR UPDATE;
    IF v_sequence IS DISTINCT FROM expect_sequence OR v_hash IS DISTINCT FROM expect_hash THEN
      RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'the head is not the one this group was applied to';
    END IF;
    SELECT count(*) INTO v_found
      FROM (SELECT a.xmin AS xmin, r.xmin AS expected
              FROM accounts a JOIN unnest(r_account_id, r_xmin) AS r(id, xmin) ON a.network_id = p_network AND a.id = r.id
             ORDER BY a.id FOR UPDATE OF a) x
     WHERE x.xmin = x.expected;
    IF v_found <> cardinality(r_account_id) THEN
      RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'an account changed after this group was applied to it';
    END IF;
  END IF;

  INSERT INTO transactions (network_id, id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash,
                            reverses_id, hash_version)
  SELECT p_network, t.id, t.sequence, t.kind, t.memo, t.metadata::jsonb, t.external_ref, t.api_key_id, t.posted_at, t.previous_hash,
         t.hash, t.reverses_id, t.hash_version
    FROM unnest(t_id, t_sequence, t_kind, t_memo, t_metadata, t_external_ref, t_api_key_id, t_posted_at, t_previous_hash, t_hash,
                t_reverses_id, t_hash_version)
         AS t(id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id, hash_version);

  INSERT INTO postings (network_id, transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
  SELECT p_network, p.transaction_id, p.idx, p.account_id, p.amount_minor, p.balance_after_minor, p.sequence
    FROM unnest(p_transaction_id, p_idx, p_account_id, p_amount_minor, p_balance_after_minor, p_sequence)
         AS p(transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence);

  UPDATE accounts a
     SET posted_minor = v.posted, pending_debits_minor = v.pending_debits, pending_credits_minor = v.pending_credits
    FROM unnest(a_id, a_posted_minor, a_pending_debits_minor, a_pending_credits_minor) AS v(id, posted, pending_debits, pending_credits)
   WHERE a.network_id = p_network AND a.id = v.id;

  -- Most groups create and change no hold and write no event (no live webhook): the statements
  -- for them are not run at all (each costs an executor start-up and, for the events, a call).
  IF json_array_length(p_new_holds) > 0 THEN
    INSERT INTO holds (network_id, id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at)
    SELECT p_network, id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at
      FROM json_to_recordset(p_new_holds) AS h(id uuid, from_account_id uuid, to_account_id uuid, amount_minor bigint, status text,
                                               kind text, memo text, expires_at timestamptz, api_key_id uuid, created_at timestamptz);
  END IF;

  IF json_array_length(p_hold_changes) > 0 THEN
    UPDATE holds h
       SET status = v.status, transaction_id = v.transaction_id, captured_minor = v.captured_minor, resolved_at = v.resolved_at
      FROM json_to_recordset(p_hold_changes) AS v(id uuid, status text, transaction_id uuid, captured_minor bigint, resolved_at timestamptz)
     WHERE h.network_id = p_network AND h.id = v.id;
  END IF;

  -- A record lives in the network of the key that wrote it (its scope is that network's).
  INSERT INTO idempotency_keys (network_id, api_key_id, key, request_hash, result_type, result_id, scope)
  SELECT k.network_id, i.api_key_id, i.key, i.request_hash, i.result_type, i.result_id, i.scope
    FROM unnest(i_api_key_id, i_key, i_request_hash, i_result_type, i_result_id, i_scope)
         AS i(api_key_id, key, request_hash, result_type, result_id, scope)
    JOIN api_keys k ON k.network_id = p_network AND k.id = i.api_key_id;

  IF head_sequence IS NOT NULL THEN
    UPDATE ledger_head SET sequence = head_sequence, hash = head_hash, posted_at = head_posted_at WHERE network_id = p_network;
  END IF;

  IF json_array_length(p_events) > 0 THEN
    PERFORM ledger_events_write(p_network, p_events);
  ELSIF t_events THEN
    -- The event's id is its transaction's; the rule of ledger_events_write (only while some webhook exists) holds here too.
    INSERT INTO ledger_events (network_id, id, type, occurred_at, transaction_sequence)
    SELECT p_network, t.id, 'TRANSACTION_POSTED', t.posted_at, t.sequence
      FROM unnest(t_id, t_sequence, t_posted_at) AS t(id, sequence, posted_at)
     WHERE EXISTS (SELECT 1 FROM webhooks WHERE deleted_at IS NULL)
     ORDER BY t.sequence;
  END IF;

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
