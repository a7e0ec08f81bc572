-- A posting group in four round trips: BEGIN, ledger_group_load, ledger_group_write, COMMIT.
-- The rules stay in the application (src/ledger/posting); these functions only read and lock
-- what a group needs, and write what it decided, each in one call. Bigints travel as text so
-- that no balance is ever squeezed through a floating-point JSON number.

CREATE FUNCTION ledger_group_load(
  p_now           timestamptz,
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
  v_now       timestamptz;
  v_accounts  uuid[];
  v_keys      json;
  v_reverse   json;
  v_holds     json;
  v_expired   json;
  v_rows      json;
BEGIN
  -- The head first: every group of every instance waits here, so the rest cannot deadlock.
  SELECT * INTO v_head FROM ledger_head WHERE id FOR UPDATE;
  v_now := greatest(p_now, v_head.posted_at);

  SELECT coalesce(json_agg(json_build_object('apiKeyId', i.api_key_id, 'key', i.key, 'requestHash', i.request_hash,
                                             'resultType', i.result_type, 'resultId', i.result_id)), '[]')
    INTO v_keys
    FROM idempotency_keys i JOIN unnest(p_key_api_ids, p_keys) AS w(api_key_id, key) ON w.api_key_id = i.api_key_id AND w.key = i.key;

  SELECT coalesce(json_agg(json_build_object(
           'id', t.id, 'kind', t.kind,
           'reversedById', (SELECT r.id FROM transactions r WHERE r.reverses_id = t.id),
           'postings', (SELECT json_agg(json_build_array(p.account_id, p.amount_minor::text) ORDER BY p.idx)
                          FROM postings p WHERE p.transaction_id = t.id))), '[]')
    INTO v_reverse
    FROM transactions t WHERE t.id = ANY(p_reverse_ids);
  v_accounts := p_account_ids || ARRAY(SELECT p.account_id FROM postings p WHERE p.transaction_id = ANY(p_reverse_ids));

  SELECT coalesce(json_agg(x), '[]'), v_accounts || coalesce(array_agg(x.from_account_id), '{}') || coalesce(array_agg(x.to_account_id), '{}')
    INTO v_holds, v_accounts
    FROM (SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor::text AS amount_minor, h.status, h.kind, h.memo,
                 h.expires_at, h.api_key_id, h.transaction_id, h.captured_minor::text AS captured_minor, h.created_at, h.resolved_at
            FROM holds h WHERE h.id = ANY(p_hold_ids) ORDER BY h.id FOR UPDATE) x;

  SELECT coalesce(json_agg(x), '[]'), v_accounts || coalesce(array_agg(x.from_account_id), '{}') || coalesce(array_agg(x.to_account_id), '{}')
    INTO v_expired, v_accounts
    FROM (SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor::text AS amount_minor, h.status, h.kind, h.memo,
                 h.expires_at, h.api_key_id, h.transaction_id, h.captured_minor::text AS captured_minor, h.created_at, h.resolved_at
            FROM holds h
           WHERE h.status = 'PENDING' AND h.expires_at <= v_now AND NOT h.id = ANY(p_hold_ids)
             AND (p_sweep_all OR h.from_account_id = ANY(v_accounts) OR h.to_account_id = ANY(v_accounts))
           ORDER BY h.id LIMIT p_expired_limit FOR UPDATE) x;

  -- Accounts last, in id order: the one order every writer uses.
  SELECT coalesce(json_agg(x), '[]') INTO v_rows
    FROM (SELECT a.id, a.party_id, a.currency_code, c.scale, a.status, a.credit_limit_minor::text AS credit_limit_minor, a.unlimited,
                 a.posted_minor::text AS posted_minor, a.pending_debits_minor::text AS pending_debits_minor,
                 a.pending_credits_minor::text AS pending_credits_minor
            FROM accounts a JOIN currencies c ON c.code = a.currency_code
           WHERE a.id = ANY(v_accounts) ORDER BY a.id FOR UPDATE OF a) x;

  RETURN json_build_object('sequence', v_head.sequence::text, 'hash', v_head.hash, 'now', v_now,
                           'keys', v_keys, 'reversible', v_reverse, 'holds', v_holds, 'expired', v_expired, 'accounts', v_rows);
END;
$$;

CREATE FUNCTION ledger_group_write(
  t_id uuid[], t_sequence bigint[], t_kind text[], t_memo text[], t_metadata jsonb[], t_external_ref text[], t_api_key uuid[],
  t_posted_at timestamptz[], t_previous_hash text[], t_hash text[], t_reverses uuid[],
  p_transaction uuid[], p_idx smallint[], p_account uuid[], p_amount bigint[], p_balance_after bigint[], p_sequence bigint[],
  a_id uuid[], a_posted bigint[], a_pending_debits bigint[], a_pending_credits bigint[],
  h_id uuid[], h_from uuid[], h_to uuid[], h_amount bigint[], h_status text[], h_kind text[], h_memo text[], h_expires_at timestamptz[],
  h_api_key uuid[], h_created_at timestamptz[],
  c_id uuid[], c_status text[], c_transaction uuid[], c_captured bigint[], c_resolved_at timestamptz[],
  i_api_key uuid[], i_key text[], i_request_hash text[], i_result_type text[], i_result_id uuid[],
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transactions (id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id)
  SELECT * FROM unnest(t_id, t_sequence, t_kind, t_memo, t_metadata, t_external_ref, t_api_key, t_posted_at, t_previous_hash, t_hash, t_reverses);

  INSERT INTO postings (transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
  SELECT * FROM unnest(p_transaction, p_idx, p_account, p_amount, p_balance_after, p_sequence);

  UPDATE accounts a
     SET posted_minor = v.posted, pending_debits_minor = v.pending_debits, pending_credits_minor = v.pending_credits
    FROM unnest(a_id, a_posted, a_pending_debits, a_pending_credits) AS v(id, posted, pending_debits, pending_credits)
   WHERE a.id = v.id;

  INSERT INTO holds (id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at)
  SELECT * FROM unnest(h_id, h_from, h_to, h_amount, h_status, h_kind, h_memo, h_expires_at, h_api_key, h_created_at);

  UPDATE holds h
     SET status = v.status, transaction_id = v.transaction_id, captured_minor = v.captured, resolved_at = v.resolved_at
    FROM unnest(c_id, c_status, c_transaction, c_captured, c_resolved_at) AS v(id, status, transaction_id, captured, resolved_at)
   WHERE h.id = v.id;

  INSERT INTO idempotency_keys (api_key_id, key, request_hash, result_type, result_id)
  SELECT * FROM unnest(i_api_key, i_key, i_request_hash, i_result_type, i_result_id);

  IF head_sequence IS NOT NULL THEN
    UPDATE ledger_head SET sequence = head_sequence, hash = head_hash, posted_at = head_posted_at WHERE id;
  END IF;

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
