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

/** What a TRANSACTION_POSTED event tells of its transaction, as the API writes it. */
export interface PostedFacts {
  readonly id: string;
  /** Decimal text. */
  readonly sequence: string;
  readonly kind: string;
  readonly memo: string | null;
  /** ISO 8601 to the microsecond, as the API shows it: passed back as a bound, it means exactly this transaction. */
  readonly postedAt: string;
  readonly hash: string;
  readonly postings: readonly { readonly accountId: string; readonly amountMinor: bigint }[];
}

/**
 * The `data` of TRANSACTION_POSTED. Built from the group's record when the event is written as a
 * document, and from the ledger's rows when it was written by reference (webhooks/transaction-events.ts):
 * the same function, so both give the same payload.
 */
export function transactionPostedData(t: PostedFacts, unitOf: UnitOf): { transaction: Record<string, unknown> } {
  const postings = t.postings.map((p) => {
    const unit = unitOf(p.accountId);
    return { accountId: p.accountId, amount: fromMinor(p.amountMinor, unit.scale), currency: unit.currencyCode };
  });
  return {
    transaction: { id: t.id, sequence: t.sequence, kind: t.kind, memo: t.memo, postedAt: t.postedAt, hash: t.hash, postings },
  };
}

/**
 * The JSON text of `transactionPostedData` for the same facts: exactly what `JSON.stringify` writes
 * of it (test/webhooks/payload-json.test.ts compares them), written out directly rather than
 * by building the object and walking it, since the webhook fan-out builds one for every
 * transaction it sends. The memo, the kind and the currency code go through `JSON.stringify`; the
 * other values are ids, decimal numbers, hex hashes and ISO times, in which JSON escapes nothing.
 */
export function transactionPostedJson(t: PostedFacts, unitOf: UnitOf): string {
  let postings = '';
  for (const p of t.postings) {
    const unit = unitOf(p.accountId);
    postings +=
      `${postings === '' ? '' : ','}{"accountId":"${p.accountId}","amount":"${fromMinor(p.amountMinor, unit.scale)}",` +
      `"currency":${JSON.stringify(unit.currencyCode)}}`;
  }
  return (
    `{"transaction":{"id":"${t.id}","sequence":"${t.sequence}","kind":${JSON.stringify(t.kind)},` +
    `"memo":${t.memo === null ? 'null' : JSON.stringify(t.memo)},"postedAt":"${t.postedAt}","hash":"${t.hash}","postings":[${postings}]}}`
  );
}

/** What a TRANSACTION_POSTED event tells of a transaction the posting group decided. */
export function postedFacts(t: TransactionRecord): PostedFacts {
  return {
    id: t.id,
    sequence: t.sequence.toString(),
    kind: t.kind,
    memo: t.memo,
    postedAt: isoMicros(t.postedAt),
    hash: t.hash,
    postings: t.postings,
  };
}

/** The accounts an event concerns, each once, in the order of the postings. */
export function postingAccounts(postings: readonly { readonly accountId: string }[]): string[] {
  return [...new Set(postings.map((p) => p.accountId))];
}

export function transactionPosted(t: TransactionRecord, unitOf: UnitOf): LedgerEvent {
  return {
    // The transaction's own id: one event per transaction, written as a document or by reference (migrations/0034).
    id: t.id,
    type: 'TRANSACTION_POSTED',
    occurredAt: t.postedAt,
    accountIds: postingAccounts(t.postings),
    data: transactionPostedData(postedFacts(t), unitOf),
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

/**
 * Writes events from inside a posting transaction's `afterPost` (exchanges), with the same
 * rule as the group write: only while some webhook exists.
 */
export async function writeLedgerEvents(tx: Sql, network: string, events: readonly LedgerEvent[]): Promise<void> {
  if (events.length > 0) await tx.query('SELECT ledger_events_write($1, $2)', [network, eventRowsJson(events)]);
}
