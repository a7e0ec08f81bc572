import { Injectable } from '@nestjs/common';
import type { Sql } from '../../database/database';
import { notFound } from '../../common/domain-error';
import { Database } from '../../database/database';
import type { CurrencyKind } from '../posting/posting.types';
import type { CurrencyRecord } from './currency.record';

interface CurrencyRow {
  network_id: string;
  code: string;
  name: string;
  kind: CurrencyKind;
  scale: number;
  issuer_party_id: string | null;
}

function toCurrencyRecord(row: CurrencyRow): CurrencyRecord {
  return {
    networkId: row.network_id,
    code: row.code,
    name: row.name,
    kind: row.kind,
    scale: row.scale,
    issuerPartyId: row.issuer_party_id,
  };
}

/** A currency's defaults for accounts opened later (SPEC B.4); null: none set. */
export interface CurrencyDefaults {
  readonly creditLimitMinor: bigint | null;
  readonly maxBalanceMinor: bigint | null;
}

const NO_DEFAULTS: CurrencyDefaults = { creditLimitMinor: null, maxBalanceMinor: null };

function bigintOrNull(text: string | null): bigint | null {
  return text === null ? null : BigInt(text);
}

const COLUMNS = 'network_id, code, name, kind, scale, issuer_party_id';
/** Currencies kept in memory at most (hundreds of networks with a few currencies each). */
const MAX_CACHED = 100_000;

/**
 * A currency's code, kind, scale and issuer never change once created, so each instance keeps them in memory after the
 * first read; a miss always goes to the database, so a currency created elsewhere is found.
 */
@Injectable()
export class CurrencyRepository {
  private readonly cache = new Map<string, CurrencyRecord>();

  constructor(private readonly db: Database) {}

  async find(network: string, code: string): Promise<CurrencyRecord | undefined> {
    const key = `${network}/${code}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const [row] = await this.db.query<CurrencyRow>(`SELECT ${COLUMNS} FROM currencies WHERE network_id = $1 AND code = $2`, [
      network,
      code,
    ]);
    if (!row) return undefined;
    const currency = toCurrencyRecord(row);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, currency);
    return currency;
  }

  /** The currency, or NOT_FOUND. */
  async require(network: string, code: string): Promise<CurrencyRecord> {
    const currency = await this.find(network, code);
    if (!currency) throw notFound('currency', code);
    return currency;
  }

  async all(network: string): Promise<CurrencyRecord[]> {
    const rows = await this.db.query<CurrencyRow>(`SELECT ${COLUMNS} FROM currencies WHERE network_id = $1 ORDER BY code`, [network]);
    return rows.map(toCurrencyRecord);
  }

  async insert(tx: Sql, currency: CurrencyRecord): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO currencies (network_id, code, name, kind, scale, issuer_party_id) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (network_id, code) DO NOTHING RETURNING code`,
      [currency.networkId, currency.code, currency.name, currency.kind, currency.scale, currency.issuerPartyId],
    );
    return rows.length === 1;
  }

  /** Defaults change (setCurrencyDefaults), so they are read fresh, never from the cache. */
  async defaultsOf(network: string, codes: readonly string[]): Promise<Map<string, CurrencyDefaults>> {
    const rows = await this.db.query<{ code: string; credit: string | null; max: string | null }>(
      `SELECT code, default_credit_limit_minor AS credit, default_max_balance_minor AS max FROM currencies
        WHERE network_id = $2 AND code = ANY($1::text[])`,
      [codes, network],
    );
    return new Map(rows.map((r) => [r.code, { creditLimitMinor: bigintOrNull(r.credit), maxBalanceMinor: bigintOrNull(r.max) }]));
  }

  async defaults(network: string, code: string): Promise<CurrencyDefaults> {
    return (await this.defaultsOf(network, [code])).get(code) ?? NO_DEFAULTS;
  }

  /** Sets both defaults (null clears one); returns whether the currency exists. */
  async setDefaults(sql: Sql, network: string, code: string, defaults: CurrencyDefaults): Promise<boolean> {
    const rows = await sql.query(
      `UPDATE currencies SET default_credit_limit_minor = $2, default_max_balance_minor = $3
        WHERE network_id = $4 AND code = $1 RETURNING code`,
      [code, defaults.creditLimitMinor?.toString() ?? null, defaults.maxBalanceMinor?.toString() ?? null, network],
    );
    return rows.length === 1;
  }
}
