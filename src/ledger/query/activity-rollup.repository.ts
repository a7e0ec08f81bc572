import { Injectable } from '@nestjs/common';
import { Database, type Sql } from '../../database/database';

/**
 * The SQL of the activity rollup (migrations/0017_activity_rollup.sql, docs/reports.md): closed
 * days of a network's journal summed once per account and per currency, in periods of sequences
 * that follow each other from sequence 0. Written here, read by `ReportRepository.activityPage`.
 */

/** The advisory lock class of rollup work; the second key is the network's hash. */
const ROLLUP_LOCK_CLASS = 0x41435459; // "ACTY"

/** The next period to roll up of a network, or why there is none. */
export interface NextPeriod {
  /** The period holds the transactions with `afterSequence` < sequence <= `lastSequence`. */
  readonly afterSequence: bigint;
  readonly lastSequence: bigint;
  /** UTC day of its transactions, as YYYY-MM-DD. */
  readonly day: string;
}

@Injectable()
export class ActivityRollupRepository {
  constructor(private readonly db: Database) {}

  /** Networks whose head is past their last rolled-up period: the only ones a worker may advance. */
  async networksBehind(limit: number): Promise<string[]> {
    const rows = await this.db.query<{ network_id: string }>(
      `SELECT h.network_id FROM ledger_head h
        WHERE h.sequence > coalesce((SELECT p.last_sequence FROM activity_periods p WHERE p.network_id = h.network_id
                                      ORDER BY p.last_sequence DESC LIMIT 1), 0)
        ORDER BY h.network_id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.network_id);
  }

  /**
   * Rolls up the network's next closed period, in one transaction, unless another worker holds
   * this network's lock (then it answers `busy`: that worker is doing it). Answers `null` when
   * nothing closed is left to roll up.
   */
  rollUpNext(network: string, maxTransactions: number): Promise<NextPeriod | 'busy' | null> {
    return this.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2::text)) AS locked', [
        ROLLUP_LOCK_CLASS,
        network,
      ]);
      if (!lock?.locked) return 'busy';
      const next = await this.nextClosedPeriod(tx, network, maxTransactions);
      if (next) await this.write(tx, network, next);
      return next;
    });
  }

  /**
   * The period after the last one rolled up: the transactions from there to the end of the UTC day
   * of the first of them (at most `maxTransactions`), provided that day is closed, i.e. a
   * transaction posted at or after the next midnight is committed. Posting time never decreases
   * along the sequence (imports included), so nothing can be posted into a closed day any more;
   * and a period is a sequence range, so even then it would stay exact (docs/reports.md).
   */
  // The bound on the sequence is a scalar subquery, not a join with `done`: joined, the planner
  // walked the network's whole sequence index from the start and filtered, so each period cost
  // more than the last (2.7 s per period with 2.3M transactions behind it). As an index bound it
  // starts where the last period ended. `closed` compares with the network's latest posting time,
  // one backward probe of transactions_posted_at, rather than searching for any later row.
  private async nextClosedPeriod(tx: Sql, network: string, maxTransactions: number): Promise<NextPeriod | null> {
    const [row] = await tx.query<{ after: string; day: string; last_of_day: string | null; closed: boolean }>(
      `WITH done AS (SELECT coalesce((SELECT last_sequence FROM activity_periods WHERE network_id = $1
                                       ORDER BY last_sequence DESC LIMIT 1), 0) AS after),
            first AS (SELECT date_trunc('day', t.posted_at AT TIME ZONE 'UTC') AS day FROM transactions t
                       WHERE t.network_id = $1 AND t.sequence > (SELECT after FROM done) ORDER BY t.sequence LIMIT 1),
            bounds AS (SELECT first.day, (first.day + interval '1 day') AT TIME ZONE 'UTC' AS day_end FROM first)
       SELECT done.after::text AS after, to_char(bounds.day, 'YYYY-MM-DD') AS day,
              (SELECT t.sequence FROM transactions t WHERE t.network_id = $1 AND t.posted_at < bounds.day_end
                ORDER BY t.posted_at DESC, t.sequence DESC LIMIT 1)::text AS last_of_day,
              coalesce((SELECT max(t.posted_at) FROM transactions t WHERE t.network_id = $1) >= bounds.day_end, false) AS closed
         FROM done, bounds`,
      [network],
    );
    if (!row?.closed || row.last_of_day === null) return null;
    const after = BigInt(row.after);
    const lastOfDay = BigInt(row.last_of_day);
    const cap = after + BigInt(maxTransactions);
    return { afterSequence: after, lastSequence: lastOfDay < cap ? lastOfDay : cap, day: row.day };
  }

  /** The period and its sums per account and per currency, from the postings of its sequences. */
  private async write(tx: Sql, network: string, period: NextPeriod): Promise<void> {
    const params = [network, period.afterSequence.toString(), period.lastSequence.toString()];
    await tx.query('INSERT INTO activity_periods (network_id, after_sequence, last_sequence, day) VALUES ($1, $2, $3, $4)', [
      ...params,
      period.day,
    ]);
    // One read of the period's postings feeds both tables (a data-modifying CTE runs whether or
    // not the outer statement reads it).
    await tx.query(
      `WITH x AS MATERIALIZED (
              SELECT p.account_id, a.currency_code, p.amount_minor, p.sequence
                FROM postings p JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
               WHERE p.network_id = $1 AND p.sequence > $2 AND p.sequence <= $3),
            lines AS (
              INSERT INTO activity_period_accounts (network_id, last_sequence, currency_code, account_id, credited_minor, debited_minor, transactions)
              SELECT $1, $3, x.currency_code, x.account_id,
                     coalesce(sum(x.amount_minor) FILTER (WHERE x.amount_minor > 0), 0),
                     coalesce(-sum(x.amount_minor) FILTER (WHERE x.amount_minor < 0), 0), count(*)
                FROM x GROUP BY x.currency_code, x.account_id)
       INSERT INTO activity_period_currencies (network_id, last_sequence, currency_code, transactions)
       SELECT $1, $3, x.currency_code, count(DISTINCT x.sequence) FROM x GROUP BY x.currency_code`,
      params,
    );
  }
}
