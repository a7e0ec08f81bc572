import { Injectable } from '@nestjs/common';
import type { Sql } from '../../database/database';
import { notFound } from '../../common/domain-error';
import { Database } from '../../database/database';
import type { Currency, CurrencyKind } from './currency.model';

interface CurrencyRow {
  code: string;
  name: string;
  kind: CurrencyKind;
  scale: number;
  issuer_party_id: string | null;
}

function toCurrency(row: CurrencyRow): Currency {
  return { code: row.code, name: row.name, kind: row.kind, scale: row.scale, issuerPartyId: row.issuer_party_id };
}

/**
 * Currencies never change once created, so each instance keeps them in memory after the
 * first read; a miss always goes to the database, so a currency created elsewhere is found.
 */
@Injectable()
export class CurrencyRepository {
  private readonly cache = new Map<string, Currency>();

  constructor(private readonly db: Database) {}

  async find(code: string): Promise<Currency | undefined> {
    const cached = this.cache.get(code);
    if (cached) return cached;
    const [row] = await this.db.query<CurrencyRow>('SELECT code, name, kind, scale, issuer_party_id FROM currencies WHERE code = $1', [
      code,
    ]);
    if (!row) return undefined;
    const currency = toCurrency(row);
    this.cache.set(code, currency);
    return currency;
  }

  /** The currency, or NOT_FOUND. */
  async require(code: string): Promise<Currency> {
    const currency = await this.find(code);
    if (!currency) throw notFound('currency', code);
    return currency;
  }

  async all(): Promise<Currency[]> {
    const rows = await this.db.query<CurrencyRow>('SELECT code, name, kind, scale, issuer_party_id FROM currencies ORDER BY code');
    return rows.map(toCurrency);
  }

  async insert(tx: Sql, currency: Currency): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO currencies (code, name, kind, scale, issuer_party_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (network_id, code) DO NOTHING RETURNING code`,
      [currency.code, currency.name, currency.kind, currency.scale, currency.issuerPartyId],
    );
    return rows.length === 1;
  }
}
