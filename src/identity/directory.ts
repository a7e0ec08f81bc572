/**
 * What identity needs to know of parties and currencies to decide who may read and move what.
 * The ledger owns those rows and binds these to its stores (ledger/ledger-data.module.ts), so
 * identity imports no ledger code: the door between them opens one way (docs/architecture.md).
 */
export abstract class PartyDirectory {
  abstract findById(network: string, id: string): Promise<{ readonly kind: string } | undefined>;
  abstract memberIds(network: string, organisationId: string): Promise<string[]>;
}

/** The owner and currency of accounts, by id (accounts that do not exist are left out). */
export abstract class AccountDirectory {
  abstract factsOf(
    network: string,
    ids: readonly string[],
  ): Promise<ReadonlyMap<string, { readonly partyId: string; readonly currencyCode: string }>>;
}

export abstract class CurrencyDirectory {
  abstract find(network: string, code: string): Promise<{ readonly issuerPartyId: string | null } | undefined>;
}

/** The channel on which the ledger announces a membership change (NOTIFY) and identity listens. */
export const MEMBERSHIP_CHANNEL = 'ledger_membership_changed';

/** The accounts a read scope allows, as a filter over account lists (AccessService.scopeFilter). */
export interface AccountFilter {
  /** null: every party. */
  readonly partyIds: readonly string[] | null;
  readonly currencyCode: string | null;
  /** Only accounts in currencies this credit union issues. */
  readonly issuerPartyId: string | null;
}
