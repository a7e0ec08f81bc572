import { fromMinor } from '../../ledger/money/amount';
import type { Exchange } from './exchange.model';
import type { ExchangeRecord } from './exchange.record';

/** The GraphQL `Exchange` of an exchange record: hours as decimal text with the currency's scale. */
export function toExchangeModel(record: ExchangeRecord): Exchange {
  return {
    id: record.id,
    seq: record.seq,
    providerAccountId: record.providerAccountId,
    receiverAccountId: record.receiverAccountId,
    hours: fromMinor(record.hoursMinor, record.scale),
    description: record.description,
    status: record.status,
    holdId: record.holdId,
    transactionId: record.transactionId,
    offerId: record.offerId,
    requestId: record.requestId,
    disputeReason: record.disputeReason,
    createdAt: record.createdAt,
    resolvedAt: record.resolvedAt,
  };
}
