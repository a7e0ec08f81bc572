-- ledger_trial_balance_json (0031) restated as one query of its own instead of a wrapper around
-- ledger_trial_balance (0027), for two reasons (docs/performance.md "Reads: one value per
-- answer"):
--
-- - an account's pending amounts less its holds past their expiry were computed with two probes
--   of the holds indexes per account, and `holds_from` / `holds_to` lead with (network, account,
--   created_at): each probe read every hold the account ever had, whatever its status, so a trial
--   balance grew with the holds history of its accounts. A pending amount of zero has no pending
--   hold under it (the posting group keeps pending_debits_minor and pending_credits_minor equal to
--   the sums of the account's PENDING holds, every amount is positive, and verifyLedger checks
--   both sums), so the probes are made only for accounts with something pending;
-- - the lines are aggregated as they are read, without the wrapped function's rows being stored
--   and read again.
--
-- Same answer as 0031: [[as_of], [id, party_id, status, status_reason, credit_limit, max_balance,
-- unlimited, posted, pending_debits, pending_credits], ...] in account id order, only accounts with
-- a posting, NULL without a head; the holds rule is SELECT_ACCOUNTS's in account.repository.ts
-- (keep them alike). Two queries, so that each keeps a plan of its own, as in 0027.
-- ledger_trial_balance (0027) stays for instances of earlier versions during a rolling upgrade.
-- Forward-only: never edit this file after it has landed.

CREATE OR REPLACE FUNCTION ledger_trial_balance_json(p_network uuid, p_currency text, p_accounts uuid[])
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_as_of timestamptz;
BEGIN
  SELECT h.posted_at INTO v_as_of FROM ledger_head h WHERE h.network_id = p_network;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF p_accounts IS NULL THEN
    RETURN (
      SELECT json_agg(l.line ORDER BY l.o, l.id) FROM (
        SELECT 0 AS o, NULL::uuid AS id, json_build_array(ledger_instant_text(v_as_of)) AS line
        UNION ALL
        SELECT 1, a.id, json_build_array(
                 a.id, a.party_id, a.status, a.status_reason, a.credit_limit_minor::text, a.max_balance_minor::text, a.unlimited,
                 a.posted_minor::text,
                 CASE WHEN a.pending_debits_minor = 0 THEN '0' ELSE (a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
                   WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0))::text END,
                 CASE WHEN a.pending_credits_minor = 0 THEN '0' ELSE (a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
                   WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0))::text END)
          FROM accounts a
         WHERE a.network_id = p_network AND a.currency_code = p_currency
           AND (a.posted_minor <> 0 OR EXISTS (SELECT 1 FROM postings p WHERE p.network_id = a.network_id AND p.account_id = a.id))
      ) l
    );
  END IF;
  RETURN (
    SELECT json_agg(l.line ORDER BY l.o, l.id) FROM (
      SELECT 0 AS o, NULL::uuid AS id, json_build_array(ledger_instant_text(v_as_of)) AS line
      UNION ALL
      SELECT 1, a.id, json_build_array(
               a.id, a.party_id, a.status, a.status_reason, a.credit_limit_minor::text, a.max_balance_minor::text, a.unlimited,
               a.posted_minor::text,
               CASE WHEN a.pending_debits_minor = 0 THEN '0' ELSE (a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
                 WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0))::text END,
               CASE WHEN a.pending_credits_minor = 0 THEN '0' ELSE (a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
                 WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0))::text END)
        FROM accounts a
       WHERE a.network_id = p_network AND a.id = ANY(p_accounts) AND a.currency_code = p_currency
         AND (a.posted_minor <> 0 OR EXISTS (SELECT 1 FROM postings p WHERE p.network_id = a.network_id AND p.account_id = a.id))
    ) l
  );
END
$$;
