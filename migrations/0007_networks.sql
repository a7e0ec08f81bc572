-- Networks: many communities' books in one deployment (SPEC Appendix B.3). Every ledger row
-- belongs to one network; an existing database moves into the network `default` with every
-- row, hash and sequence unchanged (the hash recipe of these rows does not cover the network).
--
-- Scale path: every primary and unique key leads with network_id, and every reference between
-- ledger rows carries it (a composite foreign key), so rows of two networks can never refer to
-- each other and the tables can be distributed by network_id. The one unique key that does not
-- lead with it is api_keys.key_hash: a secret is looked up before its network is known
-- (docs/scaling.md says how that lookup is handled when networks are spread out).
-- Forward-only: never edit this file after it has landed.

CREATE TABLE networks (
  id          uuid PRIMARY KEY,
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{2,40}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- `default` has a fixed id: it exists from the first start, on every deployment.
INSERT INTO networks (id, slug, name) VALUES ('00000000-0000-4000-8000-000000000001', 'default', 'Default network');

-- Each table gains network_id; the constant default moves existing rows into `default`
-- without rewriting them. (The defaults go once every writer names the network itself.)
ALTER TABLE parties           ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE party_memberships ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE currencies        ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE accounts          ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE api_keys          ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE ledger_head       ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE transactions      ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE postings          ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE holds             ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE idempotency_keys  ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE listings          ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);
ALTER TABLE exchanges         ADD COLUMN network_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES networks (id);

-- Deployment admins create networks and keys for any network (B.3). Existing ADMIN keys stay
-- admins of `default` only; the service makes ADMIN_API_KEY the first deployment admin.
ALTER TABLE api_keys ADD COLUMN deployment_admin boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_deployment_admin_is_admin CHECK (NOT deployment_admin OR role = 'ADMIN');

-- Primary keys lead with network_id. CASCADE drops the single-column foreign keys that
-- depend on them; they come back below as composite ones.
ALTER TABLE parties      DROP CONSTRAINT parties_pkey CASCADE,      ADD PRIMARY KEY (network_id, id);
ALTER TABLE currencies   DROP CONSTRAINT currencies_pkey CASCADE,   ADD PRIMARY KEY (network_id, code);
ALTER TABLE accounts     DROP CONSTRAINT accounts_pkey CASCADE,     ADD PRIMARY KEY (network_id, id);
ALTER TABLE api_keys     DROP CONSTRAINT api_keys_pkey CASCADE,     ADD PRIMARY KEY (network_id, id);
ALTER TABLE transactions DROP CONSTRAINT transactions_pkey CASCADE, ADD PRIMARY KEY (network_id, id);
ALTER TABLE holds        DROP CONSTRAINT holds_pkey CASCADE,        ADD PRIMARY KEY (network_id, id);
ALTER TABLE listings     DROP CONSTRAINT listings_pkey CASCADE,     ADD PRIMARY KEY (network_id, id);
ALTER TABLE exchanges    DROP CONSTRAINT exchanges_pkey CASCADE,    ADD PRIMARY KEY (network_id, id);
ALTER TABLE postings          DROP CONSTRAINT postings_pkey,          ADD PRIMARY KEY (network_id, transaction_id, idx);
ALTER TABLE party_memberships DROP CONSTRAINT party_memberships_pkey, ADD PRIMARY KEY (network_id, organisation_id, member_id);
ALTER TABLE idempotency_keys  DROP CONSTRAINT idempotency_keys_pkey,  ADD PRIMARY KEY (network_id, api_key_id, key);

-- One head per network: each network has its own sequence from 1 and its own hash chain.
ALTER TABLE ledger_head DROP CONSTRAINT ledger_head_pkey, ADD PRIMARY KEY (network_id);
ALTER TABLE ledger_head DROP CONSTRAINT ledger_head_id_check;
COMMENT ON COLUMN ledger_head.id IS 'Always true; kept for functions written before networks. The key is network_id.';

-- Unique keys lead with network_id too: a sequence, a currency's issuance account, a reversal,
-- a listing or exchange position are unique within their network.
ALTER TABLE transactions DROP CONSTRAINT transactions_sequence_key,    ADD CONSTRAINT transactions_sequence_key UNIQUE (network_id, sequence);
ALTER TABLE transactions DROP CONSTRAINT transactions_reverses_id_key, ADD CONSTRAINT transactions_reverses_id_key UNIQUE (network_id, reverses_id);
ALTER TABLE listings     DROP CONSTRAINT listings_seq_key,             ADD CONSTRAINT listings_seq_key UNIQUE (network_id, seq);
ALTER TABLE exchanges    DROP CONSTRAINT exchanges_seq_key,            ADD CONSTRAINT exchanges_seq_key UNIQUE (network_id, seq);
ALTER TABLE exchanges    DROP CONSTRAINT exchanges_hold_id_key,        ADD CONSTRAINT exchanges_hold_id_key UNIQUE (network_id, hold_id);
ALTER TABLE exchanges    DROP CONSTRAINT exchanges_transaction_id_key, ADD CONSTRAINT exchanges_transaction_id_key UNIQUE (network_id, transaction_id);
DROP INDEX accounts_one_unlimited_per_currency;
CREATE UNIQUE INDEX accounts_one_unlimited_per_currency ON accounts (network_id, currency_code) WHERE unlimited;

