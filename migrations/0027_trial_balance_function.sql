-- A trial balance as of now in one call whose queries are planned once per connection (as
-- ledger_statement_page, 0024, and ledger_balance_at, 0026). The single statement it replaces
-- (ReportRepository.currentBalances) was planned again on every call: about 1 ms of the
-- backend's 1.5 ms of CPU for 100 accounts.
--
-- The first row carries the instant the balances stand at (the posting time of the network's
-- head) and nothing else; every other row is one account of the currency with a posting, in id
-- order, with its stored balance and its pending amounts less the holds whose expiry has passed
-- (the rule of SELECT_ACCOUNTS in account.repository.ts; keep the two alike). The currency's
-- columns are not repeated per row: the caller has the currency. A STABLE function runs every
-- query in the snapshot of the statement that called it, so the instant and the balances are
-- one snapshot, as they were in one statement. An account has a posting when its stored balance
-- is not zero (only the posting group writes it, with the postings) or, failing that, when its
-- postings index has an entry: the probe is made for accounts at zero only.
-- p_accounts NULL: every account of the currency; otherwise only those. Two queries, so that each
-- keeps a plan of its own (a scoped caller's few ids are looked up by key, not filtered out of
-- every account of the currency).
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_trial_balance(p_network uuid, p_currency text, p_accounts uuid[])
RETURNS TABLE (
  r_as_of timestamptz, r_id uuid, r_party_id uuid, r_status text, r_status_reason text,
  r_credit_limit_minor bigint, r_max_balance_minor bigint, r_unlimited boolean,
  r_posted_minor bigint, r_pending_debits_minor bigint, r_pending_credits_minor bigint
) LANGUAGE plpgsql STABLE AS $$
BEGIN
  SELECT h.posted_at INTO r_as_of FROM ledger_head h WHERE h.network_id = p_network;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN NEXT;
  IF p_accounts IS NULL THEN
    RETURN QUERY
      SELECT NULL::timestamptz, a.id, a.party_id, a.status, a.status_reason, a.credit_limit_minor, a.max_balance_minor,
             a.unlimited, a.posted_minor,
             a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
               WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0)::bigint,
             a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
               WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0)::bigint
        FROM accounts a
       WHERE a.network_id = p_network AND a.currency_code = p_currency
         AND (a.posted_minor <> 0 OR EXISTS (SELECT 1 FROM postings p WHERE p.network_id = a.network_id AND p.account_id = a.id))
       ORDER BY a.id;
  ELSE
    RETURN QUERY
      SELECT NULL::timestamptz, a.id, a.party_id, a.status, a.status_reason, a.credit_limit_minor, a.max_balance_minor,
             a.unlimited, a.posted_minor,
             a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
               WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0)::bigint,
             a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
               WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0)::bigint
        FROM accounts a
       WHERE a.network_id = p_network AND a.id = ANY(p_accounts) AND a.currency_code = p_currency
         AND (a.posted_minor <> 0 OR EXISTS (SELECT 1 FROM postings p WHERE p.network_id = a.network_id AND p.account_id = a.id))
       ORDER BY a.id;
  END IF;
END
$$;
