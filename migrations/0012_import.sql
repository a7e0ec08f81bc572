-- Import of history from another system (SPEC B.6, docs/import.md).
--
-- history_open: true while every transaction of the ledger was posted with an explicit,
-- historical postedAt by an import. Only then may an ADMIN post with an explicit postedAt; the
-- first transaction posted at the database's clock closes it, for good. A ledger that already
-- has transactions (all posted at the clock) starts closed.
ALTER TABLE ledger_head ADD COLUMN history_open boolean NOT NULL DEFAULT true;
UPDATE ledger_head SET history_open = (sequence = 0);

-- The posting group learns, with the head it locks, whether history is still open (nothing
-- else changes in this function; it is 0011's).
CREATE OR REPLACE FUNCTION ledger_group_load(
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
  -- The head first: every group of every instance waits here, so the rest cannot deadlock.
  SELECT * INTO v_head FROM ledger_head WHERE id FOR UPDATE;
  -- Read only now, under the lock: no group that commits later can carry an earlier time.
  v_clock := clock_timestamp();

  WITH wanted AS (
         SELECT w.api_key_id, w.key, k.network_id, CASE WHEN k.party_id IS NULL THEN 'network' ELSE 'party:' || k.party_id END AS scope
           FROM unnest(p_key_api_ids, p_keys) AS w(api_key_id, key) JOIN api_keys k ON k.id = w.api_key_id),
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

  -- Every expired hold on the group's accounts (their available balances depend on it); the
  -- sweeper alone pages (p_expired_limit), a NULL limit is none.
  SELECT coalesce(json_agg(x), '[]'), v_accounts || coalesce(array_agg(x.from_account_id), '{}') || coalesce(array_agg(x.to_account_id), '{}')
    INTO v_expired, v_accounts
    FROM (SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor::text AS amount_minor, h.status, h.kind, h.memo,
                 h.expires_at, h.api_key_id, h.transaction_id, h.captured_minor::text AS captured_minor, h.created_at, h.resolved_at
            FROM holds h
           WHERE h.status = 'PENDING' AND h.expires_at <= v_clock AND NOT h.id = ANY(p_hold_ids)
             AND (p_sweep_all OR h.from_account_id = ANY(v_accounts) OR h.to_account_id = ANY(v_accounts))
           ORDER BY h.id LIMIT p_expired_limit FOR UPDATE) x;

  -- Accounts last, in id order: the one order every writer uses.
  SELECT coalesce(json_agg(x), '[]') INTO v_rows
    FROM (SELECT a.id, a.party_id, a.currency_code, c.scale, a.status, a.credit_limit_minor::text AS credit_limit_minor, a.unlimited,
                 a.posted_minor::text AS posted_minor, a.pending_debits_minor::text AS pending_debits_minor,
                 a.pending_credits_minor::text AS pending_credits_minor,
                 a.max_balance_minor::text AS max_balance_minor
            FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
           WHERE a.id = ANY(v_accounts) ORDER BY a.id FOR UPDATE OF a) x;

  RETURN json_build_object('network', v_head.network_id, 'sequence', v_head.sequence::text, 'hash', v_head.hash,
                           'clock', v_clock, 'headPostedAt', v_head.posted_at, 'historyOpen', v_head.history_open, 'xid', pg_current_xact_id()::text,
                           'scopes', v_scopes, 'keys', v_keys, 'reversible', v_reverse, 'holds', v_holds, 'expired', v_expired,
                           'accounts', v_rows);
END;
$$;
