import { fromMinor } from '../money/amount';
import type { Hold } from './hold.model';
import type { HoldRecord } from './hold.record';

/** The GraphQL `Hold` of a hold record: amounts as decimal text with the currency's scale. */
export function toHoldModel(record: HoldRecord): Hold {
  return {
    id: record.id,
    fromAccountId: record.fromAccountId,
    toAccountId: record.toAccountId,
    amount: fromMinor(record.amountMinor, record.scale),
    status: record.status,
    kind: record.kind,
    memo: record.memo,
    expiresAt: record.expiresAt,
    transactionId: record.transactionId,
    capturedAmount: record.capturedMinor === null ? null : fromMinor(record.capturedMinor, record.scale),
    createdAt: record.createdAt,
    resolvedAt: record.resolvedAt,
  };
}
