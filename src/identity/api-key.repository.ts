import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import type { Role } from './caller';

export interface ApiKeyRow {
  id: string;
  role: Role;
  party_id: string | null;
  label: string | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, role, party_id, label, revoked_at';

/** Notified with a key's id when it is revoked. */
export const KEYS_CHANNEL = 'ledger_api_key_revoked';

/** The SQL of API keys. Only hashes are stored; the secret is shown once, at creation. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly db: Database) {}

  async findByHash(hash: Buffer): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1`, [hash]);
    return row;
  }

  async findById(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return row;
  }

  async insert(id: string, hash: Buffer, role: Role, partyId: string | null, label: string | null): Promise<ApiKeyRow> {
    const [row] = await this.db.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, key_hash, role, party_id, label) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key_hash) DO UPDATE SET key_hash = EXCLUDED.key_hash
       RETURNING ${COLUMNS}`,
      [id, hash, role, partyId, label],
    );
    if (!row) throw new Error('inserting an API key returned no row');
    return row;
  }

  /** Revokes a key and tells every instance at commit (their key caches drop it). */
  async revoke(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(
      `WITH revoked AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS})
       SELECT revoked.*, pg_notify('${KEYS_CHANNEL}', revoked.id::text) FROM revoked`,
      [id],
    );
    return row;
  }
}
