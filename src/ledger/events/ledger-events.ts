import { randomUUID } from 'node:crypto';
import { isoMicros } from '../../common/instant';
import type { Sql } from '../../database/database';
import { fromMinor } from '../money/amount';
import type { HoldRecord, TransactionRecord } from '../posting/posting.types';

/**
 * Ledger events: what happened, as the outbox (`ledger_events`) records it for webhooks
 * (SPEC B.7, docs/webhooks.md). An event is written in the same database transaction as the
 * work it describes, so there is no event for work that rolled back and no work without its
 * event. Payloads are built here, once, from what the posting group decided; amounts are
 * decimal text with the currency's scale, as the API writes them.
 */

export const LEDGER_EVENT_TYPES = ['TRANSACTION_POSTED', 'HOLD_CREATED', 'HOLD_RESOLVED', 'EXCHANGE_PENDING', 'EXCHANGE_RESOLVED'] as const;
export type LedgerEventType = (typeof LEDGER_EVENT_TYPES)[number];

export interface LedgerEvent {
  readonly id: string;
  readonly type: LedgerEventType;
  readonly occurredAt: Date;
  /** Every account the event concerns: who may hear of it is decided from these. */
  readonly accountIds: readonly string[];
  readonly data: Record<string, unknown>;
}

/** What an event needs to know of an account to write its amounts. */
export interface AccountUnit {
  readonly currencyCode: string;
  readonly scale: number;
}

export type UnitOf = (accountId: string) => AccountUnit;

export function transactionPosted(t: TransactionRecord, unitOf: UnitOf): LedgerEvent {
  const postings = t.postings.map((p) => {
    const unit = unitOf(p.accountId);
    return { accountId: p.accountId, amount: fromMinor(p.amountMinor, unit.scale), currency: unit.currencyCode };
  });
  return {
    id: randomUUID(),
    type: 'TRANSACTION_POSTED',
    occurredAt: t.postedAt,
    accountIds: [...new Set(t.postings.map((p) => p.accountId))],
    data: {
      transaction: {
        id: t.id,
        sequence: t.sequence.toString(),
        kind: t.kind,
        memo: t.memo,
        // To the microsecond, as the API shows it: passed back as a bound, it means exactly this transaction.
        postedAt: isoMicros(t.postedAt),
        hash: t.hash,
        postings,
      },
    },
  };
}

/** HOLD_CREATED for a pending hold, HOLD_RESOLVED once it is captured, voided or expired. */
export function holdEvent(hold: HoldRecord, unitOf: UnitOf, at: Date): LedgerEvent {
  const unit = unitOf(hold.fromAccountId);
  return {
    id: randomUUID(),
    type: hold.status === 'PENDING' ? 'HOLD_CREATED' : 'HOLD_RESOLVED',
    occurredAt: at,
    accountIds: [hold.fromAccountId, hold.toAccountId],
    data: {
      hold: {
        id: hold.id,
        fromAccountId: hold.fromAccountId,
        toAccountId: hold.toAccountId,
        amount: fromMinor(hold.amountMinor, unit.scale),
        currency: unit.currencyCode,
        status: hold.status,
        expiresAt: hold.expiresAt ? isoMicros(hold.expiresAt) : null,
        transactionId: hold.transactionId,
      },
    },
  };
}

export interface ExchangeFacts {
  readonly id: string;
  readonly providerAccountId: string;
  readonly receiverAccountId: string;
  /** Decimal text with the currency's scale. */
  readonly hours: string;
  readonly status: string;
  readonly holdId: string | null;
  readonly transactionId: string | null;
}

/** EXCHANGE_PENDING when a provider's claim is recorded, EXCHANGE_RESOLVED when it ends. */
export function exchangeEvent(exchange: ExchangeFacts, at: Date): LedgerEvent {
  return {
    id: randomUUID(),
    type: exchange.status === 'PENDING' ? 'EXCHANGE_PENDING' : 'EXCHANGE_RESOLVED',
    occurredAt: at,
    accountIds: [exchange.providerAccountId, exchange.receiverAccountId],
    data: {
      exchange: {
        id: exchange.id,
        providerAccountId: exchange.providerAccountId,
        receiverAccountId: exchange.receiverAccountId,
        hours: exchange.hours,
        status: exchange.status,
        holdId: exchange.holdId,
        transactionId: exchange.transactionId,
      },
    },
  };
}

/** The rows of `ledger_events` as one JSON document (see migrations: `ledger_events_write`). */
export function eventRowsJson(events: readonly LedgerEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({ id: e.id, type: e.type, occurred_at: e.occurredAt, account_ids: e.accountIds, data: e.data })),
  );
}

/** The events of one applied command: holds created, holds resolved, transactions posted. */
export function commandEvents(
  newHolds: readonly HoldRecord[],
  resolvedHolds: Iterable<HoldRecord>,
  transactions: readonly TransactionRecord[],
  unitOf: UnitOf,
  at: Date,
): LedgerEvent[] {
  const events = newHolds.map((hold) => holdEvent(hold, unitOf, at));
  for (const hold of resolvedHolds) events.push(holdEvent(hold, unitOf, at));
  for (const transaction of transactions) events.push(transactionPosted(transaction, unitOf));
  return events;
}

/**
 * Writes events from inside a posting transaction's `afterPost` (exchanges), with the same
 * rule as the group write: only while some webhook exists.
 */
export async function writeLedgerEvents(tx: Sql, network: string, events: readonly LedgerEvent[]): Promise<void> {
  if (events.length > 0) await tx.query('SELECT ledger_events_write($1, $2)', [network, eventRowsJson(events)]);
}
