import { Injectable } from '@nestjs/common';
import { instantOfIsoMicros, isoMicros } from '../../common/instant';
import { Database, type Sql } from '../../database/database';
import type { AccountRecord } from '../accounts/account.record';
import type { AccountStatus, CurrencyKind, TransactionColumns, TransactionKind } from '../posting/posting.types';
import type { CurrencyRecord } from '../currencies/currency.record';

/**
 * The SQL of statements, point-in-time balances, trial balances and exports. Every query is an
 * index range or point lookup whose cost does not grow with the length of the history:
 *
 * - an instant becomes a sequence through `transactions_posted_at (posted_at, sequence)`, one
 *   backward index probe (posting time never decreases along the sequence, which the posting
 *   group guarantees and verifyLedger checks);
 * - an account's balance at a sequence is the `balance_after_minor` of its last posting at or
 *   before it, one backward probe of `postings_account_sequence (account_id, sequence)`, which
 *   covers the balance, so the heap is not read;
 * - statement pages are keyset ranges of that same index.
 *
 * All reads go to `db.reports` (the read replica when one is configured). Because the journal is
 * append-only and every query is bounded by a sequence, reads made one after another see one
 * consistent ledger without a long-running transaction.
 */

export interface AccountBalanceRow {
  readonly accountId: string;
  readonly balanceMinor: bigint;
}

export interface StatementRow {
  readonly transactionId: string;
  readonly sequence: bigint;
  readonly amountMinor: bigint;
  readonly balanceAfterMinor: bigint;
  readonly postedAt: Date;
}

/** A statement's first page names its period; the pages after it carry the window in their cursor. */
export type StatementWindow =
  { readonly from: Date | null; readonly to: Date | null } | { readonly lo: bigint; readonly hi: bigint; readonly after: bigint };

export interface StatementPage {
  /** Entries have lo < sequence <= hi; the opening balance is the balance just after #lo. */
  readonly lo: bigint;
  readonly hi: bigint;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
  /** Entries after the cursor (or lo), in posting order. */
  readonly rows: StatementRow[];
}

export interface ScopedAccountRow {
  readonly id: string;
  readonly partyId: string;
  readonly partyName: string;
}

export interface ExportPostingRow {
  readonly idx: number;
  readonly sequence: bigint;
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly balanceAfterMinor: bigint;
  readonly currencyCode: string;
  readonly partyId: string;
  readonly partyName: string;
}

export interface ExportTransactionRow {
  readonly networkId: string;
  readonly id: string;
  readonly sequence: bigint;
  readonly kind: TransactionKind;
  readonly memo: string | null;
  readonly metadata: unknown;
  readonly metadataText: string | null;
  readonly externalRef: string | null;
  readonly apiKeyId: string | null;
  readonly postedAt: Date;
  readonly previousHash: string;
  readonly hash: string;
  readonly hashVersion: number;
  readonly reversesId: string | null;
  /** Every posting of the transaction, in every currency, in posting order. */
  readonly postings: ExportPostingRow[];
}

/**
 * An account's own columns as `ledger_statement_json` and `ledger_trial_balance_json` write them
 * (migration 0031): party id, status, status reason, credit limit, maximum balance, unlimited,
 * posted, pending debits, pending credits; every BIGINT as a string.
 */
type AccountColumns = [string, string, string | null, string, string | null, boolean, string, string, string];

/** The first element of `ledger_statement_json`: the account (its currency's code, scale and kind among its columns), the window and both balances. */
type StatementHead = [
  partyId: string,
  currencyCode: string,
  scale: number,
  currencyKind: string,
  status: string,
  statusReason: string | null,
  creditLimit: string,
  maxBalance: string | null,
  unlimited: boolean,
  posted: string,
  pendingDebits: string,
  pendingCredits: string,
  lo: string,
  hi: string,
  opening: string,
  closing: string,
];

/** Every other element of `ledger_statement_json`: one entry. */
type StatementEntryColumns = [transactionId: string, sequence: string, amountMinor: string, balanceAfterMinor: string, postedAt: string];

