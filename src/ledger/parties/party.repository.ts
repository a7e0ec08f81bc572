import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';
import type { PartyKind, PartyRecord } from './party.record';
/** Notified with an organisation's id when its members change (identity drops its cache). */
import { MEMBERSHIP_CHANNEL } from '../../identity/directory';

interface PartyRow {
  id: string;
  kind: PartyKind;
  name: string;
  handle: string | null;
}

@Injectable()
export class PartyRepository {
  constructor(private readonly db: Database) {}

  async findById(network: string, id: string): Promise<PartyRecord | undefined> {
    const [row] = await this.db.query<PartyRow>('SELECT id, kind, name, handle FROM parties WHERE network_id = $1 AND id = $2', [
      network,
      id,
    ]);
    return row;
  }

  async findByIds(network: string, ids: readonly string[]): Promise<PartyRecord[]> {
    return this.db.query<PartyRow>('SELECT id, kind, name, handle FROM parties WHERE network_id = $1 AND id = ANY($2::uuid[])', [
      network,
      ids,
    ]);
  }

  async insert(network: string, party: PartyRecord): Promise<PartyRecord> {
    const [row] = await this.db.query<PartyRow>(
      'INSERT INTO parties (network_id, id, kind, name, handle) VALUES ($1, $2, $3, $4, $5) RETURNING id, kind, name, handle',
      [network, party.id, party.kind, party.name, party.handle],
    );
    if (!row) throw new Error('inserting a party returned no row');
    return row;
  }

  /** Keyset page ordered by id. */
  async page(network: string, kind: PartyKind | null, afterId: string | null, limit: number): Promise<PartyRecord[]> {
    return this.db.query<PartyRow>(
      `SELECT id, kind, name, handle FROM parties
        WHERE network_id = $4 AND ($1::text IS NULL OR kind = $1) AND ($2::uuid IS NULL OR id > $2)
        ORDER BY id LIMIT $3`,
      [kind, afterId, limit, network],
    );
  }

  /** Records a membership and tells every instance (their treasurer scopes refresh). */
  async addMember(network: string, organisationId: string, memberId: string): Promise<void> {
    await this.db.query(
      `WITH added AS (INSERT INTO party_memberships (network_id, organisation_id, member_id) VALUES ($3, $1, $2)
                      ON CONFLICT DO NOTHING RETURNING 1)
       SELECT pg_notify('${MEMBERSHIP_CHANNEL}', $1::text) FROM (SELECT count(*) FROM added) AS done`,
      [organisationId, memberId, network],
    );
  }

  async memberIds(network: string, organisationId: string): Promise<string[]> {
    const rows = await this.db.query<{ member_id: string }>(
      'SELECT member_id FROM party_memberships WHERE network_id = $1 AND organisation_id = $2',
      [network, organisationId],
    );
    return rows.map((r) => r.member_id);
  }

  async isMember(network: string, organisationId: string, memberId: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM party_memberships WHERE network_id = $1 AND organisation_id = $2 AND member_id = $3', [
      network,
      organisationId,
      memberId,
    ]);
    return rows.length > 0;
  }
}
