import { Injectable } from '@nestjs/common';
import { Database, type Sql } from '../../database/database';
import type { ListingKind, ListingRecord } from './listing.record';
import { LISTING_COLUMNS as COLUMNS, listingPageSql, type ListingQuery } from './listing.sql';

interface ListingRow {
  id: string;
  seq: string;
  kind: ListingKind;
  party_id: string;
  title: string;
  category: string;
  description: string | null;
  hours_minor: string | null;
  created_at: Date;
  closed_at: Date | null;
  exchange_id: string | null;
}

function toListingRecord(row: ListingRow): ListingRecord {
  return {
    id: row.id,
    seq: row.seq,
    kind: row.kind,
    partyId: row.party_id,
    title: row.title,
    category: row.category,
    description: row.description,
    hoursMinor: row.hours_minor === null ? null : BigInt(row.hours_minor),
    createdAt: row.created_at,
    closedAt: row.closed_at,
    exchangeId: row.exchange_id,
  };
}

export interface NewListing {
  readonly networkId: string;
  readonly id: string;
  readonly kind: ListingKind;
  readonly partyId: string;
  readonly title: string;
  readonly category: string;
  readonly description: string | null;
  readonly hoursMinor: bigint | null;
}

/** The SQL of offers and requests. */
@Injectable()
export class ListingRepository {
  constructor(private readonly db: Database) {}

  async insert(listing: NewListing): Promise<ListingRecord> {
    const [row] = await this.db.query<ListingRow>(
      `INSERT INTO listings (network_id, id, kind, party_id, title, category, description, hours_minor)
       VALUES ($8, $1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [
        listing.id,
        listing.kind,
        listing.partyId,
        listing.title,
        listing.category,
        listing.description,
        listing.hoursMinor?.toString() ?? null,
        listing.networkId,
      ],
    );
    if (!row) throw new Error('inserting a listing returned no row');
    return toListingRecord(row);
  }

  async findByIds(network: string, ids: readonly string[]): Promise<ListingRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<ListingRow>(`SELECT ${COLUMNS} FROM listings WHERE network_id = $1 AND id = ANY($2::uuid[])`, [
      network,
      ids,
    ]);
    return rows.map(toListingRecord);
  }

  async findById(network: string, id: string): Promise<ListingRecord | undefined> {
    const [listing] = await this.findByIds(network, [id]);
    return listing;
  }

  /** Closes a listing (once: closing again keeps the first time). */
  async close(network: string, id: string): Promise<ListingRecord | undefined> {
    const [row] = await this.db.query<ListingRow>(
      `UPDATE listings SET closed_at = coalesce(closed_at, now()) WHERE network_id = $2 AND id = $1 RETURNING ${COLUMNS}`,
      [id, network],
    );
    return row ? toListingRecord(row) : undefined;
  }

  /**
   * Marks what an exchange fulfilled, inside the exchange's own transaction: the request is
   * closed and keeps the first exchange that fulfilled it; the offer stays open and points at
   * its latest exchange.
   */
  async fulfil(tx: Sql, network: string, exchangeId: string, offerId: string | null, requestId: string | null): Promise<void> {
    if (offerId) await tx.query('UPDATE listings SET exchange_id = $2 WHERE network_id = $3 AND id = $1', [offerId, exchangeId, network]);
    if (requestId) {
      await tx.query(
        `UPDATE listings SET exchange_id = coalesce(exchange_id, $2), closed_at = coalesce(closed_at, now())
          WHERE network_id = $3 AND id = $1`,
        [requestId, exchangeId, network],
      );
    }
  }

  async page(q: ListingQuery): Promise<ListingRecord[]> {
    const { text, params } = listingPageSql(q);
    const rows = await this.db.query<ListingRow>(text, params);
    return rows.map(toListingRecord);
  }
}
