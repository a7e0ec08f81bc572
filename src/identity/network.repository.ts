import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import type { NetworkRecord } from './network.record';

interface NetworkRow {
  id: string;
  slug: string;
  name: string;
  created_at: Date;
}

const COLUMNS = 'id, slug, name, created_at';

function toNetworkRecord(row: NetworkRow): NetworkRecord {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: row.created_at };
}

/** The SQL of networks: the one table whose rows are not themselves of a network. */
@Injectable()
export class NetworkRepository {
  constructor(private readonly db: Database) {}

  async findByIds(ids: readonly string[]): Promise<NetworkRecord[]> {
    return (await this.db.query<NetworkRow>(`SELECT ${COLUMNS} FROM networks WHERE id = ANY($1::uuid[])`, [ids])).map(toNetworkRecord);
  }

  /** Every network, for deployment admins: the one read that spans networks. */
  async all(): Promise<NetworkRecord[]> {
    return (await this.db.query<NetworkRow>(`SELECT ${COLUMNS} FROM networks ORDER BY created_at, slug`)).map(toNetworkRecord);
  }

  /**
   * A network; undefined when the slug is taken. The database gives it the head of its hash
   * chain (sequence 0, the genesis hash) in the same statement (trigger networks_head, 0011).
   */
  async insert(id: string, slug: string, name: string): Promise<NetworkRecord | undefined> {
    const [row] = await this.db.query<NetworkRow>(
      `INSERT INTO networks (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING ${COLUMNS}`,
      [id, slug, name],
    );
    return row ? toNetworkRecord(row) : undefined;
  }
}
