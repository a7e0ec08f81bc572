import { Injectable } from '@nestjs/common';
import { validationFailed } from '../../common/domain-error';
import { compareInstants, isoMicros } from '../../common/instant';
import { Database, type Sql } from '../../database/database';
import { GENESIS_HASH, transactionHash, transactionHashV2 } from '../posting/hash-chain';
import { TRANSACTION_KINDS, type TransactionColumns } from '../posting/posting.types';

export interface LedgerVerificationResult {
  ok: boolean;
  transactionsChecked: number;
  accountsChecked: number;
  firstProblem: string | null;
}

const CHAIN_PAGE = 2000;
/** Each statement of a verification may take this long (the sums over all postings of a long ledger). */
const VERIFY_STATEMENT_TIMEOUT_MS = 15 * 60 * 1000;

interface ChainRow extends TransactionColumns {
  network_id: string;
  metadata_text: string | null;
  /** [account id, amount, the sequence stored on the posting, the account's currency, idx, balance after, network], in posting order. */
  postings: [string, string, string, string, number, string, string][] | null;
}

export interface VerifyOptions {
  /** A hash an auditor kept from earlier (an export's last hash): the chain must pass through it. */
  readonly throughHash?: string | null;
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

  /** Verifies one network's books (each network has its own sequence and chain). */
  async verify(network: string, options: VerifyOptions = {}): Promise<LedgerVerificationResult> {
    if (options.throughHash && !/^[0-9a-f]{64}$/.test(options.throughHash)) {
      throw validationFailed('throughHash', 'must be a transaction hash: 64 lower-case hexadecimal digits');
    }
    return this.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // The one report that must read every posting: the pool's 30 s statement bound is too
      // short for the whole-table sums of a long history, so this transaction gets its own.
      await tx.query(`SET LOCAL statement_timeout = ${VERIFY_STATEMENT_TIMEOUT_MS}`);
      return this.verifyWithin(tx, options, [network]);
    });
  }

  /**
   * The checks themselves, in a transaction the caller opened and set up: `verify` above, and
   * a restore, which verifies what it loaded before it commits (src/database/backup/).
   */
  async verifyWithin(tx: Sql, options: VerifyOptions = {}, networks?: readonly string[]): Promise<LedgerVerificationResult> {
    const ids = networks ?? (await tx.query<{ id: string }>('SELECT id FROM networks ORDER BY id')).map((r) => r.id);
    const total: LedgerVerificationResult = { ok: true, transactionsChecked: 0, accountsChecked: 0, firstProblem: null };
    for (const network of ids) {
      // A hash kept from earlier belongs to one network's chain: it is checked when one network is verified.
      const result = await this.verifyNetwork(tx, network, ids.length === 1 ? (options.throughHash ?? null) : null);
      total.transactionsChecked += result.transactionsChecked;
      total.accountsChecked += result.accountsChecked;
      if (result.firstProblem !== null && total.firstProblem === null) {
        total.ok = false;
        total.firstProblem = ids.length > 1 ? `network ${network}: ${result.firstProblem}` : result.firstProblem;
      }
    }
    return total;
  }

  private async verifyNetwork(tx: Sql, network: string, throughHash: string | null): Promise<LedgerVerificationResult> {
    const [{ count }] = (await tx.query<{ count: string }>('SELECT count(*) AS count FROM accounts WHERE network_id = $1', [network])) as [
      { count: string },
    ];
    const accountsChecked = Number(count);
    const balanceProblem = await this.balanceProblem(tx, network);
    const chain = await this.checkChain(tx, network, throughHash);
    const firstProblem = balanceProblem ?? chain.problem;
    return { ok: firstProblem === null, transactionsChecked: chain.checked, accountsChecked, firstProblem };
  }

  private async balanceProblem(tx: Sql, network: string): Promise<string | null> {
    const [posted] = await tx.query<{ id: string; stored: string; summed: string }>(
      `SELECT a.id, a.posted_minor AS stored, coalesce(s.total, 0) AS summed
         FROM accounts a
         LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM postings WHERE network_id = $1 GROUP BY account_id) s
           ON s.account_id = a.id
        WHERE a.network_id = $1 AND a.posted_minor <> coalesce(s.total, 0)
        ORDER BY a.id LIMIT 1`,
      [network],
    );
    if (posted)
      return `account ${posted.id}: stored posted balance ${posted.stored} (minor units) but its postings sum to ${posted.summed}`;

    const [running] = await tx.query<{ account_id: string; sequence: string; balance_after_minor: string; running: string }>(
      `SELECT account_id, sequence, balance_after_minor, running FROM (
         SELECT account_id, sequence, balance_after_minor,
                sum(amount_minor) OVER (PARTITION BY account_id ORDER BY sequence) AS running
           FROM postings WHERE network_id = $1) r
        WHERE balance_after_minor <> running ORDER BY sequence LIMIT 1`,
      [network],
    );
    if (running) {
      return `account ${running.account_id}: the posting of transaction #${running.sequence} records a running balance of ${running.balance_after_minor} but the postings up to it sum to ${running.running}`;
    }

    const [pending] = await tx.query<{ id: string }>(
      `SELECT a.id FROM accounts a
         LEFT JOIN (SELECT from_account_id AS id, sum(amount_minor) AS total FROM holds
                     WHERE network_id = $1 AND status = 'PENDING' GROUP BY 1) d ON d.id = a.id
         LEFT JOIN (SELECT to_account_id AS id, sum(amount_minor) AS total FROM holds
                     WHERE network_id = $1 AND status = 'PENDING' GROUP BY 1) c ON c.id = a.id
        WHERE a.network_id = $1 AND (a.pending_debits_minor <> coalesce(d.total, 0) OR a.pending_credits_minor <> coalesce(c.total, 0))
        ORDER BY a.id LIMIT 1`,
      [network],
    );
    if (pending) return `account ${pending.id}: stored pending balances differ from its pending holds`;

    const [currency] = await tx.query<{ currency_code: string; total: string }>(
      `SELECT currency_code, sum(posted_minor) AS total FROM accounts WHERE network_id = $1
        GROUP BY currency_code HAVING sum(posted_minor) <> 0 ORDER BY 1 LIMIT 1`,
      [network],
    );
    if (currency) return `currency ${currency.currency_code}: balances sum to ${currency.total} minor units, not zero`;
    return null;
  }

  private async checkChain(tx: Sql, network: string, throughHash: string | null): Promise<{ checked: number; problem: string | null }> {
    let previousHash = GENESIS_HASH;
    let previousPostedAt: Date | null = null;
    let expected = 1n;
    let checked = 0;
    let passedThrough = throughHash === null || throughHash === GENESIS_HASH;
    // The next page is asked for before this one is checked: PostgreSQL reads it while the hashes of this one are recomputed.
    let page = chainPage(tx, network, expected);
    for (;;) {
      const rows = await page;
      const last = rows[rows.length - 1];
      if (rows.length === CHAIN_PAGE && last) {
        page = chainPage(tx, network, BigInt(last.sequence) + 1n);
        // Not awaited when this page ends the check early; the transaction waits for it before it ends.
        page.catch(() => undefined);
      }
      for (const row of rows) {
        const sequence = BigInt(row.sequence);
        if (sequence !== expected) return { checked, problem: `transaction #${expected} is missing (next found is #${row.sequence})` };
        if (row.previous_hash !== previousHash) {
          return { checked, problem: `transaction #${row.sequence} (${row.id}) does not link to the hash of the transaction before it` };
        }
        const recomputed = recomputeHash(row, sequence);
        if (recomputed === null) return { checked, problem: `transaction #${row.sequence} (${row.id}) names an unknown hash recipe` };
        if (recomputed !== row.hash)
          return { checked, problem: `transaction #${row.sequence} (${row.id}): its content does not match its hash` };
        const shape = shapeProblem(row, previousPostedAt);
        if (shape) return { checked, problem: `transaction #${row.sequence} (${row.id}) ${shape}` };
        previousPostedAt = row.posted_at;
        previousHash = row.hash;
        if (row.hash === throughHash) passedThrough = true;
        expected++;
        checked++;
      }
      if (rows.length < CHAIN_PAGE) break;
    }
    const [head] = await tx.query<{ sequence: string; hash: string }>('SELECT sequence, hash FROM ledger_head WHERE network_id = $1', [
      network,
    ]);
    if (head && (BigInt(head.sequence) !== expected - 1n || head.hash !== previousHash)) {
      return { checked, problem: `the ledger head (#${head.sequence}) does not match the last transaction (#${expected - 1n})` };
    }
    if (!passedThrough) {
      return {
        checked,
        problem: `the chain does not pass through the hash ${throughHash}: history before it was rewritten, or it is not this ledger's`,
      };
    }
    return { checked, problem: null };
  }
}