/** The account of a trial balance line or a statement, in the given network and currency. */
function accountOf(
  [partyId, status, statusReason, creditLimit, maxBalance, unlimited, posted, pendingDebits, pendingCredits]: AccountColumns,
  id: string,
  networkId: string,
  currency: { readonly code: string; readonly scale: number; readonly kind: CurrencyKind },
): AccountRecord {
  return {
    id,
    networkId,
    partyId,
    currencyCode: currency.code,
    scale: currency.scale,
    currencyKind: currency.kind,
    status: status as AccountStatus,
    statusReason,
    creditLimitMinor: BigInt(creditLimit),
    maxBalanceMinor: maxBalance === null ? null : BigInt(maxBalance),
    unlimited,
    postedMinor: BigInt(posted),
    pendingDebitsMinor: BigInt(pendingDebits),
    pendingCreditsMinor: BigInt(pendingCredits),
  };
}

export interface ActivityRow {
  readonly accountId: string;
  readonly creditedMinor: bigint;
  readonly debitedMinor: bigint;
  readonly transactions: number;
}

export interface ActivityPage {
  readonly transactions: number;
  readonly activeAccounts: number;
  readonly volumeMinor: bigint;
  /** Lines after the cursor, in account id order. */
  readonly lines: ActivityRow[];
}

/** Accounts to read: every account of the currency, or only these (already of the currency). */
export type AccountSet = { readonly all: true } | { readonly all: false; readonly ids: readonly string[] };

/** Ids per batch when balances of many accounts are looked up at once. */
const BALANCE_BATCH = 1000;

@Injectable()
export class ReportRepository {
  constructor(private readonly db: Database) {}

  private get sql(): Sql {
    return this.db.reports;
  }

  /** The last sequence posted at or before `instant` (0 before any history). */
  async sequenceAtOrBefore(network: string, instant: Date): Promise<bigint> {
    const [row] = await this.sql.query<{ sequence: string }>(
      'SELECT sequence FROM transactions WHERE network_id = $2 AND posted_at <= $1 ORDER BY posted_at DESC, sequence DESC LIMIT 1',
      [isoMicros(instant), network],
    );
    return row ? BigInt(row.sequence) : 0n;
  }

  /** The last sequence posted strictly before `instant`: periods are half-open, [from, to). */
  async sequenceBefore(network: string, instant: Date): Promise<bigint> {
    const [row] = await this.sql.query<{ sequence: string }>(
      'SELECT sequence FROM transactions WHERE network_id = $2 AND posted_at < $1 ORDER BY posted_at DESC, sequence DESC LIMIT 1',
      [isoMicros(instant), network],
    );
    return row ? BigInt(row.sequence) : 0n;
  }

  /** The last sequence committed, and when it was posted. */
  async head(network: string): Promise<{ sequence: bigint; postedAt: Date | null }> {
    const [row] = await this.sql.query<{ sequence: string; posted_at: Date }>(
      'SELECT sequence, posted_at FROM transactions WHERE network_id = $1 ORDER BY sequence DESC LIMIT 1',
      [network],
    );
    return row ? { sequence: BigInt(row.sequence), postedAt: row.posted_at } : { sequence: 0n, postedAt: null };
  }

  /**
   * An account's posted balance at an instant: two index probes (the last sequence posted at or
   * before `asOf`, then the account's last posting at or before it) in one call of
   * `ledger_balance_at` (migration 0026), whose queries are planned once per connection.
   */
  async balanceAt(network: string, accountId: string, asOf: Date): Promise<bigint> {
    const [row] = await this.sql.query<{ balance: string }>('SELECT ledger_balance_at($1, $2, $3) AS balance', [
      network,
      accountId,
      isoMicros(asOf),
    ]);
    if (!row) throw new Error('ledger_balance_at returned no row');
    return BigInt(row.balance);
  }

  /** Balances of many accounts just after #`sequence`, in batches; accounts without postings are 0. */
  async balancesAtSequence(network: string, accountIds: readonly string[], sequence: bigint): Promise<Map<string, bigint>> {
    const found = new Map<string, bigint>();
    for (let start = 0; start < accountIds.length; start += BALANCE_BATCH) {
      const rows = await this.sql.query<{ id: string; balance: string | null }>(
        `SELECT acc.id, (SELECT p.balance_after_minor FROM postings p
                          WHERE p.network_id = $3 AND p.account_id = acc.id AND p.sequence <= $2 ORDER BY p.sequence DESC LIMIT 1)
                AS balance
           FROM unnest($1::uuid[]) AS acc(id)`,
        [accountIds.slice(start, start + BALANCE_BATCH), sequence.toString(), network],
      );
      for (const row of rows) found.set(row.id, row.balance === null ? 0n : BigInt(row.balance));
    }
    return found;
  }

