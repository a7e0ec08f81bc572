import { Injectable } from '@nestjs/common';
import type { Sql } from '../../database/database';
import { notFound } from '../../common/domain-error';
import { Database } from '../../database/database';
import type { AccountStatus, CurrencyKind } from '../posting/posting.types';
import type { AccountRecord } from './account.record';
import type { AccountFilter } from '../../identity/directory';

/** The columns of `SELECT_ACCOUNTS`, for a repository that reads an account in a statement of its own (a statement page). */
export interface AccountRow {
  id: string;
  network_id: string;
  party_id: string;
  currency_code: string;
  scale: number;
  currency_kind: CurrencyKind;
  status: AccountStatus;
  status_reason: string | null;
  credit_limit_minor: string;
  max_balance_minor: string | null;
  unlimited: boolean;
  posted_minor: string;
  pending_debits_minor: string;
  pending_credits_minor: string;
}

/**
 * Reads subtract holds whose expiry has passed but which the sweeper has not released yet, so
 * no read ever shows an expired hold as pending. The holds are looked at only when something is
 * pending: a pending amount of zero has no PENDING hold under it (the posting group keeps each
 * equal to the sum of the account's PENDING holds, and verifyLedger checks it), and the probe
 * reads every hold the account ever had (`holds_from` / `holds_to` lead with the account and
 * `created_at`, not the status). ledger_trial_balance_json (migration 0032) applies the same rule.
 */
export const SELECT_ACCOUNTS = `
  SELECT a.id, a.network_id, a.party_id, a.currency_code, c.scale, c.kind AS currency_kind, a.status, a.status_reason,
         a.credit_limit_minor, a.max_balance_minor, a.unlimited, a.posted_minor,
         CASE WHEN a.pending_debits_minor = 0 THEN 0 ELSE a.pending_debits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
            WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.from_account_id = a.id), 0) END
           AS pending_debits_minor,
         CASE WHEN a.pending_credits_minor = 0 THEN 0 ELSE a.pending_credits_minor - coalesce((SELECT sum(h.amount_minor) FROM holds h
            WHERE h.status = 'PENDING' AND h.expires_at <= now() AND h.network_id = a.network_id AND h.to_account_id = a.id), 0) END
           AS pending_credits_minor
    FROM accounts a JOIN currencies c ON c.network_id = a.network_id AND c.code = a.currency_code`;

export function toAccountRecord(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    networkId: row.network_id,
    partyId: row.party_id,
    currencyCode: row.currency_code,
    scale: row.scale,
    currencyKind: row.currency_kind,
    status: row.status,
    statusReason: row.status_reason,
    creditLimitMinor: BigInt(row.credit_limit_minor),
    maxBalanceMinor: row.max_balance_minor === null ? null : BigInt(row.max_balance_minor),
    unlimited: row.unlimited,
    postedMinor: BigInt(row.posted_minor),
    pendingDebitsMinor: BigInt(row.pending_debits_minor),
    pendingCreditsMinor: BigInt(row.pending_credits_minor),
  };
}

/** Declared by identity, whose read scopes narrow account lists with it. */
export type { AccountFilter };

export interface AccountFacts {
  readonly id: string;
  readonly networkId: string;
  readonly partyId: string;
  readonly currencyCode: string;
  /** The issuance account of a local dollar (set at creation, never changed). */
  readonly unlimited: boolean;
}

const MAX_CACHED_FACTS = 200_000;

@Injectable()
export class AccountRepository {
  /** An account's party and currency never change: they are cached after the first read. */
  private readonly facts = new Map<string, AccountFacts>();

  constructor(private readonly db: Database) {}

  async findByIds(network: string, ids: readonly string[], sql: Sql = this.db): Promise<AccountRecord[]> {
    if (ids.length === 0) return [];
    const rows = await sql.query<AccountRow>(`${SELECT_ACCOUNTS} WHERE a.network_id = $1 AND a.id = ANY($2::uuid[])`, [network, ids]);
    return rows.map(toAccountRecord);
  }

  async findById(network: string, id: string): Promise<AccountRecord | undefined> {
    const [account] = await this.findByIds(network, [id]);
    return account;
  }

