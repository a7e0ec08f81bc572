-- A statement page and its account in one call (docs/reports.md, docs/performance.md "Reads: as
-- few waits on the database as pay"). The service read the account (one statement, planned on
-- every call, on a second pooled connection) while ledger_statement_page (0024) read the page: two
-- backends to wake and schedule for one request, on a machine where they share the cores with
-- the service. ledger_statement reads both in one call whose queries are planned once per
-- connection, in one snapshot (a STABLE function runs in the snapshot of its calling statement).
--
-- The first row carries the account (its own columns and its currency's scale and kind; pending
-- amounts less the holds whose expiry has passed, the rule of SELECT_ACCOUNTS in
-- account.repository.ts: keep them alike), the window (lo, hi) and both balances, and no entry;
-- every other row is one entry, and nothing else. No row at all: the account is not in the
-- network. Window and entries as in 0024: entries have lo < sequence <= hi; lo is the last
-- sequence posted before p_from (0 without p_from), hi the last before p_to (the head without
-- p_to), never below lo; a cursor gives lo, hi and the last sequence shown (p_after) instead.
-- ledger_statement_page stays for instances of the previous version during a rolling upgrade.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_statement(
  p_network uuid, p_account uuid, p_from timestamptz, p_to timestamptz,
  p_lo bigint, p_hi bigint, p_after bigint, p_limit int
) RETURNS TABLE (
  r_party_id uuid, r_currency_code text, r_scale int, r_currency_kind text, r_status text, r_status_reason text,
  r_credit_limit_minor bigint, r_max_balance_minor bigint, r_unlimited boolean,
  r_posted_minor bigint, r_pending_debits_minor bigint, r_pending_credits_minor bigint,
  r_lo bigint, r_hi bigint, r_opening bigint, r_closing bigint,
  r_transaction_id uuid, r_sequence bigint, r_amount_minor bigint, r_balance_after_minor bigint, r_posted_at timestamptz
) LANGUAGE plpgsql STABLE AS $$
BEGIN
  SELECT a.party_id, a.currency_code, c.scale, c.kind, a.status, a.status_reason, a.credit_limit_minor, a.max_balance_minor,
         a.unlimited, a.posted_minor,
         a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
           WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0)::bigint,
         a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
           WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0)::bigint
    INTO r_party_id, r_currency_code, r_scale, r_currency_kind, r_status, r_status_reason, r_credit_limit_minor, r_max_balance_minor,
         r_unlimited, r_posted_minor, r_pending_debits_minor, r_pending_credits_minor
    FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
   WHERE a.network_id = p_network AND a.id = p_account;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r_lo := p_lo;
  r_hi := p_hi;
  IF r_lo IS NULL THEN
    IF p_from IS NOT NULL THEN
      SELECT t.sequence INTO r_lo FROM transactions t WHERE t.network_id = p_network AND t.posted_at < p_from
       ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1;
    END IF;
    r_lo := coalesce(r_lo, 0);
  END IF;
  IF r_hi IS NULL THEN
    IF p_to IS NULL THEN
      SELECT t.sequence INTO r_hi FROM transactions t WHERE t.network_id = p_network ORDER BY t.sequence DESC LIMIT 1;
    ELSE
      SELECT t.sequence INTO r_hi FROM transactions t WHERE t.network_id = p_network AND t.posted_at < p_to
       ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1;
    END IF;
    -- A period wholly in the future is empty: nothing after the opening balance.
    r_hi := greatest(coalesce(r_hi, 0), r_lo);
  END IF;
  SELECT b.balance_after_minor INTO r_opening FROM postings b
   WHERE b.network_id = p_network AND b.account_id = p_account AND b.sequence <= r_lo ORDER BY b.sequence DESC LIMIT 1;
  SELECT b.balance_after_minor INTO r_closing FROM postings b
   WHERE b.network_id = p_network AND b.account_id = p_account AND b.sequence <= r_hi ORDER BY b.sequence DESC LIMIT 1;
  r_opening := coalesce(r_opening, 0);
  r_closing := coalesce(r_closing, 0);
  RETURN NEXT;
  RETURN QUERY
    SELECT NULL::uuid, NULL::text, NULL::int, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::boolean,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
           t.id, p.sequence, p.amount_minor, p.balance_after_minor, t.posted_at
      FROM postings p JOIN transactions t ON t.network_id = p.network_id AND t.sequence = p.sequence
     WHERE p.network_id = p_network AND p.account_id = p_account AND p.sequence > coalesce(p_after, r_lo) AND p.sequence <= r_hi
     ORDER BY p.sequence LIMIT p_limit;
END
$$;