-- References stay inside one network.
ALTER TABLE party_memberships
  ADD FOREIGN KEY (network_id, organisation_id) REFERENCES parties (network_id, id),
  ADD FOREIGN KEY (network_id, member_id) REFERENCES parties (network_id, id);
ALTER TABLE currencies ADD FOREIGN KEY (network_id, issuer_party_id) REFERENCES parties (network_id, id);
ALTER TABLE accounts
  ADD FOREIGN KEY (network_id, party_id) REFERENCES parties (network_id, id),
  ADD FOREIGN KEY (network_id, currency_code) REFERENCES currencies (network_id, code);
ALTER TABLE api_keys ADD FOREIGN KEY (network_id, party_id) REFERENCES parties (network_id, id);
ALTER TABLE transactions
  ADD FOREIGN KEY (network_id, api_key_id) REFERENCES api_keys (network_id, id),
  ADD FOREIGN KEY (network_id, reverses_id) REFERENCES transactions (network_id, id);
ALTER TABLE postings
  ADD FOREIGN KEY (network_id, transaction_id) REFERENCES transactions (network_id, id),
  ADD FOREIGN KEY (network_id, account_id) REFERENCES accounts (network_id, id);
ALTER TABLE holds
  ADD FOREIGN KEY (network_id, from_account_id) REFERENCES accounts (network_id, id),
  ADD FOREIGN KEY (network_id, to_account_id) REFERENCES accounts (network_id, id),
  ADD FOREIGN KEY (network_id, api_key_id) REFERENCES api_keys (network_id, id),
  ADD FOREIGN KEY (network_id, transaction_id) REFERENCES transactions (network_id, id);
ALTER TABLE listings
  ADD FOREIGN KEY (network_id, party_id) REFERENCES parties (network_id, id),
  ADD CONSTRAINT listings_exchange_fk FOREIGN KEY (network_id, exchange_id) REFERENCES exchanges (network_id, id);
ALTER TABLE exchanges
  ADD FOREIGN KEY (network_id, provider_account_id) REFERENCES accounts (network_id, id),
  ADD FOREIGN KEY (network_id, receiver_account_id) REFERENCES accounts (network_id, id),
  ADD FOREIGN KEY (network_id, hold_id) REFERENCES holds (network_id, id),
  ADD FOREIGN KEY (network_id, transaction_id) REFERENCES transactions (network_id, id),
  ADD FOREIGN KEY (network_id, offer_id) REFERENCES listings (network_id, id),
  ADD FOREIGN KEY (network_id, request_id) REFERENCES listings (network_id, id),
  ADD FOREIGN KEY (network_id, recorded_by) REFERENCES api_keys (network_id, id);

-- Secondary indexes lead with network_id as well: every read is of one network.
DROP INDEX parties_kind_id;                  CREATE INDEX parties_kind_id ON parties (network_id, kind, id);
DROP INDEX party_memberships_member;         CREATE INDEX party_memberships_member ON party_memberships (network_id, member_id);
DROP INDEX accounts_party;                   CREATE INDEX accounts_party ON accounts (network_id, party_id, id);
DROP INDEX accounts_currency;                CREATE INDEX accounts_currency ON accounts (network_id, currency_code, id);
DROP INDEX transactions_posted_at;           CREATE INDEX transactions_posted_at ON transactions (network_id, posted_at, sequence);
DROP INDEX transactions_kind;                CREATE INDEX transactions_kind ON transactions (network_id, kind, sequence);
DROP INDEX postings_account_sequence;
CREATE INDEX postings_account_sequence ON postings (network_id, account_id, sequence) INCLUDE (amount_minor, balance_after_minor);
DROP INDEX holds_from;                       CREATE INDEX holds_from ON holds (network_id, from_account_id, created_at, id);
DROP INDEX holds_to;                         CREATE INDEX holds_to ON holds (network_id, to_account_id, created_at, id);
DROP INDEX holds_pending_expiry;
CREATE INDEX holds_pending_expiry ON holds (network_id, expires_at) WHERE status = 'PENDING' AND expires_at IS NOT NULL;
DROP INDEX listings_kind_seq;                CREATE INDEX listings_kind_seq ON listings (network_id, kind, seq);
DROP INDEX listings_kind_category_seq;       CREATE INDEX listings_kind_category_seq ON listings (network_id, kind, category, seq);
DROP INDEX listings_open_seq;                CREATE INDEX listings_open_seq ON listings (network_id, kind, seq) WHERE closed_at IS NULL;
DROP INDEX listings_party;                   CREATE INDEX listings_party ON listings (network_id, party_id, seq);
DROP INDEX exchanges_provider;               CREATE INDEX exchanges_provider ON exchanges (network_id, provider_account_id, seq);
DROP INDEX exchanges_receiver;               CREATE INDEX exchanges_receiver ON exchanges (network_id, receiver_account_id, seq);
DROP INDEX exchanges_offer;                  CREATE INDEX exchanges_offer ON exchanges (network_id, offer_id) WHERE offer_id IS NOT NULL;
DROP INDEX exchanges_request;                CREATE INDEX exchanges_request ON exchanges (network_id, request_id) WHERE request_id IS NOT NULL;
-- listings_search (GIN over the text) stays: a search is filtered by network afterwards.
