-- The posting group's load probes each idempotency key on its own, and the write skips the
-- statements a group has nothing for. Both run under the network's head lock, which every other
-- group of the network waits on.
--
-- 1. The load looked idempotency records up with a join of the group's keys (an unnest of the
--    array parameters, which the planner guesses at ten rows) against idempotency_keys. While the
--    table is small next to that guess (a ledger's first tens of thousands of records), the
--    planner made it a hash join over a sequential scan of every record of the network: on the
--    bench, 1 to 14 ms per group under auto_explain, growing with every transfer, where the index
--    probes take 0.2 ms. Now each key is probed on its own (LATERAL ... OFFSET 0, run once per
--    key with the key as the index condition): in its scope, then among the records written
--    before scopes (an index that is empty in a ledger started after 0011). The two probes never
--    find the same record (scope null or not), so UNION ALL replaces UNION's sort.
-- 2. The write ran its hold, hold-change and outbox-event statements for every group; most groups
--    (every plain transfer with no live webhook) have none. Each is now run only when its
--    document has rows: the same rows are written.
-- Otherwise the functions are those of 0013 (load) and 0019 (write). The reference triggers
-- (0016, 0022) are unchanged: checking accounts by one index probe each instead of the planner's
-- hash join over the network's accounts was measured slower on the bench's 65 accounts.
-- Forward-only: never edit this file after it has landed.

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
  -- The network's head first: every group of the network waits here, so the rest cannot
  -- deadlock; groups of other networks lock other heads and go on.
  SELECT * INTO v_head FROM ledger_head WHERE network_id = p_network FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'network % has no ledger head', p_network;
  END IF;
  -- Read only now, under the lock: no group that commits later can carry an earlier time.
  v_clock := clock_timestamp();

  -- Each key is probed on its own (LATERAL ... OFFSET 0 keeps the probe per key): in its scope,
  -- and among the records written before scopes. The two never find the same record.
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
    INTO v_scopes, v_keys;

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


CREATE OR REPLACE FUNCTION ledger_group_write(
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
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[], p_events json
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bad uuid;
BEGIN
  -- Version 2 hashes metadata as the text jsonb stores; a text that would be stored differently
  -- would leave a hash that never verifies, so it is refused before anything is written.
  SELECT m.id INTO v_bad FROM unnest(t_id, t_metadata) AS m(id, metadata)
   WHERE m.metadata IS NOT NULL AND m.metadata::jsonb::text <> m.metadata LIMIT 1;
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'metadata of transaction % is not written as jsonb stores it', v_bad;
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
  END IF;

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
