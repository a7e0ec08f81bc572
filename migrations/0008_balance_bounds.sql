-- Balance bounds (SPEC B.4): an upper bound per account (a time bank caps how many hours one
-- member may hoard) and currency-wide defaults for both bounds, applied to accounts opened later.
-- NULL means no upper bound. The posting group reads the bound with the account it locks, so
-- ledger_group_load is redefined with one more column per account (nothing else changes).

ALTER TABLE accounts ADD COLUMN max_balance_minor bigint CHECK (max_balance_minor >= 0);
ALTER TABLE currencies
  ADD COLUMN default_credit_limit_minor bigint CHECK (default_credit_limit_minor >= 0),
  ADD COLUMN default_max_balance_minor bigint CHECK (default_max_balance_minor >= 0);

CREATE OR REPLACE FUNCTION ledger_group_load(
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
                 a.max_balance_minor::text AS max_balance_minor,
                 a.posted_minor::text AS posted_minor, a.pending_debits_minor::text AS pending_debits_minor,
                 a.pending_credits_minor::text AS pending_credits_minor
            FROM accounts a JOIN currencies c ON c.code = a.currency_code
           WHERE a.id = ANY(v_accounts) ORDER BY a.id FOR UPDATE OF a) x;

  RETURN json_build_object('sequence', v_head.sequence::text, 'hash', v_head.hash, 'now', v_now,
                           'keys', v_keys, 'reversible', v_reverse, 'holds', v_holds, 'expired', v_expired, 'accounts', v_rows);
END;
$$;