  /**
   * An account and one page of its statement in one call (`ledger_statement`, migration 0029,
   * read as one JSON value by `ledger_statement_json`, 0031), whose queries are planned once per
   * connection, in one snapshot: the account, the window (from the period's instants on a first
   * page, from the cursor after it), the balances just after its two ends, and up to `limit`
   * postings with `after` < sequence <= hi in posting order, each with its running balance.
   * Undefined when the account is not in the network.
   */
  async statementPage(
    network: string,
    accountId: string,
    window: StatementWindow,
    limit: number,
  ): Promise<(StatementPage & { readonly account: AccountRecord }) | undefined> {
    const cursor = 'lo' in window ? window : null;
    const period = 'lo' in window ? null : window;
    const [row] = await this.sql.query<{ page: [StatementHead, ...StatementEntryColumns[]] | null }>(
      'SELECT ledger_statement_json($1, $2, $3, $4, $5, $6, $7, $8) AS page',
      [
        network,
        accountId,
        period?.from ? isoMicros(period.from) : null,
        period?.to ? isoMicros(period.to) : null,
        cursor?.lo.toString() ?? null,
        cursor?.hi.toString() ?? null,
        cursor?.after.toString() ?? null,
        limit,
      ],
    );
    const page = row?.page;
    if (!page) return undefined;
    const [head, ...entries] = page;
    const [
      partyId,
      code,
      scale,
      kind,
      status,
      statusReason,
      creditLimit,
      maxBalance,
      unlimited,
      posted,
      debits,
      credits,
      lo,
      hi,
      opening,
      closing,
    ] = head;
    const columns: AccountColumns = [partyId, status, statusReason, creditLimit, maxBalance, unlimited, posted, debits, credits];
    return {
      account: accountOf(columns, accountId, network, { code, scale, kind: kind as CurrencyKind }),
      lo: BigInt(lo),
      hi: BigInt(hi),
      openingMinor: BigInt(opening),
      closingMinor: BigInt(closing),
      rows: entries.map(([transactionId, sequence, amount, balanceAfter, postedAt]) => ({
        transactionId,
        sequence: BigInt(sequence),
        amountMinor: BigInt(amount),
        balanceAfterMinor: BigInt(balanceAfter),
        postedAt: instantOfIsoMicros(postedAt),
      })),
    };
  }

  /**
   * The current balances and the instant they stand at, from one snapshot: the stored balance of
   * every account of the currency with a posting, and the posting time of the network's last
   * transaction (its head's, the epoch before any). Every later transaction is posted strictly
   * after that instant, so `balancesAt` of it gives exactly these lines, however often it is
   * asked. One call of `ledger_trial_balance_json` (migration 0032: one JSON value, its query
   * planned once per connection); each line carries its account, so the lines' `account` fields
   * need no second round trip. The currency's columns come from `currency`, not from every row.
   */
  async currentBalances(
    network: string,
    currency: CurrencyRecord,
    accounts: AccountSet,
  ): Promise<{ asOf: Date; rows: (AccountBalanceRow & { readonly account: AccountRecord })[] }> {
    const [row] = await this.sql.query<{ balances: [[string], ...[string, ...AccountColumns][]] | null }>(
      'SELECT ledger_trial_balance_json($1, $2, $3) AS balances',
      [network, currency.code, accounts.all ? null : accounts.ids],
    );
    const [head, ...lines] = row?.balances ?? [];
    if (!head) throw new Error('the ledger head is missing: have the migrations run?');
    return {
      asOf: instantOfIsoMicros(head[0]),
      rows: lines.map(([id, ...columns]) => {
        const account = accountOf(columns, id, network, currency);
        return { accountId: id, balanceMinor: account.postedMinor, account };
      }),
    };
  }

  /**
   * Balances of a currency's accounts just after #`sequence`: per account one backward probe of
   * its postings index (LATERAL ... LIMIT 1), never a sum over history. Accounts without a
   * posting by then are left out (as `currentBalances` leaves out accounts without any).
   */
  async balancesAt(network: string, currencyCode: string, accounts: AccountSet, sequence: bigint): Promise<AccountBalanceRow[]> {
    const rows = await this.sql.query<{ id: string; balance: string | null }>(
      `SELECT a.id, b.balance_after_minor AS balance
         FROM accounts a
         LEFT JOIN LATERAL (SELECT p.balance_after_minor FROM postings p
                             WHERE p.network_id = a.network_id AND p.account_id = a.id AND p.sequence <= $3
                             ORDER BY p.sequence DESC LIMIT 1) b ON true
        WHERE a.network_id = $4 AND a.currency_code = $1 AND ($2::uuid[] IS NULL OR a.id = ANY($2::uuid[]))
          AND b.balance_after_minor IS NOT NULL
        ORDER BY a.id`,
      [currencyCode, accounts.all ? null : accounts.ids, sequence.toString(), network],
    );
    return rows.map((r) => ({ accountId: r.id, balanceMinor: r.balance === null ? 0n : BigInt(r.balance) }));
  }

