import { Injectable } from '@nestjs/common';
import { Database, type Sql } from '../../database/database';
import { GENESIS_HASH, transactionHash } from '../posting/hash-chain';
import type { TransactionKind } from '../posting/posting.types';

export interface LedgerVerificationResult {
  ok: boolean;
  transactionsChecked: number;
  accountsChecked: number;
  firstProblem: string | null;
}

const CHAIN_PAGE = 2000;
/** Each statement of a verification may take this long (the sums over all postings of a long ledger). */
const VERIFY_STATEMENT_TIMEOUT_MS = 15 * 60 * 1000;

interface ChainRow {
  id: string;
  sequence: string;
  kind: TransactionKind;
  memo: string | null;
  metadata: unknown;
  external_ref: string | null;
  posted_at: Date;
  previous_hash: string;
  hash: string;
  reverses_id: string | null;
  /** [account id, amount, the sequence stored on the posting, the account's currency], in posting order. */
  postings: [string, string, string, string][] | null;
}

/**
 * Verifies the ledger end to end from what is stored: every stored balance against the sum of
 * its postings, every posting's running balance, pending balances against live holds, each
 * currency summing to zero, and the whole hash chain from the first transaction to the head.
 * Along the chain it also checks what reports rely on: every transaction balances in each
 * currency, touches an account at most once, carries its sequence on each posting, and is never
 * dated before the transaction it follows (so an instant maps to a position in the sequence).
 * Reads run in one REPEATABLE READ snapshot so concurrent posting cannot cause false alarms.
 */
@Injectable()
export class VerifyService {
  constructor(private readonly db: Database) {}

