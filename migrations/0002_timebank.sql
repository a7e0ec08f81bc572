-- Time bank: the offers and requests members post, and the exchanges of hours between them.
-- Ledger rows (transactions, postings, holds) are written by the posting module only; an
-- exchange row is written in the same database transaction as its hold or its transaction.
-- Forward-only: never edit this file after it has landed.

-- Offers ("what can I gift you?") and requests ("what would you like to receive?") share one
-- shape, so they share one table; `kind` tells them apart.
CREATE TABLE listings (
  id           uuid PRIMARY KEY,
  -- Keyset pagination order: newest first by `seq`.
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  kind         text NOT NULL CHECK (kind IN ('OFFER', 'REQUEST')),
  party_id     uuid NOT NULL REFERENCES parties (id),
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  -- Stored lower-case so that filtering by category ignores case.
  category     text NOT NULL CHECK (length(category) BETWEEN 1 AND 50 AND category = lower(category)),
  description  text CHECK (length(description) <= 4000),
  -- The estimate in hundredths of an hour.
  hours_minor  bigint CHECK (hours_minor > 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  closed_at    timestamptz,
  -- For a request: the exchange that fulfilled it. For an offer: the latest one.
  exchange_id  uuid,
  search       tsvector GENERATED ALWAYS AS (
                 setweight(to_tsvector('english', title), 'A') ||
                 setweight(to_tsvector('english', category), 'B') ||
                 setweight(to_tsvector('english', coalesce(description, '')), 'C')
               ) STORED
);
CREATE INDEX listings_kind_seq ON listings (kind, seq);
CREATE INDEX listings_kind_category_seq ON listings (kind, category, seq);
CREATE INDEX listings_open_seq ON listings (kind, seq) WHERE closed_at IS NULL;
CREATE INDEX listings_party ON listings (party_id, seq);
CREATE INDEX listings_search ON listings USING gin (search);

CREATE TABLE exchanges (
  id                   uuid PRIMARY KEY,
  seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  provider_account_id  uuid NOT NULL REFERENCES accounts (id),
  receiver_account_id  uuid NOT NULL REFERENCES accounts (id),
  hours_minor          bigint NOT NULL CHECK (hours_minor > 0),
  description          text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  status               text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'DISPUTED')),
  -- Recorded by the provider: a hold on the receiver's account until confirmed or disputed.
  hold_id              uuid UNIQUE REFERENCES holds (id),
  -- Set once the hours have moved (recorded by the receiver, or confirmed).
  transaction_id       uuid UNIQUE REFERENCES transactions (id),
  offer_id             uuid REFERENCES listings (id),
  request_id           uuid REFERENCES listings (id),
  recorded_by          uuid REFERENCES api_keys (id),
  dispute_reason       text CHECK (length(dispute_reason) BETWEEN 1 AND 500),
  created_at           timestamptz NOT NULL DEFAULT now(),
  resolved_at          timestamptz,
  CHECK (provider_account_id <> receiver_account_id),
  CHECK (hold_id IS NOT NULL OR transaction_id IS NOT NULL),
  CHECK ((status = 'CONFIRMED') = (transaction_id IS NOT NULL)),
  CHECK ((status = 'DISPUTED') = (dispute_reason IS NOT NULL))
);
CREATE INDEX exchanges_provider ON exchanges (provider_account_id, seq);
CREATE INDEX exchanges_receiver ON exchanges (receiver_account_id, seq);
CREATE INDEX exchanges_offer ON exchanges (offer_id) WHERE offer_id IS NOT NULL;
CREATE INDEX exchanges_request ON exchanges (request_id) WHERE request_id IS NOT NULL;

ALTER TABLE listings ADD CONSTRAINT listings_exchange_fk FOREIGN KEY (exchange_id) REFERENCES exchanges (id);