  /** Accounts of a currency held by these parties, with the party's name. */
  async accountsOfParties(network: string, currencyCode: string, partyIds: readonly string[], limit: number): Promise<ScopedAccountRow[]> {
    const rows = await this.sql.query<{ id: string; party_id: string; name: string }>(
      `SELECT a.id, a.party_id, pa.name FROM accounts a JOIN parties pa ON pa.network_id = a.network_id AND pa.id = a.party_id
        WHERE a.network_id = $4 AND a.currency_code = $1 AND a.party_id = ANY($2::uuid[]) ORDER BY a.id LIMIT $3`,
      [currencyCode, partyIds, limit, network],
    );
    return rows.map((r) => ({ id: r.id, partyId: r.party_id, partyName: r.name }));
  }

  /** Names of the parties holding these accounts. */
  async accountHolders(network: string, accountIds: readonly string[]): Promise<Map<string, ScopedAccountRow>> {
    const found = new Map<string, ScopedAccountRow>();
    for (let start = 0; start < accountIds.length; start += BALANCE_BATCH) {
      const rows = await this.sql.query<{ id: string; party_id: string; name: string }>(
        `SELECT a.id, a.party_id, pa.name FROM accounts a JOIN parties pa ON pa.network_id = a.network_id AND pa.id = a.party_id
          WHERE a.network_id = $2 AND a.id = ANY($1::uuid[])`,
        [accountIds.slice(start, start + BALANCE_BATCH), network],
      );
      for (const r of rows) found.set(r.id, { id: r.id, partyId: r.party_id, partyName: r.name });
    }
    return found;
  }

  /**
   * Non-zero balances just after #`sequence` of every account of a currency (the opening of a
   * full export), with holders' names.
   */
  async nonZeroBalancesAt(network: string, currencyCode: string, sequence: bigint): Promise<(AccountBalanceRow & ScopedAccountRow)[]> {
    if (sequence === 0n) return [];
    const rows = await this.sql.query<{ id: string; party_id: string; name: string; balance: string }>(
      `SELECT a.id, a.party_id, pa.name, b.balance_after_minor AS balance
         FROM accounts a JOIN parties pa ON pa.network_id = a.network_id AND pa.id = a.party_id
         JOIN LATERAL (SELECT p.balance_after_minor FROM postings p
                        WHERE p.network_id = a.network_id AND p.account_id = a.id AND p.sequence <= $2
                        ORDER BY p.sequence DESC LIMIT 1) b ON true
        WHERE a.network_id = $3 AND a.currency_code = $1 AND b.balance_after_minor <> 0
        ORDER BY a.id`,
      [currencyCode, sequence.toString(), network],
    );
    return rows.map((r) => ({ accountId: r.id, id: r.id, partyId: r.party_id, partyName: r.name, balanceMinor: BigInt(r.balance) }));
  }

