import { Injectable } from '@nestjs/common';
import { assertUnreachable, forbidden } from '../common/domain-error';
import { NotificationHub } from '../database/notification-hub';
import { type AccountFilter, CurrencyDirectory, MEMBERSHIP_CHANNEL, PartyDirectory } from './directory';
import { type Caller, Role } from './caller';

/** Memberships are also dropped on change notices; the TTL bounds how long a missed one matters. */
const MEMBERSHIP_TTL_MS = 60_000;

/** The accounts a caller may read, as a filter over parties or over an issuer's currencies. */
export type ReadScope =
  | { readonly all: true }
  | { readonly all: false; readonly partyIds: readonly string[] }
  | { readonly all: false; readonly issuerPartyId: string };

/** Which accounts each role may read, in words: what `readScope` computes, for docs/security.md. */
export const READ_SCOPE_TEXT: Readonly<Record<Role, string>> = {
  [Role.ADMIN]: 'every account',
  [Role.AUDITOR]: 'every account',
  [Role.MEMBER]: "its party's accounts",
  [Role.TREASURER]: "its organisation's and its members' accounts",
  [Role.INTEGRATION]: "accounts in its credit union's currencies",
};

/**
 * Who may see and move what (SPEC section 5), in one place:
 * - ADMIN everything; AUDITOR reads everything and moves nothing;
 * - MEMBER reads and moves value only from its party's accounts;
 * - TREASURER moves value from its organisation's accounts and reads the organisation's and
 *   its members' accounts;
 * - INTEGRATION reads accounts in the currencies its credit union issues and may only deposit
 *   and withdraw them.
 */
@Injectable()
export class AccessService {
  private readonly members = new Map<string, { ids: Set<string>; atMs: number }>();

  constructor(
    private readonly parties: PartyDirectory,
    private readonly currencies: CurrencyDirectory,
    hub: NotificationHub,
  ) {
    hub.subscribe(MEMBERSHIP_CHANNEL, (organisationId) => this.forgetMembers(organisationId));
    hub.onGap(() => this.members.clear());
  }

  async readScope(caller: Caller): Promise<ReadScope> {
    switch (caller.role) {
      case Role.ADMIN:
      case Role.AUDITOR:
        return { all: true };
      case Role.MEMBER:
        return { all: false, partyIds: [this.party(caller)] };
      case Role.TREASURER:
        return { all: false, partyIds: [this.party(caller), ...(await this.memberIds(caller.networkId, this.party(caller)))] };
      case Role.INTEGRATION:
        return { all: false, issuerPartyId: this.party(caller) };
      default:
        return assertUnreachable(caller.role);
    }
  }

  /** Narrows an account list filter to what the caller may read. */
  async scopeFilter(caller: Caller, partyId: string | null, currencyCode: string | null): Promise<AccountFilter> {
    const scope = await this.readScope(caller);
    if (scope.all) return { partyIds: partyId ? [partyId] : null, currencyCode, issuerPartyId: null };
    if ('issuerPartyId' in scope) return { partyIds: partyId ? [partyId] : null, currencyCode, issuerPartyId: scope.issuerPartyId };
    if (partyId && !scope.partyIds.includes(partyId)) throw forbidden("This API key may not read that party's accounts");
    return { partyIds: partyId ? [partyId] : scope.partyIds, currencyCode, issuerPartyId: null };
  }

  async canRead(caller: Caller, account: { partyId: string; currencyCode: string }): Promise<boolean> {
    const scope = await this.readScope(caller);
    if (scope.all) return true;
    if ('issuerPartyId' in scope)
      return (await this.currencies.find(caller.networkId, account.currencyCode))?.issuerPartyId === scope.issuerPartyId;
    return scope.partyIds.includes(account.partyId);
  }

  async assertCanRead(caller: Caller, account: { partyId: string; currencyCode: string }): Promise<void> {
    if (!(await this.canRead(caller, account))) throw forbidden('This API key may not read that account');
  }

