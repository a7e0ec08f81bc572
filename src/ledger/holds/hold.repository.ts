import { Injectable } from '@nestjs/common';
import { isoMicros } from '../../common/instant';
import { Database } from '../../database/database';
import type { HoldStatus, TransactionKind } from '../posting/posting.types';
import type { HoldRecord } from './hold.record';

interface HoldRow {
  id: string;
  from_account_id: string;
  to_account_id: string;
  amount_minor: string;
  status: HoldStatus;
  kind: TransactionKind;
  memo: string | null;
  expires_at: Date | null;
  transaction_id: string | null;
  captured_minor: string | null;
  created_at: Date;
  resolved_at: Date | null;
  scale: number;
}

/**
 * A pending hold whose expiry has passed reads as EXPIRED (released at its expiry) even before
 * the sweeper has released it, so no read ever shows an expired hold as pending.
 */
const LIVE_STATUS = `CASE WHEN h.status = 'PENDING' AND h.expires_at <= now() THEN 'EXPIRED' ELSE h.status END`;
const SELECT_HOLDS = `
  SELECT h.id, h.from_account_id, h.to_account_id, h.amount_minor, h.kind, h.memo, h.expires_at, h.transaction_id,
         h.captured_minor, h.created_at, c.scale, ${LIVE_STATUS} AS status,
         CASE WHEN h.status = 'PENDING' AND h.expires_at <= now() THEN h.expires_at ELSE h.resolved_at END AS resolved_at
    FROM holds h
    JOIN accounts a ON a.network_id = h.network_id AND a.id = h.from_account_id
    JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code`;

function toRecord(row: HoldRow): HoldRecord {
  return {
    id: row.id,
    fromAccountId: row.from_account_id,
    toAccountId: row.to_account_id,
    amountMinor: BigInt(row.amount_minor),
    scale: row.scale,
    status: row.status,
    kind: row.kind,
    memo: row.memo,
    expiresAt: row.expires_at,
    transactionId: row.transaction_id,
    capturedMinor: row.captured_minor === null ? null : BigInt(row.captured_minor),
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

export interface HoldPageQuery {
  readonly accountId: string;
  readonly status: HoldStatus | null;
  readonly after: { readonly createdAt: Date; readonly id: string } | null;
  readonly limit: number;
}

/** Reads of holds. Holds are written by the posting module only. */
@Injectable()
export class HoldRepository {
  constructor(private readonly db: Database) {}

  async findByIds(network: string, ids: readonly string[]): Promise<HoldRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<HoldRow>(`${SELECT_HOLDS} WHERE h.network_id = $1 AND h.id = ANY($2::uuid[])`, [network, ids]);
    return rows.map(toRecord);
  }

  async findById(network: string, id: string): Promise<HoldRecord | undefined> {
    const [hold] = await this.findByIds(network, [id]);
    return hold;
  }

  /**
   * Holds on an account as payer or payee, oldest first, keyset on (created_at, id). Each side
   * is read in index order (holds_from, holds_to) and the two are merged, so a page costs the
   * same however many holds the account has.
   */
  async page(network: string, q: HoldPageQuery): Promise<HoldRecord[]> {
    const side = (column: string) =>
      `(${SELECT_HOLDS} WHERE h.network_id = $6 AND h.${column} = $1 AND ($2::timestamptz IS NULL OR (h.created_at, h.id) > ($2, $3::uuid))
          AND ($4::text IS NULL OR ${LIVE_STATUS} = $4)
        ORDER BY h.created_at, h.id LIMIT $5)`;
    const rows = await this.db.query<HoldRow>(
      `SELECT * FROM (${side('from_account_id')} UNION ALL ${side('to_account_id')}) both_sides ORDER BY created_at, id LIMIT $5`,
      [q.accountId, q.after ? isoMicros(q.after.createdAt) : null, q.after?.id ?? null, q.status, q.limit, network],
    );
    return rows.map(toRecord);
  }

  /**
   * The networks with a pending hold past its expiry, at most `limit` (probes of
   * holds_pending_expiry, one per network: the sweeper's one read across networks).
   */
  async networksWithExpired(limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT n.id FROM networks n
        WHERE EXISTS (SELECT 1 FROM holds h WHERE h.network_id = n.id AND h.status = 'PENDING' AND h.expires_at <= now())
        ORDER BY n.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Whether any pending hold of the network has passed its expiry. */
  async anyExpired(network: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM holds WHERE network_id = $1 AND status = 'PENDING' AND expires_at <= now() LIMIT 1`, [
      network,
    ]);
    return rows.length > 0;
  }
}