  /**
   * The next page of transactions with `after` < sequence <= `until` that touch the currency
   * (every account of it) or one of `accounts`, with all their postings. Pages are keyset on
   * sequence, so an export reads the ledger once, a page at a time.
   */
  async exportPage(
    network: string,
    currencyCode: string,
    accounts: AccountSet,
    after: bigint,
    until: bigint,
    limit: number,
  ): Promise<ExportTransactionRow[]> {
    const page = accounts.all
      ? `SELECT t.sequence FROM transactions t
          WHERE t.network_id = $5 AND t.sequence > $1 AND t.sequence <= $2
            AND EXISTS (SELECT 1 FROM postings p JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
                         WHERE p.network_id = t.network_id AND p.transaction_id = t.id AND a.currency_code = $3)
          ORDER BY t.sequence LIMIT $4`
      : // Per account at most `limit` sequences from its own index range, then merged: the cost of
        // a page is bounded by accounts x limit whatever the length of each account's history.
        `SELECT DISTINCT s.sequence FROM unnest($3::uuid[]) AS acc(id)
          CROSS JOIN LATERAL (SELECT p.sequence FROM postings p
                               WHERE p.network_id = $5 AND p.account_id = acc.id AND p.sequence > $1 AND p.sequence <= $2
                               ORDER BY p.sequence LIMIT $4) s
          ORDER BY s.sequence LIMIT $4`;
    const rows = await this.sql.query<
      TransactionColumns & {
        network_id: string;
        metadata_text: string | null;
        idx: number;
        posting_sequence: string;
        account_id: string;
        amount_minor: string;
        balance_after_minor: string;
        currency_code: string;
        party_id: string;
        party_name: string;
      }
    >(
      `WITH page AS (${page})
       SELECT t.network_id, t.id, t.sequence, t.kind, t.memo, t.metadata, t.metadata::text AS metadata_text, t.external_ref, t.api_key_id,
              t.posted_at, t.previous_hash, t.hash, t.hash_version, t.reverses_id, p.idx, p.sequence AS posting_sequence,
              p.account_id, p.amount_minor, p.balance_after_minor, a.currency_code, a.party_id, pa.name AS party_name
         FROM page JOIN transactions t ON t.network_id = $5 AND t.sequence = page.sequence
         JOIN postings p ON p.network_id = t.network_id AND p.transaction_id = t.id
         JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
         JOIN parties pa ON pa.network_id = a.network_id AND pa.id = a.party_id
        ORDER BY t.sequence, p.idx`,
      [after.toString(), until.toString(), accounts.all ? currencyCode : accounts.ids, limit, network],
    );
    const transactions: ExportTransactionRow[] = [];
    let current: ExportTransactionRow | undefined;
    for (const r of rows) {
      if (current?.id !== r.id) {
        current = {
          networkId: r.network_id,
          id: r.id,
          sequence: BigInt(r.sequence),
          kind: r.kind,
          memo: r.memo,
          metadata: r.metadata,
          metadataText: r.metadata_text,
          externalRef: r.external_ref,
          apiKeyId: r.api_key_id,
          postedAt: r.posted_at,
          previousHash: r.previous_hash,
          hash: r.hash,
          hashVersion: r.hash_version,
          reversesId: r.reverses_id,
          postings: [],
        };
        transactions.push(current);
      }
      current.postings.push({
        idx: r.idx,
        sequence: BigInt(r.posting_sequence),
        accountId: r.account_id,
        amountMinor: BigInt(r.amount_minor),
        balanceAfterMinor: BigInt(r.balance_after_minor),
        currencyCode: r.currency_code,
        partyId: r.party_id,
        partyName: r.party_name,
      });
    }
    return transactions;
  }

  /**
   * Activity over the postings with `lo` < sequence <= `hi`: totals over every account in scope
   * and one keyset page of per-account lines. The whole periods of the rollup inside the window
   * (activity_periods, written by the rollup worker) are read from their per-account and
   * per-currency sums; the sequences no whole period covers (the partial days at the edges, and
   * whatever is not rolled up yet) are read from the postings, so the answer is always exact and
   * its cost grows with the accounts and days of the window, not with its postings (docs/reports.md).
   * An account appears at most once per transaction (the posting rules refuse it twice), so its
   * posting count is its transaction count, and distinct sequences are distinct transactions.
   */
  async activityPage(
    network: string,
    currencyCode: string,
    accounts: AccountSet,
    window: { lo: bigint; hi: bigint },
    afterAccountId: string | null,
    limit: number,
  ): Promise<ActivityPage> {
    const rows = await this.sql.query<{
      total_transactions: string;
      active: string;
      volume: string;
      account_id: string | null;
      credited: string | null;
      debited: string | null;
      transactions: string | null;
    }>(activitySql(accounts), [
      window.lo.toString(),
      window.hi.toString(),
      accounts.all ? currencyCode : accounts.ids,
      afterAccountId,
      limit,
      network,
    ]);
    const first = rows[0];
    if (!first) throw new Error('the activity query returned no row');
    return {
      transactions: Number(first.total_transactions),
      activeAccounts: Number(first.active),
      volumeMinor: BigInt(first.volume),
      lines: rows.flatMap((r) =>
        r.account_id === null
          ? []
          : [
              {
                accountId: r.account_id,
                creditedMinor: BigInt(r.credited ?? '0'),
                debitedMinor: BigInt(r.debited ?? '0'),
                transactions: Number(r.transactions),
              },
            ],
      ),
    };
  }
}

