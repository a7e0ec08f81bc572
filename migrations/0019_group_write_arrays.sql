-- The posting group's write takes its transactions, postings, account balances and idempotency
-- records as arrays, one per column, unnested in one INSERT (or UPDATE) per table: PostgreSQL
-- parses each array once with the column's own input function, where json_to_recordset (0006)
-- lexed every document and looked up every field by name, and the transactions' document was
-- parsed three times (the metadata check, the insert, and the postings' join for their network).
-- For a batch of 1,000 deposits that parsing was about a quarter of the write, all of it under
-- the network's head lock (docs/performance.md). Every row is of the group's network
-- (p_network), as the posting group builds them. Holds, hold changes and webhook events stay JSON
-- documents: a group has few of them. Otherwise the same statements as 0013's
-- ledger_group_write_json, which this replaces.
-- Forward-only: never edit this file after it has landed.

DROP FUNCTION ledger_group_write_json(uuid, json, json, json, json, json, json, bigint, text, timestamptz, text, text[], json);

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
    FROM unnest(i_api_key_id, i_key, i_request_hash, i_result_type, i_result_id, i_scope)
         AS i(api_key_id, key, request_hash, result_type, result_id, scope)
    JOIN api_keys k ON k.network_id = p_network AND k.id = i.api_key_id;

  IF head_sequence IS NOT NULL THEN
    UPDATE ledger_head SET sequence = head_sequence, hash = head_hash, posted_at = head_posted_at WHERE network_id = p_network;
  END IF;

  PERFORM ledger_events_write(p_network, p_events);

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