  /**
   * Members and treasurers move value only from their own party's accounts; admins from any.
   * A credit union's issuance account is not among them: it puts money in circulation only
   * through deposits (an integration key or a coordinator), never by a transfer of its keys,
   * and takes it out of circulation only through withdrawals: no member or treasurer may pay
   * into it either (`credited`).
   */
  assertCanMoveFrom(
    caller: Caller,
    accounts: readonly { id: string; partyId: string; unlimited?: boolean }[],
    credited: readonly { id: string; unlimited?: boolean }[] = [],
  ): void {
    if (caller.role === Role.ADMIN) return;
    if (caller.role !== Role.MEMBER && caller.role !== Role.TREASURER) throw forbidden(`A ${caller.role} key may not move value`);
    for (const account of [...accounts, ...credited]) {
      if (account.unlimited) throw forbidden(`Account ${account.id} issues money only through deposits and withdrawals`);
    }
    for (const account of accounts) {
      if (account.partyId !== caller.partyId) throw forbidden(`This API key may not move value from account ${account.id}`);
    }
  }

  /** Deposits, withdrawals and reconciliation: an admin, or an integration of the issuing credit union. */
  async assertIssuerAccess(caller: Caller, currencyCode: string): Promise<void> {
    if (caller.role === Role.ADMIN) return;
    const currency = await this.currencies.find(caller.networkId, currencyCode);
    if (caller.role !== Role.INTEGRATION || !currency || currency.issuerPartyId !== caller.partyId) {
      throw forbidden(`This API key may not deposit or withdraw ${currencyCode}`);
    }
  }

  /**
   * Time bank coordination for a party (recording an exchange it receives, confirming or
   * disputing one, posting and closing its offers and requests): an admin, or a treasurer of
   * that party itself or of an organisation the party belongs to.
   */
  async coordinates(caller: Caller, partyId: string): Promise<boolean> {
    if (caller.role === Role.ADMIN) return true;
    if (caller.role !== Role.TREASURER || !caller.partyId) return false;
    return caller.partyId === partyId || (await this.memberIds(caller.networkId, caller.partyId)).includes(partyId);
  }

  /** Acting for a party in the time bank: a key bound to the party itself, or a coordinator of it. */
  async actsFor(caller: Caller, partyId: string): Promise<boolean> {
    if ((caller.role === Role.MEMBER || caller.role === Role.TREASURER) && caller.partyId === partyId) return true;
    return this.coordinates(caller, partyId);
  }

  /**
   * Reconciliation of a currency's circulation with its reserve: admins and auditors for every
   * currency; the issuing credit union's integration and treasurer keys for its own currencies.
   */
  async assertCanReconcile(caller: Caller, currencyCode: string): Promise<void> {
    if (caller.role === Role.ADMIN || caller.role === Role.AUDITOR) return;
    const currency = await this.currencies.find(caller.networkId, currencyCode);
    const ownIssuer = currency !== undefined && currency.issuerPartyId !== null && currency.issuerPartyId === caller.partyId;
    if ((caller.role !== Role.INTEGRATION && caller.role !== Role.TREASURER) || !ownIssuer) {
      throw forbidden(`This API key may not reconcile ${currencyCode}`);
    }
  }

  /** Drops an organisation's cached members (after they change). */
  forgetMembers(organisationId: string): void {
    this.members.delete(organisationId);
  }

  private party(caller: Caller): string {
    if (!caller.partyId) throw forbidden('This API key is not bound to a party');
    return caller.partyId;
  }

  /** Party ids are unique across networks, so the cache is keyed by the organisation alone. */
  private async memberIds(network: string, organisationId: string): Promise<string[]> {
    const cached = this.members.get(organisationId);
    if (cached && Date.now() - cached.atMs < MEMBERSHIP_TTL_MS) return [...cached.ids];
    const ids = await this.parties.memberIds(network, organisationId);
    this.members.set(organisationId, { ids: new Set(ids), atMs: Date.now() });
    return ids;
  }
}
