import { Injectable } from '@nestjs/common';
import { Database, type Sql } from '../../database/database';
import { exchangeEvent, type LedgerEvent, writeLedgerEvents } from '../../ledger/events/ledger-events';
import { fromMinor } from '../../ledger/money/amount';
import type { HoldRecord } from '../../ledger/posting/posting.types';
import { type ExchangeRecord, ExchangeRole, ExchangeStatus } from './exchange.record';

interface ExchangeRow {
  network_id: string;
  id: string;
  seq: string;
  provider_account_id: string;
  receiver_account_id: string;
  hours_minor: string;
  description: string;
  status: ExchangeStatus;
  hold_id: string | null;
  transaction_id: string | null;
  offer_id: string | null;
  request_id: string | null;
  dispute_reason: string | null;
  created_at: Date;
  resolved_at: Date | null;
  scale: number;
}

/**
 * A pending claim whose hold has passed its deadline reads as EXPIRED (ended at the deadline) even
 * before a posting group has stored it so, as its hold does: no read ever shows it pending.
 */
const PAST_DEADLINE = `e.status = 'PENDING' AND h.expires_at <= now()`;
const LIVE_STATUS = `CASE WHEN ${PAST_DEADLINE} THEN 'EXPIRED' ELSE e.status END`;
const EXCHANGE_COLUMNS = `e.network_id, e.id, e.seq, e.provider_account_id, e.receiver_account_id, e.hours_minor, e.description,
         ${LIVE_STATUS} AS status, e.hold_id, e.transaction_id, e.offer_id, e.request_id, e.dispute_reason, e.created_at,
         CASE WHEN ${PAST_DEADLINE} THEN h.expires_at ELSE e.resolved_at END AS resolved_at, c.scale`;
const WITH_SCALE = `JOIN accounts a ON a.network_id = e.network_id AND a.id = e.receiver_account_id
    JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
    LEFT JOIN holds h ON h.network_id = e.network_id AND h.id = e.hold_id`;
const SELECT_EXCHANGES = `SELECT ${EXCHANGE_COLUMNS} FROM exchanges e ${WITH_SCALE}`;

