import type { Currency } from './currency.model';
import type { CurrencyRecord } from './currency.record';

/** The GraphQL `Currency` of a currency record (its issuer and defaults are resolved as fields). */
export function toCurrencyModel(record: CurrencyRecord): Currency {
  return {
    networkId: record.networkId,
    code: record.code,
    name: record.name,
    kind: record.kind,
    scale: record.scale,
    issuerPartyId: record.issuerPartyId,
  };
}
