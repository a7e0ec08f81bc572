-- Webhooks (SPEC B.7, docs/webhooks.md): an outbox of ledger events written by the posting
-- group in the same transaction as what they describe, the webhooks that listen, and one
-- delivery per (webhook, event) that the dispatcher of any instance sends until it succeeds or
-- its 24 hours are up. Forward-only: never edit this file after it has landed.

-- Every table carries network_id and every key leads with it, as migrations/0007 asks of
-- ledger tables; the dispatcher's queue index alone is deployment-wide (one dispatcher per
-- instance serves every network).
CREATE TABLE webhooks (
  network_id         uuid NOT NULL REFERENCES networks (id),
  id                 uuid NOT NULL,
  url                text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
  events             text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 5),
  -- Only events touching this account; null: every account the creating key may read.
  account_id         uuid,
  description        text CHECK (length(description) <= 500),
  -- The key that created it: deliveries carry only what this key may read, and stop when it is revoked.
  api_key_id         uuid NOT NULL,
  -- The signing secret, AES-256-GCM under a key derived from the server secret (docs/webhooks.md).
  secret_ciphertext  bytea NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (network_id, id),
  FOREIGN KEY (network_id, account_id) REFERENCES accounts (network_id, id),
  FOREIGN KEY (network_id, api_key_id) REFERENCES api_keys (network_id, id)
);
CREATE INDEX webhooks_api_key ON webhooks (network_id, api_key_id, created_at) WHERE deleted_at IS NULL;

-- The outbox. `seq` orders events as they were written; `fanned_out` is set once the
-- dispatcher has made the deliveries the event is owed.
CREATE TABLE ledger_events (
  -- Until the posting group names the network of what it writes, as the ledger tables' rows do.
  network_id   uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id),
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  id           uuid NOT NULL,
  type         text NOT NULL CHECK (type IN ('TRANSACTION_POSTED', 'HOLD_CREATED', 'HOLD_RESOLVED', 'EXCHANGE_PENDING', 'EXCHANGE_RESOLVED')),
  occurred_at  timestamptz NOT NULL,
  account_ids  uuid[] NOT NULL,
  data         jsonb NOT NULL,
  fanned_out   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (network_id, seq),
  UNIQUE (network_id, id)
);
CREATE INDEX ledger_events_to_fan_out ON ledger_events (seq) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
  network_id       uuid NOT NULL REFERENCES networks (id),
  id               uuid NOT NULL,
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  webhook_id       uuid NOT NULL,
  event_seq        bigint NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts         integer NOT NULL DEFAULT 0,
  -- When a dispatcher may (again) take it: due, retry time, or the end of a claim's lease.
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  -- The first attempt's time, which the 24 hours of retries count from.
  first_attempt_at timestamptz,
  delivered_at     timestamptz,
  PRIMARY KEY (network_id, id),
  UNIQUE (network_id, webhook_id, event_seq),
  FOREIGN KEY (network_id, webhook_id) REFERENCES webhooks (network_id, id),
  FOREIGN KEY (network_id, event_seq) REFERENCES ledger_events (network_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (network_id, webhook_id, seq);

-- Writes events, only while some webhook exists: with none, nobody is owed them, and the
-- posting path pays for nothing but this check (made once per call, deployment-wide; events
-- of a network without webhooks are dropped at fan-out).
CREATE FUNCTION ledger_events_write(p_events json) RETURNS void LANGUAGE sql AS $$
  INSERT INTO ledger_events (id, type, occurred_at, account_ids, data)
  SELECT id, type, occurred_at, account_ids, data
    FROM json_to_recordset(p_events) AS e(id uuid, type text, occurred_at timestamptz, account_ids uuid[], data jsonb)
   WHERE EXISTS (SELECT 1 FROM webhooks WHERE deleted_at IS NULL);
$$;

-- The group write of 0006, with the group's events (one more JSON document, one more statement).
DROP FUNCTION ledger_group_write_json(json, json, json, json, json, json, bigint, text, timestamptz, text, text[]);

CREATE FUNCTION ledger_group_write_json(
  p_transactions json, p_postings json, p_accounts json, p_new_holds json, p_hold_changes json, p_idempotency json,
  head_sequence bigint, head_hash text, head_posted_at timestamptz, notify_channel text, notify_payloads text[], p_events json
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

  PERFORM ledger_events_write(p_events);

  PERFORM pg_notify(notify_channel, payload) FROM unnest(notify_payloads) AS payload;
END;
$$;