function toRecord(row: ExchangeRow): ExchangeRecord {
  return {
    id: row.id,
    seq: row.seq,
    providerAccountId: row.provider_account_id,
    receiverAccountId: row.receiver_account_id,
    hoursMinor: BigInt(row.hours_minor),
    scale: row.scale,
    description: row.description,
    status: row.status,
    holdId: row.hold_id,
    transactionId: row.transaction_id,
    offerId: row.offer_id,
    requestId: row.request_id,
    disputeReason: row.dispute_reason,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

export interface NewExchange {
  readonly networkId: string;
  readonly id: string;
  readonly providerAccountId: string;
  readonly receiverAccountId: string;
  readonly hoursMinor: bigint;
  readonly description: string;
  readonly status: ExchangeStatus;
  readonly holdId: string | null;
  readonly transactionId: string | null;
  readonly offerId: string | null;
  readonly requestId: string | null;
  readonly recordedBy: string;
}

export interface ExchangeQuery {
  readonly accountId: string;
  readonly status: ExchangeStatus | null;
  /** Null: both sides. */
  readonly role: ExchangeRole | null;
  readonly afterSeq: string | null;
  readonly limit: number;
}

/**
 * The SQL of exchanges. Writes take the posting transaction (`tx`): an exchange row is written
 * exactly when its hold or transaction is, and changes status together with its hold.
 */
@Injectable()
export class ExchangeRepository {
  constructor(private readonly db: Database) {}

  /** A provider's claim (PENDING) is announced to webhooks in the same transaction (EXCHANGE_PENDING). */
  async insert(tx: Sql, e: NewExchange): Promise<void> {
    const rows = await tx.query<ExchangeRow>(
      `WITH e AS (
         INSERT INTO exchanges (network_id, id, provider_account_id, receiver_account_id, hours_minor, description, status, hold_id,
                                transaction_id, offer_id, request_id, recorded_by, resolved_at)
         VALUES ($12, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $6 = 'PENDING' THEN NULL ELSE now() END)
         RETURNING *)
       SELECT ${EXCHANGE_COLUMNS} FROM e ${WITH_SCALE}`,
      [
        e.id,
        e.providerAccountId,
        e.receiverAccountId,
        e.hoursMinor.toString(),
        e.description,
        e.status,
        e.holdId,
        e.transactionId,
        e.offerId,
        e.requestId,
        e.recordedBy,
        e.networkId,
      ],
    );
    const inserted = rows[0];
    if (inserted?.status === ExchangeStatus.PENDING) await announce(tx, e.networkId, toRecord(inserted), inserted.created_at);
  }

  async confirm(tx: Sql, network: string, id: string, transactionId: string): Promise<void> {
    await this.resolve(tx, `status = 'CONFIRMED', transaction_id = $3`, [network, id, transactionId]);
  }

  async dispute(tx: Sql, network: string, id: string, reason: string): Promise<void> {
    await this.resolve(tx, `status = 'DISPUTED', dispute_reason = $3`, [network, id, reason]);
  }

  async withdraw(tx: Sql, network: string, id: string): Promise<void> {
    await this.resolve(tx, `status = 'WITHDRAWN'`, [network, id]);
  }

  /**
   * Inside the posting group that released them: the claims whose holds expired end EXPIRED at
   * their deadline, each announced to webhooks (EXCHANGE_RESOLVED). Other holds are no claims.
   */
  async expire(tx: Sql, network: string, holds: readonly HoldRecord[]): Promise<void> {
    const claims = holds.filter((h) => h.kind === 'EXCHANGE' && h.expiresAt !== null);
    if (claims.length === 0) return;
    const rows = await tx.query<ExchangeRow>(
      `WITH e AS (UPDATE exchanges x SET status = 'EXPIRED', resolved_at = v.deadline
                    FROM unnest($2::uuid[], $3::timestamptz[]) AS v(hold_id, deadline)
                   WHERE x.network_id = $1 AND x.hold_id = v.hold_id AND x.status = 'PENDING' RETURNING x.*)
       SELECT ${EXCHANGE_COLUMNS} FROM e ${WITH_SCALE}`,
      [network, claims.map((h) => h.id), claims.map((h) => h.expiresAt)],
    );
    if (rows.length > 0)
      await writeLedgerEvents(
        tx,
        network,
        rows.map((row) => eventOf(toRecord(row), row.resolved_at ?? new Date())),
      );
  }

  /**
   * How many claims the provider account has pending, counted up to `atMost` (what the bound
   * needs). Inside a posting group (`tx`) the count is exact: the network's head lock orders it
   * after every claim committed before and before every claim after.
   */
  async pendingClaims(sql: Sql | null, network: string, providerAccountId: string, atMost: number): Promise<number> {
    const [row] = await (sql ?? this.db).query<{ count: number }>(
      `SELECT count(*)::int AS count FROM (
         SELECT 1 FROM exchanges e JOIN holds h ON h.network_id = e.network_id AND h.id = e.hold_id
          WHERE e.network_id = $1 AND e.provider_account_id = $2 AND e.status = 'PENDING'
            AND (h.expires_at IS NULL OR h.expires_at > clock_timestamp())
          LIMIT $3) pending`,
      [network, providerAccountId, atMost],
    );
    return row?.count ?? 0;
  }

  /** Ends a pending claim and announces it to webhooks in the same transaction (EXCHANGE_RESOLVED). */
  private async resolve(tx: Sql, assignments: string, params: unknown[]): Promise<void> {
    const rows = await tx.query<ExchangeRow>(
      `WITH e AS (UPDATE exchanges SET ${assignments}, resolved_at = now()
                   WHERE network_id = $1 AND id = $2 AND status = 'PENDING' RETURNING *)
       SELECT ${EXCHANGE_COLUMNS} FROM e ${WITH_SCALE}`,
      params,
    );
    // The posting module has just resolved the hold under lock, so the exchange must still be pending.
    const [row] = rows;
    if (rows.length !== 1 || !row) throw new Error(`exchange ${String(params[1])} was not pending when its hold was resolved`);
    await announce(tx, row.network_id, toRecord(row), row.resolved_at ?? new Date());
  }

  async findByIds(network: string, ids: readonly string[]): Promise<ExchangeRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<ExchangeRow>(`${SELECT_EXCHANGES} WHERE e.network_id = $1 AND e.id = ANY($2::uuid[])`, [network, ids]);
    return rows.map(toRecord);
  }

  async findById(network: string, id: string): Promise<ExchangeRecord | undefined> {
    const [exchange] = await this.findByIds(network, [id]);
    return exchange;
  }

  /** The exchange recorded with this hold or transaction (what an idempotent replay returns). */
  async findByLedgerId(network: string, id: string): Promise<ExchangeRecord | undefined> {
    const [row] = await this.db.query<ExchangeRow>(
      `${SELECT_EXCHANGES} WHERE e.network_id = $2 AND (e.hold_id = $1 OR e.transaction_id = $1)`,
      [id, network],
    );
    return row ? toRecord(row) : undefined;
  }

  /**
   * Exchanges the account gave or received (or one side: `role`), oldest first, keyset on `seq`;
   * each side read in index order. The status is the one reads show (a claim past its deadline is EXPIRED).
   */
  async page(network: string, q: ExchangeQuery): Promise<ExchangeRecord[]> {
    const side = (column: string) =>
      `(${SELECT_EXCHANGES} WHERE e.network_id = $5 AND e.${column} = $1 AND ($2::bigint IS NULL OR e.seq > $2)
          AND ($3::text IS NULL OR ${LIVE_STATUS} = $3)
        ORDER BY e.seq LIMIT $4)`;
    const sides = [
      ...(q.role === ExchangeRole.RECEIVER ? [] : [side('provider_account_id')]),
      ...(q.role === ExchangeRole.PROVIDER ? [] : [side('receiver_account_id')]),
    ];
    const rows = await this.db.query<ExchangeRow>(`SELECT * FROM (${sides.join(' UNION ALL ')}) sides ORDER BY seq LIMIT $4`, [
      q.accountId,
      q.afterSeq,
      q.status,
      q.limit,
      network,
    ]);
    return rows.map(toRecord);
  }
}

async function announce(tx: Sql, network: string, exchange: ExchangeRecord, at: Date): Promise<void> {
  await writeLedgerEvents(tx, network, [eventOf(exchange, at)]);
}

/** The webhook event of an exchange: its hours as decimal text, as the API gives them. */
function eventOf(exchange: ExchangeRecord, at: Date): LedgerEvent {
  return exchangeEvent({ ...exchange, hours: fromMinor(exchange.hoursMinor, exchange.scale) }, at);
}
