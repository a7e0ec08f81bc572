-- The group write takes its rows as JSON documents instead of one array per column: the client
-- serialises a whole group with one native JSON.stringify, instead of escaping every element of
-- forty-odd arrays, which dominated large deposit batches. Same statements, same order.

CREATE FUNCTION ledger_group_write_json(
  p_transactions json, p_postings json, p_accounts json, p_new_holds json, p_hold_changes json, p_idempotency json,
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transactions (id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id)
  SELECT id, sequence, kind, memo, metadata, external_ref, api_key_id, posted_at, previous_hash, hash, reverses_id
    FROM json_to_recordset(p_transactions) AS t(id uuid, sequence bigint, kind text, memo text, metadata jsonb, external_ref text,
                                                api_key_id uuid, posted_at timestamptz, previous_hash text, hash text, reverses_id uuid);

  INSERT INTO postings (transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
  SELECT t, i, a, m, b, s FROM json_to_recordset(p_postings) AS p(t uuid, i smallint, a uuid, m bigint, b bigint, s bigint);

  UPDATE accounts a
     SET posted_minor = v.posted, pending_debits_minor = v.pending_debits, pending_credits_minor = v.pending_credits
    FROM json_to_recordset(p_accounts) AS v(id uuid, posted bigint, pending_debits bigint, pending_credits bigint)
   WHERE a.id = v.id;

  INSERT INTO holds (id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at)
  SELECT id, from_account_id, to_account_id, amount_minor, status, kind, memo, expires_at, api_key_id, created_at
    FROM json_to_recordset(p_new_holds) AS h(id uuid, from_account_id uuid, to_account_id uuid, amount_minor bigint, status text,
                                             kind text, memo text, expires_at timestamptz, api_key_id uuid, created_at timestamptz);

  UPDATE holds h
     SET status = v.status, transaction_id = v.transaction_id, captured_minor = v.captured_minor, resolved_at = v.resolved_at
    FROM json_to_recordset(p_hold_changes) AS v(id uuid, status text, transaction_id uuid, captured_minor bigint, resolved_at timestamptz)
   WHERE h.id = v.id;

  INSERT INTO idempotency_keys (api_key_id, key, request_hash, result_type, result_id)
  SELECT api_key_id, key, request_hash, result_type, result_id
    FROM json_to_recordset(p_idempotency) AS i(api_key_id uuid, key text, request_hash text, result_type text, result_id uuid);

  IF head_sequence IS NOT NULL THEN
    UPDATE ledger_head SET sequence = head_sequence, hash = head_hash, posted_at = head_posted_at WHERE id;
  END IF;

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;

DROP FUNCTION ledger_group_write(
  uuid[], bigint[], text[], text[], jsonb[], text[], uuid[], timestamptz[], text[], text[], uuid[],
  uuid[], smallint[], uuid[], bigint[], bigint[], bigint[],
  uuid[], bigint[], bigint[], bigint[],
  uuid[], uuid[], uuid[], bigint[], text[], text[], text[], timestamptz[], uuid[], timestamptz[],
  uuid[], text[], uuid[], bigint[], timestamptz[],
  uuid[], text[], text[], text[], uuid[],
  bigint, text, timestamptz, text, text[]);
