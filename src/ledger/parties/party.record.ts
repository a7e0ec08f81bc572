/**
 * A party as the ledger keeps it: what PartyRepository returns and services work on. The GraphQL
 * `Party` is built from it at the edge (party.mapper.ts), so the repository knows no GraphQL.
 */
export enum PartyKind {
  MEMBER = 'MEMBER',
  COOPERATIVE = 'COOPERATIVE',
  CREDIT_UNION = 'CREDIT_UNION',
  LAND_TRUST = 'LAND_TRUST',
  COMMUNITY = 'COMMUNITY',
}

/** Organisations whose treasurers may read their members' statements. */
export const ORGANISATION_KINDS: readonly PartyKind[] = [
  PartyKind.COOPERATIVE,
  PartyKind.CREDIT_UNION,
  PartyKind.LAND_TRUST,
  PartyKind.COMMUNITY,
];

export interface PartyRecord {
  readonly id: string;
  readonly kind: PartyKind;
  readonly name: string;
  readonly handle: string | null;
}
