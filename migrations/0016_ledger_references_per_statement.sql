-- A posting group inserts a thousand transactions, two thousand postings and a thousand
-- idempotency records in one statement each (docs/performance.md, "Where a deposit batch goes").
-- Their foreign keys checked every row on its own: ten thousand one-row lookups per batch of
-- deposits, about two thirds of PostgreSQL's time in the group write. The same references are now
-- checked once per statement, over all the statement's new rows at once (transition tables), and
-- refused with the same SQLSTATE (23503, foreign_key_violation):
--   postings (network_id, account_id)      -> accounts, locked FOR KEY SHARE as a foreign key locks
--   postings (network_id, transaction_id)  -> transactions (append-only: never deleted or changed)
--   transactions (network_id, api_key_id)  -> api_keys, locked FOR KEY SHARE
--   transactions (network_id), idempotency_keys (network_id) -> networks, locked FOR KEY SHARE
-- (postings (network_id) -> networks follows from postings -> transactions -> networks.)
-- The referenced side, which a foreign key also guards: an account or API key that ledger rows
-- name is never deleted nor given another key (refused below); a network always has its head,
-- whose foreign key keeps it. transactions (network_id, reverses_id) -> transactions stays a
-- foreign key: it is null on all but reversals, where the row check costs nothing.
-- Forward-only: never edit this file after it has landed.

ALTER TABLE postings
  DROP CONSTRAINT postings_network_id_fkey,
  DROP CONSTRAINT postings_network_id_account_id_fkey,
  DROP CONSTRAINT postings_network_id_transaction_id_fkey;
ALTER TABLE transactions
  DROP CONSTRAINT transactions_network_id_fkey,
  DROP CONSTRAINT transactions_network_id_api_key_id_fkey;
ALTER TABLE idempotency_keys
  DROP CONSTRAINT idempotency_keys_network_id_fkey;

CREATE FUNCTION ledger_postings_refer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_network uuid;
  v_id      uuid;
BEGIN
  WITH wanted AS (SELECT DISTINCT network_id, account_id FROM new_postings),
       locked AS (SELECT a.network_id, a.id FROM accounts a
                   WHERE (a.network_id, a.id) IN (SELECT network_id, account_id FROM wanted) FOR KEY SHARE OF a)
  SELECT w.network_id, w.account_id INTO v_network, v_id
    FROM wanted w LEFT JOIN locked l ON l.network_id = w.network_id AND l.id = w.account_id
   WHERE l.id IS NULL LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a posting names account %s, which network %s does not have', v_id, v_network);
  END IF;
  SELECT w.network_id, w.transaction_id INTO v_network, v_id
    FROM (SELECT DISTINCT network_id, transaction_id FROM new_postings) w
   WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.network_id = w.network_id AND t.id = w.transaction_id) LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a posting names transaction %s, which network %s does not have', v_id, v_network);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER postings_refer AFTER INSERT ON postings REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_refer();

CREATE FUNCTION ledger_transactions_refer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_network uuid;
  v_id      uuid;
BEGIN
  WITH wanted AS (SELECT DISTINCT network_id FROM new_transactions),
       locked AS (SELECT n.id FROM networks n WHERE n.id IN (SELECT network_id FROM wanted) FOR KEY SHARE OF n)
  SELECT w.network_id INTO v_network FROM wanted w WHERE w.network_id NOT IN (SELECT id FROM locked) LIMIT 1;
  IF v_network IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a transaction names network %s, which does not exist', v_network);
  END IF;
  WITH wanted AS (SELECT DISTINCT network_id, api_key_id FROM new_transactions WHERE api_key_id IS NOT NULL),
       locked AS (SELECT k.network_id, k.id FROM api_keys k
                   WHERE (k.network_id, k.id) IN (SELECT network_id, api_key_id FROM wanted) FOR KEY SHARE OF k)
  SELECT w.network_id, w.api_key_id INTO v_network, v_id
    FROM wanted w LEFT JOIN locked l ON l.network_id = w.network_id AND l.id = w.api_key_id
   WHERE l.id IS NULL LIMIT 1;
  IF v_id IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('a transaction names API key %s, which network %s does not have', v_id, v_network);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER transactions_refer AFTER INSERT ON transactions REFERENCING NEW TABLE AS new_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_transactions_refer();

CREATE FUNCTION ledger_idempotency_keys_refer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_network uuid;
BEGIN
  WITH wanted AS (SELECT DISTINCT network_id FROM new_keys),
       locked AS (SELECT n.id FROM networks n WHERE n.id IN (SELECT network_id FROM wanted) FOR KEY SHARE OF n)
  SELECT w.network_id INTO v_network FROM wanted w WHERE w.network_id NOT IN (SELECT id FROM locked) LIMIT 1;
  IF v_network IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('an idempotency record names network %s, which does not exist', v_network);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER idempotency_keys_refer AFTER INSERT ON idempotency_keys REFERENCING NEW TABLE AS new_keys
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_idempotency_keys_refer();

-- The referenced side: an account with postings, or an API key that posted a transaction, keeps
-- its row and its key (as the dropped foreign keys kept them). The deleting or re-keying
-- statement waits for the row lock a posting group's insert holds (FOR KEY SHARE above), then
-- looks with a snapshot that sees what that group committed.
CREATE FUNCTION ledger_refuse_referenced_account_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM postings p WHERE p.network_id = OLD.network_id AND p.account_id = OLD.id) THEN
    RAISE foreign_key_violation USING MESSAGE = format('account %s has postings: it is neither deleted nor re-keyed', OLD.id);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
CREATE TRIGGER accounts_referenced BEFORE DELETE OR UPDATE OF network_id, id ON accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_account_change();

CREATE FUNCTION ledger_refuse_referenced_api_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM transactions t WHERE t.network_id = OLD.network_id AND t.api_key_id = OLD.id) THEN
    RAISE foreign_key_violation USING MESSAGE = format('API key %s posted transactions: it is neither deleted nor re-keyed', OLD.id);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
CREATE TRIGGER api_keys_referenced BEFORE DELETE OR UPDATE OF network_id, id ON api_keys
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_api_key_change();
