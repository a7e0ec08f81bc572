import { Injectable } from '@nestjs/common';
import type { TransactionRecord } from '../posting/posting.types';
import { type AccountUnit, postedFacts, postingAccounts, transactionPostedJson, type UnitOf } from './ledger-events';

/**
 * Transactions kept at most, and for how long; beyond either the oldest go (their payloads are
 * then read from the ledger, as any other instance's are). The fan-out takes them within its
 * gathering time, a fraction of a second; an instance whose events another instance fans out
 * keeps its own only this long.
 */
const MAX_KEPT = 20_000;
const KEEP_MS = 10_000;

/** A transaction as its group posted it, with the unit of each account it moves. */
interface Kept {
  readonly keptAtMs: number;
  readonly transaction: TransactionRecord;
  readonly units: ReadonlyMap<string, AccountUnit>;
}

/**
 * The transactions this instance posted whose TRANSACTION_POSTED outbox rows name them
 * (migrations/0034), kept from their group's commit until the webhook fan-out takes their events,
 * so that the fan-out builds their payloads from what the group decided rather than reading each
 * transaction and its postings back from the ledger (webhooks/transaction-events.ts). Both build
 * them with `transactionPostedJson`, from the same facts: the payload is the same either way, and
 * every later attempt of a delivery, read from the ledger, carries the same bytes as the first.
 *
 * Only committed groups put transactions here (the posting service, after COMMIT): a key
 * (network, sequence) names one transaction for ever once committed. A transaction not found
 * here — posted by another instance, or before a restart, or taken already — is read from the
 * ledger. So is one whose event the fan-out reads in the instant between its commit and its
 * group's return here: PostgreSQL shows a commit to other sessions a moment before it answers the
 * COMMIT, and only then is the transaction kept (keeping it sooner would keep what might yet roll
 * back, under a key a later transaction could take).
 */
@Injectable()
export class PostedPayloads {
  private readonly kept = new Map<string, Kept>();
  /** Payloads built from a kept transaction (for /metrics). */
  taken = 0;

  put(networkId: string, transactions: readonly TransactionRecord[], unitOf: UnitOf): void {
    const now = Date.now();
    for (const transaction of transactions) {
      this.kept.set(`${networkId}:${transaction.sequence}`, {
        keptAtMs: now,
        transaction,
        units: new Map(
          transaction.postings.map((p) => {
            const { currencyCode, scale } = unitOf(p.accountId);
            return [p.accountId, { currencyCode, scale }];
          }),
        ),
      });
    }
    // Oldest first (a Map keeps the order things were put in).
    for (const [key, kept] of this.kept) {
      if (this.kept.size <= MAX_KEPT && now - kept.keptAtMs < KEEP_MS) break;
      this.kept.delete(key);
    }
  }

  /** The payload (JSON text) and accounts of a kept transaction's event, which is no longer kept; undefined when not kept. */
  take(networkId: string, sequence: string): { data: string; accountIds: string[] } | undefined {
    const key = `${networkId}:${sequence}`;
    const kept = this.kept.get(key);
    if (!kept) return undefined;
    this.kept.delete(key);
    this.taken++;
    const { transaction, units } = kept;
    return {
      data: transactionPostedJson(postedFacts(transaction), (accountId) => units.get(accountId) as AccountUnit),
      accountIds: postingAccounts(transaction.postings),
    };
  }
}
