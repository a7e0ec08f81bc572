-- A TRANSACTION_POSTED event in the webhook outbox names its transaction instead of carrying a
-- copy of it. Every other event keeps its payload.
--
-- While a network has a live webhook, every transaction a posting group writes gets an outbox
-- row, under the network's head lock. That row carried the transaction as a JSON document (about
-- 700 bytes: id, sequence, kind, memo, time, hash, postings with their amounts and currencies).
-- Parsing, checking and storing it under the lock cost 12.4 µs per event in a loop of 16-event
-- groups (0.033 ms per transfer in the bench's group write), and the service built and
-- serialised the document first. The ledger already holds all of it: the transaction row and its
-- postings are written by the same statement, in the same database transaction, and never change.
-- The outbox row now holds the transaction's sequence (3.6 µs per event in the same loop), and
-- the payload is read from the ledger when the event is fanned out or sent (docs/webhooks.md).
-- Nothing about delivery changes: an event is still written with what it describes, or not at all.
--
-- A group's events keep the order the ledger decided them in: a group whose events are all
-- TRANSACTION_POSTED writes them by reference, in sequence order; a group with other events too
-- (holds created or resolved) writes every event as a document, as before, in command order.
-- Rows written before this migration keep their documents; both kinds are read alike.
--
-- ledger_group_write gains a last parameter, t_events: write a TRANSACTION_POSTED row by
-- reference for each of the group's transactions. The signature of 0028 stays for a service of
-- the previous version during a rolling upgrade (it writes documents only).
--
-- ledger_events_with_data shows every event with its payload, whichever way it was written: for
-- operators and tests. It builds the payload as the service does (docs/webhooks.md, Events).
-- Forward-only: never edit this file after it has landed.

ALTER TABLE ledger_events
  ADD COLUMN transaction_sequence bigint,
  ALTER COLUMN account_ids DROP NOT NULL,
  ALTER COLUMN data DROP NOT NULL,
  ADD CONSTRAINT ledger_events_payload CHECK (
    (data IS NOT NULL AND account_ids IS NOT NULL AND transaction_sequence IS NULL)
    OR (type = 'TRANSACTION_POSTED' AND data IS NULL AND account_ids IS NULL AND transaction_sequence IS NOT NULL));

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
  t_events boolean
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
  IF t_events AND json_array_length(p_events) > 0 THEN
    RAISE EXCEPTION 'a group writes its events by reference or as documents, not both';
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

CREATE VIEW ledger_events_with_data AS
SELECT e.network_id, e.seq, e.id, e.type, e.occurred_at, coalesce(e.account_ids, x.account_ids) AS account_ids,
       coalesce(e.data, x.data) AS data
  FROM ledger_events e
  LEFT JOIN LATERAL (
    SELECT (SELECT array_agg(a.account_id ORDER BY a.first_idx)
              FROM (SELECT p.account_id, min(p.idx) AS first_idx FROM postings p
                     WHERE p.network_id = t.network_id AND p.transaction_id = t.id GROUP BY p.account_id) a) AS account_ids,
           json_build_object('transaction', json_build_object(
             'id', t.id, 'sequence', t.sequence::text, 'kind', t.kind, 'memo', t.memo,
             'postedAt', to_char(t.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'hash', t.hash,
             'postings', (SELECT json_agg(json_build_object(
                                   'accountId', p.account_id,
                                   'amount', round(p.amount_minor::numeric / 10::numeric ^ c.scale, c.scale)::text,
                                   'currency', a.currency_code) ORDER BY p.idx)
                            FROM postings p
                            JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
                            JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
                           WHERE p.network_id = t.network_id AND p.transaction_id = t.id))) AS data
      FROM transactions t
     WHERE e.transaction_sequence IS NOT NULL AND t.network_id = e.network_id AND t.sequence = e.transaction_sequence
  ) x ON true;
