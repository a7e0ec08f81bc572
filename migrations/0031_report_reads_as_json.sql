-- The trial balance as of now and a statement page as one JSON value each (docs/performance.md
-- "Reads: one value per answer"). ledger_trial_balance (0027) and ledger_statement (0029) return
-- a row per line or entry with 11 and 21 columns: node-postgres then parses the row description,
-- builds a parser per column, cuts every column of every row into its own string and runs a
-- type parser on it (a timestamptz becomes a Date, to be printed back to text for the answer).
-- That was the service's largest single cost of these two reads (0.4 ms of its 3 ms per trial
-- balance of 100 accounts). These wrappers read the same rows (so the rules stay in one place)
-- and aggregate them into one JSON array, which the service parses with one JSON.parse:
--
-- - ledger_trial_balance_json: [[as_of], [id, party_id, status, status_reason, credit_limit,
--   max_balance, unlimited, posted, pending_debits, pending_credits], ...], NULL without a head;
-- - ledger_statement_json: [[party_id, currency_code, scale, currency_kind, status,
--   status_reason, credit_limit, max_balance, unlimited, posted, pending_debits,
--   pending_credits, lo, hi, opening, closing], [transaction_id, sequence, amount_minor,
--   balance_after_minor, posted_at], ...], NULL when the account is not in the network.
--
-- Every BIGINT is a JSON string (a JSON number loses precision beyond 2^53); instants are UTC
-- text with exactly six decimals, the API's own form (isoMicros), so they are never parsed and
-- printed again. Rows keep the order the wrapped function returns them in (WITH ORDINALITY).
-- plpgsql, so that the statement is planned once per connection, like the functions it wraps.
-- The wrapped functions stay for instances of the previous version during a rolling upgrade.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_instant_text(p_instant timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT to_char(p_instant AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION ledger_trial_balance_json(p_network uuid, p_currency text, p_accounts uuid[])
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    SELECT json_agg(
             CASE WHEN t.r_id IS NULL THEN json_build_array(ledger_instant_text(t.r_as_of))
             ELSE json_build_array(t.r_id, t.r_party_id, t.r_status, t.r_status_reason, t.r_credit_limit_minor::text,
                                   t.r_max_balance_minor::text, t.r_unlimited, t.r_posted_minor::text,
                                   t.r_pending_debits_minor::text, t.r_pending_credits_minor::text)
             END ORDER BY t.ordinality)
      FROM ledger_trial_balance(p_network, p_currency, p_accounts) WITH ORDINALITY AS t
  );
END
$$;

CREATE FUNCTION ledger_statement_json(
  p_network uuid, p_account uuid, p_from timestamptz, p_to timestamptz,
  p_lo bigint, p_hi bigint, p_after bigint, p_limit int
) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    SELECT json_agg(
             CASE WHEN s.ordinality = 1 THEN json_build_array(s.r_party_id, s.r_currency_code, s.r_scale, s.r_currency_kind, s.r_status,
                                                     s.r_status_reason, s.r_credit_limit_minor::text, s.r_max_balance_minor::text,
                                                     s.r_unlimited, s.r_posted_minor::text, s.r_pending_debits_minor::text,
                                                     s.r_pending_credits_minor::text, s.r_lo::text, s.r_hi::text,
                                                     s.r_opening::text, s.r_closing::text)
             ELSE json_build_array(s.r_transaction_id, s.r_sequence::text, s.r_amount_minor::text,
                                   s.r_balance_after_minor::text, ledger_instant_text(s.r_posted_at))
             END ORDER BY s.ordinality)
      FROM ledger_statement(p_network, p_account, p_from, p_to, p_lo, p_hi, p_after, p_limit) WITH ORDINALITY AS s
  );
END
$$;
