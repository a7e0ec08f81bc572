-- An account's posted balance at an instant in one call whose two queries are planned once per
-- connection (as ledger_statement_page, 0024): the last sequence posted at or before p_as_of,
-- one backward probe of transactions_posted_at, then the account's running balance just after
-- it, one backward probe of postings_account_sequence (index-only). The single statement it
-- replaces was planned again on every call, about as long as it ran.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_balance_at(p_network uuid, p_account uuid, p_as_of timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_sequence bigint;
  v_balance bigint;
BEGIN
  SELECT t.sequence INTO v_sequence FROM transactions t WHERE t.network_id = p_network AND t.posted_at <= p_as_of
   ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1;
  IF v_sequence IS NULL THEN
    RETURN 0;
  END IF;
  SELECT p.balance_after_minor INTO v_balance FROM postings p
   WHERE p.network_id = p_network AND p.account_id = p_account AND p.sequence <= v_sequence ORDER BY p.sequence DESC LIMIT 1;
  RETURN coalesce(v_balance, 0);
END
$$;
