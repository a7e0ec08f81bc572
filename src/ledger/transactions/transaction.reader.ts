import { Injectable } from '@nestjs/common';
import { isoMicros } from '../../common/instant';
import { Database, type Sql } from '../../database/database';
import { fromMinor } from '../money/amount';
import type { TransactionColumns, TransactionKind, TransactionRecord } from '../posting/posting.types';
import type { Transaction } from './transaction.model';

interface Row extends TransactionColumns {
  account_id: string;
  amount_minor: string;
  scale: number;
}

export interface TransactionQuery {
  readonly accountIds: readonly string[] | null;
  readonly issuerPartyId: string | null;
  readonly kind: TransactionKind | null;
  readonly from: Date | null;
  readonly to: Date | null;
  readonly afterSequence: bigint | null;
  readonly limit: number;
}

/** Reads transactions with their postings, in ledger order, and turns them into API objects. */
@Injectable()
export class TransactionReader {
  private readonly scales = new Map<string, number>();

  constructor(private readonly db: Database) {}

  async byIds(network: string, ids: readonly string[], sql: Sql = this.db): Promise<Transaction[]> {
    if (ids.length === 0) return [];
    const rows = await sql.query<Row>(
      `SELECT t.id, t.sequence, t.kind, t.memo, t.metadata, t.external_ref, t.api_key_id, t.posted_at, t.previous_hash, t.hash,
              t.hash_version, t.reverses_id, p.account_id, p.amount_minor, c.scale
         FROM transactions t
         JOIN postings p ON p.network_id = t.network_id AND p.transaction_id = t.id
         JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
         JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
        WHERE t.network_id = $2 AND t.id = ANY($1::uuid[])
        ORDER BY t.sequence, p.idx`,
      [ids, network],
    );
    const byId = new Map<string, Transaction>();
    for (const row of rows) {
      let tx = byId.get(row.id);
      if (!tx) {
        tx = {
          id: row.id,
          sequence: row.sequence,
          kind: row.kind,
          memo: row.memo,
          metadata: row.metadata,
          externalRef: row.external_ref,
          postings: [],
          postedAt: row.posted_at,
          hash: row.hash,
          previousHash: row.previous_hash,
          hashVersion: row.hash_version,
          reversesId: row.reverses_id,
          apiKeyId: row.api_key_id,
        };
        byId.set(row.id, tx);
      }
      const amountMinor = BigInt(row.amount_minor);
      tx.postings.push({ accountId: row.account_id, amountMinor, amount: fromMinor(amountMinor, row.scale) });
    }
    return [...byId.values()];
  }

  async byId(network: string, id: string): Promise<Transaction | undefined> {
    const [tx] = await this.byIds(network, [id]);
    return tx;
  }

  async reversalOf(network: string, id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ id: string }>('SELECT id FROM transactions WHERE network_id = $1 AND reverses_id = $2', [
      network,
      id,
    ]);
    return row?.id;
  }

  /** A keyset page of a network's transaction ids in ledger order. */
  async page(network: string, q: TransactionQuery): Promise<Transaction[]> {
    const after = q.afterSequence?.toString() ?? null;
    // As text with all six decimals: a Date parameter would reach SQL cut to the millisecond and
    // take in (or leave out) the transactions posted in the same millisecond as the bound.
    const from = q.from ? isoMicros(q.from) : null;
    const to = q.to ? isoMicros(q.to) : null;
    const rows = q.accountIds
      ? await this.db.query<{ id: string }>(
          // Driven by the (account_id, sequence) index: stops after `limit` matches however
          // long the accounts' history is.
          `SELECT DISTINCT ON (p.sequence) t.id, p.sequence
             FROM postings p JOIN transactions t ON t.network_id = p.network_id AND t.id = p.transaction_id
            WHERE p.network_id = $7 AND p.account_id = ANY($1::uuid[]) AND ($2::bigint IS NULL OR p.sequence > $2)
              AND ($3::text IS NULL OR t.kind = $3) AND ($4::timestamptz IS NULL OR t.posted_at >= $4)
              AND ($5::timestamptz IS NULL OR t.posted_at < $5)
            ORDER BY p.sequence LIMIT $6`,
          [q.accountIds, after, q.kind, from, to, q.limit, network],
        )
      : await this.db.query<{ id: string }>(
          `SELECT t.id FROM transactions t
            WHERE t.network_id = $7 AND ($1::bigint IS NULL OR t.sequence > $1) AND ($2::text IS NULL OR t.kind = $2)
              AND ($3::timestamptz IS NULL OR t.posted_at >= $3) AND ($4::timestamptz IS NULL OR t.posted_at < $4)
              AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM postings p
                                                 JOIN accounts a ON a.network_id = p.network_id AND a.id = p.account_id
                                                 JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code
                                                WHERE p.network_id = t.network_id AND p.transaction_id = t.id
                                                  AND c.issuer_party_id = $5))
            ORDER BY t.sequence LIMIT $6`,
          [after, q.kind, from, to, q.issuerPartyId, q.limit, network],
        );
    return this.byIds(
      network,
      rows.map((r) => r.id),
    );
  }

  /**
   * Turns a record just posted into the API object without reading it back. `knownScales`
   * (account id -> currency scale) spares a lookup per new account, for large batches.
   */
  async fromRecord(record: TransactionRecord, knownScales?: ReadonlyMap<string, number>): Promise<Transaction> {
    const scales = new Map(knownScales);
    const missing = [...new Set(record.postings.map((p) => p.accountId).filter((id) => !scales.has(id)))];
    const found = await Promise.all(missing.map((id) => this.scaleOf(id)));
    missing.forEach((id, i) => scales.set(id, found[i] as number));
    return fromRecordWithScales(record, scales);
  }

  /** An account's currency scale never changes; cached per account. */
  private async scaleOf(accountId: string): Promise<number> {
    const cached = this.scales.get(accountId);
    if (cached !== undefined) return cached;
    const [row] = await this.db.query<{ scale: number }>(
      'SELECT c.scale FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code WHERE a.id = $1',
      [accountId],
    );
    if (!row) throw new Error(`account ${accountId} of a posted transaction is missing`);
    if (this.scales.size > 200_000) this.scales.clear();
    this.scales.set(accountId, row.scale);
    return row.scale;
  }
}

/** `fromRecord` when every posting's account scale is known: no wait, for the thousand records of a deposit batch. */
export function fromRecordWithScales(record: TransactionRecord, scales: ReadonlyMap<string, number>): Transaction {
  return {
    id: record.id,
    sequence: record.sequence.toString(),
    kind: record.kind,
    memo: record.memo,
    metadata: record.metadata ?? null,
    externalRef: record.externalRef,
    postings: record.postings.map((p) => {
      const scale = scales.get(p.accountId);
      if (scale === undefined) throw new Error(`no currency scale for account ${p.accountId}`);
      return { accountId: p.accountId, amountMinor: p.amountMinor, amount: fromMinor(p.amountMinor, scale) };
    }),
    postedAt: record.postedAt,
    hash: record.hash,
    previousHash: record.previousHash,
    hashVersion: record.hashVersion,
    reversesId: record.reversesId,
    apiKeyId: record.apiKeyId,
  };
}
