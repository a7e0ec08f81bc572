-- One head per network (SPEC B.3): a posting group names its network, locks that network's head
-- row only, and reads and writes rows of that network only. Groups of different networks never
-- wait on each other's locks; each network has its own sequence from 1 and its own hash chain.
-- The functions are those of 0011_time_and_chain_integrity (the load as 0012_import left it) with p_network first and every
-- statement filtered by it or writing it.
-- Forward-only: never edit this file after it has landed.

DROP FUNCTION ledger_group_load(uuid[], text[], uuid[], uuid[], uuid[], boolean, integer);
DROP FUNCTION ledger_group_write_json(json, json, json, json, json, json, bigint, text, timestamptz, text, text[], json);
DROP FUNCTION ledger_events_write(json);

-- Every head row and every event names its network; `id` (always true) no longer means anything.
ALTER TABLE ledger_head ALTER COLUMN network_id DROP DEFAULT;
ALTER TABLE ledger_events ALTER COLUMN network_id DROP DEFAULT;

-- A network's head (sequence 0, the genesis hash) is made with the network, by the database
-- itself: no application code besides the posting module writes ledger_head.
CREATE FUNCTION ledger_head_for_network() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_head (network_id, id, sequence, hash, posted_at) VALUES (NEW.id, true, 0, repeat('0', 64), '1970-01-01T00:00:00Z');
  RETURN NEW;
END;
$$;
CREATE TRIGGER networks_head AFTER INSERT ON networks FOR EACH ROW EXECUTE FUNCTION ledger_head_for_network();

-- The events of 0009, written in the group's network.
CREATE FUNCTION ledger_events_write(p_network uuid, p_events json) RETURNS void LANGUAGE sql AS $$
  INSERT INTO ledger_events (network_id, id, type, occurred_at, account_ids, data)
  SELECT p_network, id, type, occurred_at, account_ids, data
    FROM json_to_recordset(p_events) AS e(id uuid, type text, occurred_at timestamptz, account_ids uuid[], data jsonb)
   WHERE EXISTS (SELECT 1 FROM webhooks WHERE deleted_at IS NULL);
$$;

CREATE FUNCTION ledger_group_load(
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

  WITH wanted AS (
         SELECT w.api_key_id, w.key, k.network_id, CASE WHEN k.party_id IS NULL THEN 'network' ELSE 'party:' || k.party_id END AS scope
           FROM unnest(p_key_api_ids, p_keys) AS w(api_key_id, key) JOIN api_keys k ON k.network_id = p_network AND k.id = w.api_key_id),
       found AS (
         SELECT i.api_key_id, i.key, i.scope, i.request_hash, i.result_type, i.result_id
           FROM wanted w JOIN idempotency_keys i ON i.network_id = w.network_id AND i.scope = w.scope AND i.key = w.key
         UNION
         SELECT i.api_key_id, i.key, i.scope, i.request_hash, i.result_type, i.result_id
           FROM wanted w JOIN idempotency_keys i
             ON i.network_id = w.network_id AND i.api_key_id = w.api_key_id AND i.key = w.key AND i.scope IS NULL)
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

CREATE FUNCTION ledger_group_write_json(
  p_network uuid, p_transactions json, p_postings json, p_accounts json, p_new_holds json, p_hold_changes json, p_idempotency json,
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[], p_events json
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bad uuid;
BEGIN
  -- Version 2 hashes metadata as the text jsonb stores; a text that would be stored differently
  -- would leave a hash that never verifies, so it is refused before anything is written.
  SELECT t.id INTO v_bad FROM json_to_recordset(p_transactions) AS t(id uuid, metadata text)
   WHERE t.metadata IS NOT NULL AND t.metadata::jsonb::text <> t.metadata LIMIT 1;
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'metadata of transaction % is not written as jsonb stores it', v_bad;
  END IF;

  INSERT INTO transactions (network_id, id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash,
                            reverses_id, hash_version)
  SELECT network_id, id, sequence, kind, memo, metadata::jsonb, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id,
         hash_version
    FROM json_to_recordset(p_transactions) AS t(network_id uuid, id uuid, sequence bigint, kind text, memo text, metadata text,
                                                external_ref text, api_key_id uuid, posted_at timestamptz, previous_hash text, hash text,
                                                reverses_id uuid, hash_version smallint);

  -- A posting lives in its transaction's network.
  INSERT INTO postings (network_id, transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
  SELECT t.network_id, p.t, p.i, p.a, p.m, p.b, p.s
    FROM json_to_recordset(p_postings) AS p(t uuid, i smallint, a uuid, m bigint, b bigint, s bigint)
    JOIN json_to_recordset(p_transactions) AS t(id uuid, network_id uuid) ON t.id = p.t;

  UPDATE accounts a
     SET posted_minor = v.posted, pending_debits_minor = v.pending_debits, pending_credits_minor = v.pending_credits
    FROM json_to_recordset(p_accounts) AS v(id uuid, posted bigint, pending_debits bigint, pending_credits bigint)
   WHERE a.network_id = p_network AND a.id = v.id;

  INSERT INTO holds (network_id, id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at)
  SELECT p_network, id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at
    FROM json_to_recordset(p_new_holds) AS h(id uuid, from_account_id uuid, to_account_id uuid, amount_minor bigint, status text,
                                             kind text, memo text, expires_at timestamptz, api_key_id uuid, created_at timestamptz);

  UPDATE holds h
     SET status = v.status, transaction_id = v.transaction_id, captured_minor = v.captured_minor, resolved_at = v.resolved_at
    FROM json_to_recordset(p_hold_changes) AS v(id uuid, status text, transaction_id uuid, captured_minor bigint, resolved_at timestamptz)
   WHERE h.network_id = p_network AND h.id = v.id;

  -- A record lives in the network of the key that wrote it (its scope is that network's).
  INSERT INTO idempotency_keys (network_id, api_key_id, key, request_hash, result_type, result_id, scope)
  SELECT k.network_id, i.api_key_id, i.key, i.request_hash, i.result_type, i.result_id, i.scope
    FROM json_to_recordset(p_idempotency) AS i(api_key_id uuid, key text, request_hash text, result_type text, result_id uuid, scope text)
    JOIN api_keys k ON k.network_id = p_network AND k.id = i.api_key_id;

  IF head_sequence IS NOT NULL THEN
    UPDATE ledger_head SET sequence = head_sequence, hash = head_hash, posted_at = head_posted_at WHERE network_id = p_network;
  END IF;

  PERFORM ledger_events_write(p_network, p_events);

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
