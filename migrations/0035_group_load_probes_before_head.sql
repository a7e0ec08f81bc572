-- The posting group's load probes its idempotency records before it waits for the network's
-- head, not under it.
--
-- Every group of a network holds the head from its load to its COMMIT, one group after the other,
-- so what runs under it sets how many groups a second the network can post. For a batch of 1,000
-- deposits the probe of its 1,000 keys was 2.2 ms of the load's 2.9 (pg_stat_statements, nested
-- statements tracked), in a hold of about 36 ms. Run before the head is locked, the probe overlaps
-- the write of the group ahead.
--
-- What this gives up, and why it is safe: a record committed by the group ahead after this probe
-- ran (the same key used by two requests at once, in two groups) is not seen. That group then
-- applies the key's request again; its write's insert of the record violates the key's unique
-- index (idempotency_keys_scope_key, or idempotency_keys_legacy_key), the whole group rolls back,
-- and the posting service runs it again (posting.service.ts), when the probe finds the record:
-- the request is replayed, or refused as a conflict, exactly as before. Nothing else moved: the
-- head is still locked before any hold, transaction or account is read or locked.
--
-- Otherwise the function is 0028's. CREATE OR REPLACE resets the function's settings, so 0030's
-- generic plans are set again.
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
  -- The idempotency records first, before the head: probed while the group ahead still holds it
  -- (migrations/0035). Each key is probed on its own (LATERAL ... OFFSET 0 keeps the probe per
  -- key): in its scope, and among the records written before scopes. The two never find the
  -- same record. A record committed after this probe and before the head is granted is not
  -- seen; its key's unique index then refuses this group's write, which the service runs again.
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
