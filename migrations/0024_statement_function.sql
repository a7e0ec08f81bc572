-- A statement page in one call (docs/reports.md, docs/performance.md "Reads: as few waits on the
-- database as pay"). The service read a page in two waits of three queries each (the window's
-- ends; then both balances and the entries), and PostgreSQL planned each of the six again on
-- every call, a millisecond and more of planning against a fraction of one of execution. One
-- statement of all of it was planned for 2-3 ms on every call. In a PL/pgSQL function each query
-- is planned once per connection and its plan kept (no named prepared statement is involved, so
-- a pooler in transaction mode is no obstacle), and the whole page is one round trip.
--
-- The window: entries have lo < sequence <= hi; lo is the last sequence posted before p_from (0
-- without p_from), hi the last before p_to (the head without p_to), never below lo. A cursor
-- gives lo, hi and the last sequence shown (p_after) instead. Every row carries the window and
-- both balances (the balance just after #lo and just after #hi); without entries one row carries
-- them alone, with NULL entry columns. Entries join their transaction by sequence (a posting's
-- sequence is its transaction's): the (account_id, sequence) index covers amount and running
-- balance, and the transactions of one page lie close together in transactions_sequence_key.
-- Forward-only: never edit this file after it has landed.

CREATE FUNCTION ledger_statement_page(
  p_network uuid, p_account uuid, p_from timestamptz, p_to timestamptz,
  p_lo bigint, p_hi bigint, p_after bigint, p_limit int
) RETURNS TABLE (
  r_lo bigint, r_hi bigint, r_opening bigint, r_closing bigint,
  r_transaction_id uuid, r_sequence bigint, r_amount_minor bigint, r_balance_after_minor bigint, r_posted_at timestamptz
) LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_lo bigint := p_lo;
  v_hi bigint := p_hi;
  v_opening bigint;
  v_closing bigint;
BEGIN
  IF v_lo IS NULL THEN
    IF p_from IS NOT NULL THEN
      SELECT t.sequence INTO v_lo FROM transactions t WHERE t.network_id = p_network AND t.posted_at < p_from
       ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1;
    END IF;
    v_lo := coalesce(v_lo, 0);
  END IF;
  IF v_hi IS NULL THEN
    IF p_to IS NULL THEN
      SELECT t.sequence INTO v_hi FROM transactions t WHERE t.network_id = p_network ORDER BY t.sequence DESC LIMIT 1;
    ELSE
      SELECT t.sequence INTO v_hi FROM transactions t WHERE t.network_id = p_network AND t.posted_at < p_to
       ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1;
    END IF;
    -- A period wholly in the future is empty: nothing after the opening balance.
    v_hi := greatest(coalesce(v_hi, 0), v_lo);
  END IF;
  SELECT b.balance_after_minor INTO v_opening FROM postings b
   WHERE b.network_id = p_network AND b.account_id = p_account AND b.sequence <= v_lo ORDER BY b.sequence DESC LIMIT 1;
  SELECT b.balance_after_minor INTO v_closing FROM postings b
   WHERE b.network_id = p_network AND b.account_id = p_account AND b.sequence <= v_hi ORDER BY b.sequence DESC LIMIT 1;
  RETURN QUERY
    SELECT v_lo, v_hi, coalesce(v_opening, 0), coalesce(v_closing, 0),
           t.id, p.sequence, p.amount_minor, p.balance_after_minor, t.posted_at
      FROM postings p JOIN transactions t ON t.network_id = p.network_id AND t.sequence = p.sequence
     WHERE p.network_id = p_network AND p.account_id = p_account AND p.sequence > coalesce(p_after, v_lo) AND p.sequence <= v_hi
     ORDER BY p.sequence LIMIT p_limit;
  IF NOT FOUND THEN
    RETURN QUERY SELECT v_lo, v_hi, coalesce(v_opening, 0), coalesce(v_closing, 0),
                        NULL::uuid, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz;
  END IF;
END
$$;