/** Up to CHAIN_PAGE transactions of a network from `from` on, in sequence order, with their postings. */
function chainPage(tx: Sql, network: string, from: bigint): Promise<ChainRow[]> {
  return tx.query<ChainRow>(
    `SELECT t.network_id, t.id, t.sequence, t.kind, t.memo, t.metadata, t.metadata::text AS metadata_text, t.external_ref, t.api_key_id,
            t.posted_at, t.previous_hash, t.hash, t.hash_version, t.reverses_id,
            (SELECT json_agg(json_build_array(p.account_id, p.amount_minor::text, p.sequence::text, a.currency_code, p.idx,
                                              p.balance_after_minor::text, p.network_id) ORDER BY p.idx)
               FROM postings p LEFT JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
              WHERE p.network_id = t.network_id AND p.transaction_id = t.id) AS postings
       FROM transactions t WHERE t.network_id = $3 AND t.sequence >= $1 ORDER BY t.sequence LIMIT $2`,
    [from.toString(), CHAIN_PAGE, network],
  );
}

/** The hash of a stored transaction under the recipe it names; null for an unknown recipe. */
function recomputeHash(row: ChainRow, sequence: bigint): string | null {
  const postings = row.postings ?? [];
  const common = {
    id: row.id,
    sequence,
    kind: row.kind,
    postedAt: row.posted_at,
    previousHash: row.previous_hash,
    memo: row.memo,
    externalRef: row.external_ref,
    reversesId: row.reverses_id,
  };
  switch (row.hash_version) {
    case 1:
      return transactionHash({
        ...common,
        metadata: row.metadata,
        postings: postings.map(([accountId, amount]) => ({ accountId, amountMinor: BigInt(amount) })),
      });
    case 2:
      return transactionHashV2({
        ...common,
        networkId: row.network_id,
        metadataText: row.metadata_text,
        apiKeyId: row.api_key_id,
        postings: postings.map(([accountId, amount, postingSequence, , idx, balanceAfter]) => ({
          idx,
          accountId,
          amountMinor: BigInt(amount),
          balanceAfterMinor: BigInt(balanceAfter),
          sequence: BigInt(postingSequence),
        })),
      });
    default:
      return null;
  }
}

/** What reports rely on besides the hash: balanced per currency, each account once, the sequence on every posting, time in order. */
function shapeProblem(row: ChainRow, previousPostedAt: Date | null): string | null {
  if (previousPostedAt && compareInstants(row.posted_at, previousPostedAt) < 0) {
    return `is dated ${isoMicros(row.posted_at)}, before the transaction it follows (${isoMicros(previousPostedAt)})`;
  }
  if (!(TRANSACTION_KINDS as readonly string[]).includes(row.kind)) return `has the unknown kind ${JSON.stringify(row.kind)}`;
  const postings = row.postings ?? [];
  if (postings.length < 2) return 'has fewer than two postings';
  const accounts = new Set<string>();
  const sums = new Map<string, bigint>();
  for (const [index, [accountId, amount, sequence, currency, idx, , network]] of postings.entries()) {
    if (network !== row.network_id) return `has a posting of account ${accountId} stored in another network`;
    if (idx !== index) return `has its postings numbered out of order (posting ${index} is numbered ${idx})`;
    if (currency === null) return `has a posting of account ${accountId}, which does not exist`;
    if (BigInt(amount) === 0n) return `has a posting of zero to account ${accountId}`;
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