  /** Party and currency of each account of `network` found; unknown ids and other networks' are absent. */
  async factsOf(network: string, ids: readonly string[]): Promise<Map<string, AccountFacts>> {
    const found = new Map<string, AccountFacts>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = this.facts.get(id);
      if (!cached) missing.push(id);
      else if (cached.networkId === network) found.set(id, cached);
    }
    if (missing.length > 0) {
      const rows = await this.db.query<{ id: string; network_id: string; party_id: string; currency_code: string; unlimited: boolean }>(
        'SELECT id, network_id, party_id, currency_code, unlimited FROM accounts WHERE network_id = $1 AND id = ANY($2::uuid[])',
        [network, missing],
      );
      if (this.facts.size + rows.length > MAX_CACHED_FACTS) this.facts.clear();
      for (const row of rows) {
        const facts = {
          id: row.id,
          networkId: row.network_id,
          partyId: row.party_id,
          currencyCode: row.currency_code,
          unlimited: row.unlimited,
        };
        this.facts.set(row.id, facts);
        found.set(row.id, facts);
      }
    }
    return found;
  }

  /** Party and currency of each id, in the order given; an unknown id (or another network's) is NOT_FOUND. */
  async requireFacts(network: string, ids: readonly string[]): Promise<AccountFacts[]> {
    const found = await this.factsOf(network, ids);
    return ids.map((id) => {
      const account = found.get(id);
      if (!account) throw notFound('account', id);
      return account;
    });
  }

  async requireFact(network: string, id: string): Promise<AccountFacts> {
    const [account] = await this.requireFacts(network, [id]);
    if (!account) throw notFound('account', id);
    return account;
  }

  async page(network: string, filter: AccountFilter, afterId: string | null, limit: number): Promise<AccountRecord[]> {
    const rows = await this.db.query<AccountRow>(
      `${SELECT_ACCOUNTS}
        WHERE a.network_id = $6 AND ($1::uuid[] IS NULL OR a.party_id = ANY($1::uuid[]))
          AND ($2::text IS NULL OR a.currency_code = $2)
          AND ($3::uuid IS NULL OR c.issuer_party_id = $3)
          AND ($4::uuid IS NULL OR a.id > $4)
        ORDER BY a.id LIMIT $5`,
      [filter.partyIds, filter.currencyCode, filter.issuerPartyId, afterId, limit, network],
    );
    return rows.map(toAccountRecord);
  }

  async insert(
    sql: Sql,
    account: {
      networkId: string;
      id: string;
      partyId: string;
      currencyCode: string;
      creditLimitMinor: bigint;
      maxBalanceMinor?: bigint | null;
      unlimited: boolean;
    },
  ): Promise<void> {
    await sql.query(
      `INSERT INTO accounts (network_id, id, party_id, currency_code, credit_limit_minor, max_balance_minor, unlimited)
       VALUES ($7, $1, $2, $3, $4, $5, $6)`,
      [
        account.id,
        account.partyId,
        account.currencyCode,
        account.creditLimitMinor.toString(),
        account.maxBalanceMinor?.toString() ?? null,
        account.unlimited,
        account.networkId,
      ],
    );
  }

  async issuanceAccountId(network: string, currencyCode: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ id: string }>(
      'SELECT id FROM accounts WHERE network_id = $1 AND currency_code = $2 AND unlimited',
      [network, currencyCode],
    );
    return row?.id;
  }

  /** Changes status when it is `from`; returns whether a row changed. */
  async setStatus(network: string, id: string, from: AccountStatus, to: AccountStatus, reason: string | null): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE accounts SET status = $3, status_reason = $4 WHERE network_id = $5 AND id = $1 AND status = $2 RETURNING id',
      [id, from, to, reason, network],
    );
    return rows.length === 1;
  }

  async setCreditLimit(network: string, id: string, limitMinor: bigint): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE accounts SET credit_limit_minor = $2 WHERE network_id = $3 AND id = $1 AND NOT unlimited RETURNING id',
      [id, limitMinor.toString(), network],
    );
    return rows.length === 1;
  }

  /** Sets or (null) removes the maximum balance; the posting group reads it under the account's lock. */
  async setMaxBalance(network: string, id: string, maxBalanceMinor: bigint | null): Promise<boolean> {
    const rows = await this.db.query('UPDATE accounts SET max_balance_minor = $2 WHERE network_id = $3 AND id = $1 RETURNING id', [
      id,
      maxBalanceMinor?.toString() ?? null,
      network,
    ]);
    return rows.length === 1;
  }

  /**
   * Closes an open or frozen account whose posted and pending balances are zero, in one
   * statement: it waits for the account's row lock and re-checks the row, so no posting or hold
   * can slip in between the check and the change.
   */
  async close(network: string, id: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE accounts SET status = 'CLOSED'
        WHERE network_id = $2 AND id = $1 AND status <> 'CLOSED' AND posted_minor = 0 AND pending_debits_minor = 0 AND pending_credits_minor = 0
        RETURNING id`,
      [id, network],
    );
    return rows.length === 1;
  }
}
