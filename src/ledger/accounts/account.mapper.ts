import { Account } from './account.model';
import type { AccountRecord } from './account.record';

/** The GraphQL `Account` of an account record; its balances are formatted by AccountResolver's fields. */
export function toAccountModel(record: AccountRecord): Account {
  return Object.assign(new Account(), {
    id: record.id,
    networkId: record.networkId,
    partyId: record.partyId,
    currencyCode: record.currencyCode,
    scale: record.scale,
    currencyKind: record.currencyKind,
    status: record.status,
    statusReason: record.statusReason,
    creditLimitMinor: record.creditLimitMinor,
    maxBalanceMinor: record.maxBalanceMinor,
    unlimited: record.unlimited,
    postedMinor: record.postedMinor,
    pendingDebitsMinor: record.pendingDebitsMinor,
    pendingCreditsMinor: record.pendingCreditsMinor,
  });
}
