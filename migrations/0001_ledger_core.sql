-- Ledger core: parties, currencies, accounts, the append-only journal, holds, API keys and
-- idempotency records. Amounts are BIGINT minor units (the currency's scale says where the
-- decimal point goes). Forward-only: never edit this file after it has landed.

CREATE TABLE parties (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('MEMBER', 'COOPERATIVE', 'CREDIT_UNION', 'LAND_TRUST', 'COMMUNITY')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  handle      text CHECK (length(handle) BETWEEN 1 AND 100),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parties_kind_id ON parties (kind, id);

-- A member may belong to organisations; a treasurer of the organisation reads their statements.
CREATE TABLE party_memberships (
  organisation_id  uuid NOT NULL REFERENCES parties (id),
  member_id        uuid NOT NULL REFERENCES parties (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, member_id)
);
CREATE INDEX party_memberships_member ON party_memberships (member_id);

CREATE TABLE currencies (
  code             text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{2,12}$'),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  kind             text NOT NULL CHECK (kind IN ('TIME', 'MONEY')),
  scale            smallint NOT NULL CHECK (scale BETWEEN 0 AND 8),
  issuer_party_id  uuid REFERENCES parties (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (kind = 'TIME' OR issuer_party_id IS NOT NULL)
);

CREATE TABLE accounts (
  id                     uuid PRIMARY KEY,
  party_id               uuid NOT NULL REFERENCES parties (id),
  currency_code          text NOT NULL REFERENCES currencies (code),
  status                 text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'FROZEN', 'CLOSED')),
  status_reason          text,
  credit_limit_minor     bigint NOT NULL DEFAULT 0 CHECK (credit_limit_minor >= 0),
  unlimited              boolean NOT NULL DEFAULT false,
  posted_minor           bigint NOT NULL DEFAULT 0,
  pending_debits_minor   bigint NOT NULL DEFAULT 0 CHECK (pending_debits_minor >= 0),
  pending_credits_minor  bigint NOT NULL DEFAULT 0 CHECK (pending_credits_minor >= 0),
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_party ON accounts (party_id, id);
CREATE INDEX accounts_currency ON accounts (currency_code, id);
-- One issuance account per currency.
CREATE UNIQUE INDEX accounts_one_unlimited_per_currency ON accounts (currency_code) WHERE unlimited;

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY,
  key_hash    bytea NOT NULL UNIQUE,
  role        text NOT NULL CHECK (role IN ('ADMIN', 'MEMBER', 'TREASURER', 'INTEGRATION', 'AUDITOR')),
  party_id    uuid REFERENCES parties (id),
  label       text CHECK (length(label) <= 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  CHECK (role IN ('ADMIN', 'AUDITOR') OR party_id IS NOT NULL)
);

-- The head of the hash chain: one row, locked by every posting group. Holding it serialises
-- writers ledger-wide, which is what makes `sequence` gap-free and the chain linear.
CREATE TABLE ledger_head (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  sequence   bigint NOT NULL,
  hash       text NOT NULL,
  posted_at  timestamptz NOT NULL
);
INSERT INTO ledger_head (id, sequence, hash, posted_at)
VALUES (true, 0, repeat('0', 64), '1970-01-01T00:00:00Z');

CREATE TABLE transactions (
  id             uuid PRIMARY KEY,
  sequence       bigint NOT NULL UNIQUE CHECK (sequence > 0),
  kind           text NOT NULL CHECK (kind IN ('TRANSFER', 'EXCHANGE', 'DEPOSIT', 'WITHDRAWAL', 'DISTRIBUTION', 'ADJUSTMENT', 'REVERSAL')),
  memo           text,
  metadata       jsonb,
  external_ref   text,
  api_key_id     uuid REFERENCES api_keys (id),
  posted_at      timestamptz NOT NULL,
  previous_hash  text NOT NULL,
  hash           text NOT NULL,
  -- UNIQUE: a transaction is reversed at most once, whatever the application does.
  reverses_id    uuid UNIQUE REFERENCES transactions (id)
);
CREATE INDEX transactions_posted_at ON transactions (posted_at, sequence);
CREATE INDEX transactions_kind ON transactions (kind, sequence);

CREATE TABLE postings (
  transaction_id       uuid NOT NULL REFERENCES transactions (id),
  idx                  smallint NOT NULL,
  account_id           uuid NOT NULL REFERENCES accounts (id),
  amount_minor         bigint NOT NULL CHECK (amount_minor <> 0),
  -- The account's posted balance just after this posting: point-in-time balances and
  -- statements read one index entry instead of summing history.
  balance_after_minor  bigint NOT NULL,
  sequence             bigint NOT NULL,
  PRIMARY KEY (transaction_id, idx)
);
CREATE INDEX postings_account_sequence ON postings (account_id, sequence) INCLUDE (amount_minor, balance_after_minor);

-- Append-only in the database itself.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE holds (
  id               uuid PRIMARY KEY,
  from_account_id  uuid NOT NULL REFERENCES accounts (id),
  to_account_id    uuid NOT NULL REFERENCES accounts (id),
  amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
  status           text NOT NULL CHECK (status IN ('PENDING', 'CAPTURED', 'VOIDED', 'EXPIRED')),
  kind             text NOT NULL DEFAULT 'TRANSFER',
  memo             text,
  expires_at       timestamptz,
  api_key_id       uuid REFERENCES api_keys (id),
  transaction_id   uuid REFERENCES transactions (id),
  captured_minor   bigint,
  created_at       timestamptz NOT NULL,
  resolved_at      timestamptz
);
CREATE INDEX holds_from ON holds (from_account_id, created_at, id);
CREATE INDEX holds_to ON holds (to_account_id, created_at, id);
CREATE INDEX holds_pending_expiry ON holds (expires_at) WHERE status = 'PENDING' AND expires_at IS NOT NULL;

-- Idempotency: one row per (caller, key), written in the same transaction as the effect.
CREATE TABLE idempotency_keys (
  api_key_id    uuid NOT NULL,
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
  request_hash  text NOT NULL,
  result_type   text NOT NULL,
  result_id     uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, key)
);
