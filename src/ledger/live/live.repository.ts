import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';

/** The reads of the live feed. */
@Injectable()
export class LiveRepository {
  constructor(private readonly db: Database) {}

  /** The sequence of the last posted transaction (a plain read: the head row is not locked). */
  async headSequence(network: string): Promise<bigint> {
    const [row] = await this.db.query<{ sequence: string }>('SELECT sequence FROM ledger_head WHERE network_id = $1', [network]);
    if (!row) throw new Error(`network ${network} has no ledger head`);
    return BigInt(row.sequence);
  }

  /** Ids of transactions touching the accounts after a sequence, in ledger order (postings_account_sequence). */
  async transactionsSince(
    network: string,
    accountIds: readonly string[],
    afterSequence: bigint,
    limit: number,
  ): Promise<{ id: string; sequence: bigint }[]> {
    const rows = await this.db.query<{ transaction_id: string; sequence: string }>(
      `SELECT DISTINCT p.sequence, p.transaction_id FROM postings p
        WHERE p.network_id = $4 AND p.account_id = ANY($1::uuid[]) AND p.sequence > $2 ORDER BY p.sequence LIMIT $3`,
      [accountIds, afterSequence.toString(), limit, network],
    );
    return rows.map((r) => ({ id: r.transaction_id, sequence: BigInt(r.sequence) }));
  }

  /** Which of these keys have been revoked. */
  async revokedAmong(apiKeyIds: readonly string[]): Promise<string[]> {
    if (apiKeyIds.length === 0) return [];
    const rows = await this.db.query<{ id: string }>('SELECT id FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NOT NULL', [
      apiKeyIds,
    ]);
    return rows.map((r) => r.id);
  }
}
