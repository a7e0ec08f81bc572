import type { CurrencyKind } from '../posting/posting.types';

/**
 * A currency as the ledger keeps it: what CurrencyRepository returns (and caches) and what
 * services and reports compute with. The GraphQL `Currency` is built from it at the edge
 * (currency.mapper.ts), so the repository knows no GraphQL.
 */
export interface CurrencyRecord {
  /** Codes repeat across networks: a currency is (network, code). */
  readonly networkId: string;
  readonly code: string;
  readonly name: string;
  readonly kind: CurrencyKind;
  /** Decimal places: amounts are integers of 10^-scale units. */
  readonly scale: number;
  readonly issuerPartyId: string | null;
}