  async verify(): Promise<LedgerVerificationResult> {
    return this.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // The one report that must read every posting: the pool's 30 s statement bound is too
      // short for the whole-table sums of a long history, so this transaction gets its own.
      await tx.query(`SET LOCAL statement_timeout = ${VERIFY_STATEMENT_TIMEOUT_MS}`);
      return this.verifyWithin(tx);
    });
  }

  /**
   * The checks themselves, in a transaction the caller opened and set up: `verify` above, and
   * a restore, which verifies what it loaded before it commits (src/database/backup/).
   */
  async verifyWithin(tx: Sql): Promise<LedgerVerificationResult> {
    const [{ count }] = (await tx.query<{ count: string }>('SELECT count(*) AS count FROM accounts')) as [{ count: string }];
    const accountsChecked = Number(count);
    const balanceProblem = await this.balanceProblem(tx);
    const chain = await this.checkChain(tx);
    const firstProblem = balanceProblem ?? chain.problem;
    return { ok: firstProblem === null, transactionsChecked: chain.checked, accountsChecked, firstProblem };
  }

  private async balanceProblem(tx: Sql): Promise<string | null> {
    const [posted] = await tx.query<{ id: string; stored: string; summed: string }>(
      `SELECT a.id, a.posted_minor AS stored, coalesce(s.total, 0) AS summed
         FROM accounts a LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM postings GROUP BY account_id) s ON s.account_id = a.id
        WHERE a.posted_minor <> coalesce(s.total, 0)
        ORDER BY a.id LIMIT 1`,
    );
    if (posted)
      return `account ${posted.id}: stored posted balance ${posted.stored} (minor units) but its postings sum to ${posted.summed}`;

    const [running] = await tx.query<{ account_id: string; sequence: string; balance_after_minor: string; running: string }>(
      `SELECT account_id, sequence, balance_after_minor, running FROM (
         SELECT account_id, sequence, balance_after_minor,
                sum(amount_minor) OVER (PARTITION BY account_id ORDER BY sequence) AS running
           FROM postings) r
        WHERE balance_after_minor <> running ORDER BY sequence LIMIT 1`,
    );
    if (running) {
      return `account ${running.account_id}: the posting of transaction #${running.sequence} records a running balance of ${running.balance_after_minor} but the postings up to it sum to ${running.running}`;
    }

    const [pending] = await tx.query<{ id: string }>(
      `SELECT a.id FROM accounts a
         LEFT JOIN (SELECT from_account_id AS id, sum(amount_minor) AS total FROM holds WHERE status = 'PENDING' GROUP BY 1) d ON d.id = a.id
         LEFT JOIN (SELECT to_account_id AS id, sum(amount_minor) AS total FROM holds WHERE status = 'PENDING' GROUP BY 1) c ON c.id = a.id
        WHERE a.pending_debits_minor <> coalesce(d.total, 0) OR a.pending_credits_minor <> coalesce(c.total, 0)
        ORDER BY a.id LIMIT 1`,
    );
    if (pending) return `account ${pending.id}: stored pending balances differ from its pending holds`;

    const [currency] = await tx.query<{ currency_code: string; total: string }>(
      `SELECT currency_code, sum(posted_minor) AS total FROM accounts GROUP BY currency_code HAVING sum(posted_minor) <> 0 ORDER BY 1 LIMIT 1`,
    );
    if (currency) return `currency ${currency.currency_code}: balances sum to ${currency.total} minor units, not zero`;
    return null;
  }

  private async checkChain(tx: Sql): Promise<{ checked: number; problem: string | null }> {
    let previousHash = GENESIS_HASH;
    let previousPostedAt: Date | null = null;
    let expected = 1n;
    let checked = 0;
    for (;;) {
      const rows = await tx.query<ChainRow>(
        `SELECT t.id, t.sequence, t.kind, t.memo, t.metadata, t.external_ref, t.posted_at, t.previous_hash, t.hash, t.reverses_id,
                (SELECT json_agg(json_build_array(p.account_id, p.amount_minor::text, p.sequence::text, a.currency_code) ORDER BY p.idx)
                   FROM postings p JOIN accounts a ON a.id = p.account_id WHERE p.transaction_id = t.id) AS postings
           FROM transactions t WHERE t.sequence >= $1 ORDER BY t.sequence LIMIT $2`,
        [expected.toString(), CHAIN_PAGE],
      );
      for (const row of rows) {
        const sequence = BigInt(row.sequence);
        if (sequence !== expected) return { checked, problem: `transaction #${expected} is missing (next found is #${row.sequence})` };
        if (row.previous_hash !== previousHash) {
          return { checked, problem: `transaction #${row.sequence} (${row.id}) does not link to the hash of the transaction before it` };
        }
        const recomputed = transactionHash({
          id: row.id,
          sequence,
          kind: row.kind,
          postedAt: row.posted_at,
          previousHash: row.previous_hash,
          memo: row.memo,
          metadata: row.metadata,
          externalRef: row.external_ref,
          reversesId: row.reverses_id,
          postings: (row.postings ?? []).map(([accountId, amount]) => ({ accountId, amountMinor: BigInt(amount) })),
        });
        if (recomputed !== row.hash)
          return { checked, problem: `transaction #${row.sequence} (${row.id}): its content does not match its hash` };
        const shape = shapeProblem(row, previousPostedAt);
        if (shape) return { checked, problem: `transaction #${row.sequence} (${row.id}) ${shape}` };
        previousPostedAt = row.posted_at;
        previousHash = row.hash;
        expected++;
        checked++;
      }
      if (rows.length < CHAIN_PAGE) break;
    }
    const [head] = await tx.query<{ sequence: string; hash: string }>('SELECT sequence, hash FROM ledger_head');
    if (head && (BigInt(head.sequence) !== expected - 1n || head.hash !== previousHash)) {
      return { checked, problem: `the ledger head (#${head.sequence}) does not match the last transaction (#${expected - 1n})` };
    }
    return { checked, problem: null };
  }
}

/** What reports rely on besides the hash: balanced per currency, each account once, the sequence on every posting, time in order. */
function shapeProblem(row: ChainRow, previousPostedAt: Date | null): string | null {
  if (previousPostedAt && row.posted_at < previousPostedAt) {
    return `is dated ${row.posted_at.toISOString()}, before the transaction it follows (${previousPostedAt.toISOString()})`;
  }
  const postings = row.postings ?? [];
  if (postings.length < 2) return 'has fewer than two postings';
  const accounts = new Set<string>();
  const sums = new Map<string, bigint>();
  for (const [accountId, amount, sequence, currency] of postings) {
    if (sequence !== row.sequence) return `has a posting of account ${accountId} that records sequence #${sequence}`;
    if (accounts.has(accountId)) return `posts to account ${accountId} twice`;
    accounts.add(accountId);
    sums.set(currency, (sums.get(currency) ?? 0n) + BigInt(amount));
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0n) return `does not balance: its ${currency} postings sum to ${sum} minor units`;
  }
  return null;
}