/**
 * The activity statement for a whole currency or a set of accounts. Parameters: $1 lo, $2 hi (the
 * window, lo < sequence <= hi), $3 the currency code or the account ids, $4 the cursor's account,
 * $5 the page size, $6 the network.
 *
 * `covered` is the run of whole rolled-up periods inside the window: the first period starting at
 * or after lo to the last one ending at or before hi (periods follow each other without gap, so
 * every sequence between is in one of them); two index probes of activity_periods. `ranges` are
 * the sequences around it, read from the postings. A transaction lies in one period or in one
 * range, never in both, so nothing is counted twice.
 */
function activitySql(accounts: AccountSet): string {
  const edgePostings = accounts.all
    ? `SELECT p.account_id, p.amount_minor, p.sequence FROM ranges r
         JOIN LATERAL (SELECT p.account_id, p.amount_minor, p.sequence FROM postings p
                        WHERE p.network_id = $6 AND p.sequence > r.lo AND p.sequence <= r.hi) p ON true
         JOIN accounts a ON a.network_id = $6 AND a.id = p.account_id AND a.currency_code = $3`
    : `SELECT p.account_id, p.amount_minor, p.sequence FROM ranges r CROSS JOIN unnest($3::uuid[]) AS acc(id)
         JOIN LATERAL (SELECT p.account_id, p.amount_minor, p.sequence FROM postings p
                        WHERE p.network_id = $6 AND p.account_id = acc.id AND p.sequence > r.lo AND p.sequence <= r.hi) p ON true`;
  const rolled = accounts.all
    ? `SELECT r.account_id, r.credited_minor AS credited, r.debited_minor AS debited, r.transactions FROM covered c
         JOIN activity_period_accounts r ON r.network_id = $6 AND r.currency_code = $3 AND r.last_sequence > c.lo AND r.last_sequence <= c.hi`
    : `SELECT r.account_id, r.credited_minor AS credited, r.debited_minor AS debited, r.transactions FROM covered c
         JOIN activity_period_accounts r ON r.network_id = $6 AND r.account_id = ANY($3::uuid[]) AND r.last_sequence > c.lo AND r.last_sequence <= c.hi`;
  // Distinct transactions: per currency the rollup keeps them; one account's are its lines'; a
  // set of several accounts counts the distinct sequences of their own postings (index only),
  // since a transaction between two of them is on both lines.
  const transactions = accounts.all
    ? `(SELECT coalesce(sum(t.transactions), 0) FROM covered c JOIN activity_period_currencies t
          ON t.network_id = $6 AND t.currency_code = $3 AND t.last_sequence > c.lo AND t.last_sequence <= c.hi)
       + (SELECT count(DISTINCT sequence) FROM edge)`
    : `CASE WHEN cardinality($3::uuid[]) <= 1 THEN (SELECT coalesce(sum(transactions), 0) FROM per)
            ELSE (SELECT count(DISTINCT p.sequence) FROM postings p
                   WHERE p.network_id = $6 AND p.account_id = ANY($3::uuid[]) AND p.sequence > $1 AND p.sequence <= $2) END`;
  return `WITH covered AS (
       SELECT f.after_sequence AS lo, l.last_sequence AS hi
         FROM (SELECT after_sequence FROM activity_periods WHERE network_id = $6 AND after_sequence >= $1
                ORDER BY after_sequence LIMIT 1) f,
              (SELECT last_sequence FROM activity_periods WHERE network_id = $6 AND last_sequence <= $2
                ORDER BY last_sequence DESC LIMIT 1) l
        WHERE f.after_sequence < l.last_sequence),
     ranges AS (SELECT $1::bigint AS lo, coalesce((SELECT lo FROM covered), $2::bigint) AS hi
                UNION ALL SELECT hi, $2::bigint FROM covered),
     edge AS MATERIALIZED (${edgePostings}),
     per AS (SELECT account_id, sum(credited) AS credited, sum(debited) AS debited, sum(transactions) AS transactions
               FROM (${rolled}
                     UNION ALL
                     SELECT account_id, coalesce(sum(amount_minor) FILTER (WHERE amount_minor > 0), 0),
                            coalesce(-sum(amount_minor) FILTER (WHERE amount_minor < 0), 0), count(*)
                       FROM edge GROUP BY account_id) x
              GROUP BY account_id)
  SELECT (${transactions})::text AS total_transactions,
         (SELECT count(*) FROM per)::text AS active,
         (SELECT coalesce(sum(credited), 0) FROM per)::text AS volume,
         page.account_id, page.credited::text AS credited, page.debited::text AS debited, page.transactions::text AS transactions
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (SELECT * FROM per WHERE ($4::uuid IS NULL OR account_id > $4) ORDER BY account_id LIMIT $5) page ON true`;
}
