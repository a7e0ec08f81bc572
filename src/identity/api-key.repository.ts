import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import type { ApiKeyRecord } from './api-key.record';
import type { Role } from './caller';

interface ApiKeyRow {
  id: string;
  role: Role;
  party_id: string | null;
  label: string | null;
  revoked_at: Date | null;
  network_id: string;
  deployment_admin: boolean;
}

const COLUMNS = 'id, role, party_id, label, revoked_at, network_id, deployment_admin';

function toApiKeyRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    role: row.role,
    partyId: row.party_id,
    label: row.label,
    revokedAt: row.revoked_at,
    networkId: row.network_id,
    deploymentAdmin: row.deployment_admin,
  };
}

export interface NewApiKey {
  readonly id: string;
  readonly hash: Buffer;
  readonly role: Role;
  readonly partyId: string | null;
  readonly label: string | null;
  readonly networkId: string;
  readonly deploymentAdmin: boolean;
}

/** Notified with a key's id when it is revoked. */
export const KEYS_CHANNEL = 'ledger_api_key_revoked';

/** The SQL of API keys. Only hashes are stored; the secret is shown once, at creation. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly db: Database) {}

  /** The one lookup made before the network is known (see docs/scaling.md). */
  async findByHash(hash: Buffer): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1`, [hash]);
    return row ? toApiKeyRecord(row) : undefined;
  }

  /** A key of `network`; null: of any network (a deployment admin's reach). */
  async findById(network: string | null, id: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM api_keys WHERE id = $2 AND ($1::uuid IS NULL OR network_id = $1)`,
      [network, id],
    );
    return row ? toApiKeyRecord(row) : undefined;
  }

  async insert(key: NewApiKey): Promise<ApiKeyRecord> {
    const [row] = await this.db.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, key_hash, role, party_id, label, network_id, deployment_admin) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (key_hash) DO UPDATE SET key_hash = EXCLUDED.key_hash
       RETURNING ${COLUMNS}`,
      [key.id, key.hash, key.role, key.partyId, key.label, key.networkId, key.deploymentAdmin],
    );
    if (!row) throw new Error('inserting an API key returned no row');
    return toApiKeyRecord(row);
  }

  /**
   * The bootstrap key (ADMIN_API_KEY): an ADMIN of `network` and a deployment admin, also when
   * the key was registered before deployment admins existed.
   */
  async ensureDeploymentAdmin(id: string, hash: Buffer, network: string, label: string): Promise<void> {
    await this.db.query(
      `INSERT INTO api_keys (id, key_hash, role, label, network_id, deployment_admin) VALUES ($1, $2, 'ADMIN', $3, $4, true)
       ON CONFLICT (key_hash) DO UPDATE SET deployment_admin = true
        WHERE api_keys.role = 'ADMIN' AND api_keys.network_id = $4 AND api_keys.revoked_at IS NULL`,
      [id, hash, label, network],
    );
  }

  /** Revokes a key of `network` (null: of any network) and tells every instance at commit (their key caches drop it). */
  async revoke(network: string | null, id: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.db.query<ApiKeyRow>(
      `WITH revoked AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                         WHERE id = $2 AND ($1::uuid IS NULL OR network_id = $1) RETURNING ${COLUMNS})
       SELECT revoked.*, pg_notify('${KEYS_CHANNEL}', revoked.id::text) FROM revoked`,
      [network, id],
    );
    return row ? toApiKeyRecord(row) : undefined;
  }
}
