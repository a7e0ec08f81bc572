-- A transaction is reversed at most once (SPEC section 3): the uniqueness of reverses_id needs
-- only the rows that reverse something. The unique constraint of 0007 indexed every
-- transaction, a null entry per deposit, transfer and exchange (one index insertion in thirteen
-- of a deposit's write). The partial unique index keeps the rule and serves the lookups of a
-- transaction's reversal (reverses_id = $id), which imply NOT NULL.
-- Forward-only: never edit this file after it has landed.

CREATE UNIQUE INDEX transactions_reverses_id ON transactions (network_id, reverses_id) WHERE reverses_id IS NOT NULL;
ALTER TABLE transactions DROP CONSTRAINT transactions_reverses_id_key;
