import type { GqlClient } from '../lib/gql-client';
import type { ProgressStep } from '../lib/progress';
import {
  BALANCE_CAP,
  CO_OP,
  CREDIT_UNION,
  DOLLARS,
  HOURS,
  LAND_TRUST,
  MEMBERS,
  ORGANISATIONS,
  POOL_CREDIT_LIMIT,
  TIME_BANK,
} from './network';

/**
 * Who is in the demo and what they hold: parties, memberships, currencies and accounts. None of
 * these mutations takes an idempotency key, so each is looked up first and made only when
 * missing: a second run finds everything and makes nothing.
 */
export interface Directory {
  /** Party id by name. */
  readonly parties: Map<string, string>;
  /** HOUR account id by party name. */
  readonly hours: Map<string, string>;
  /** MKE account id by party name (the credit union's is its land trust support account). */
  readonly dollars: Map<string, string>;
}

interface PageOf<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Every node of a connection, page by page (500 at a time, the API's largest page). `args` are
 * written inline, strings quoted with JSON.stringify: `accountId: "…", status: PENDING`.
 */
export async function allNodes<T>(client: GqlClient, field: string, selection: string, args = ''): Promise<T[]> {
  const nodes: T[] = [];
  let after: string | null = null;
  for (;;) {
    const query = `query($after: String) { page: ${field}(${args ? `${args}, ` : ''}first: 500, after: $after) { edges { node { ${selection} } } pageInfo { hasNextPage endCursor } } }`;
    const data: { page: PageOf<T> } = await client.ok(query, { after });
    nodes.push(...data.page.edges.map((edge) => edge.node));
    if (!data.page.pageInfo.hasNextPage) return nodes;
    after = data.page.pageInfo.endCursor;
  }
}

/** Registers one party; answers its id. */
export async function registerParty(admin: GqlClient, kind: string, name: string, handle?: string): Promise<string> {
  const data = await admin.ok<{ registerParty: { id: string } }>(
    'mutation($kind: PartyKind!, $name: String!, $handle: String) { registerParty(kind: $kind, name: $name, handle: $handle) { id } }',
    { kind, name, handle: handle ?? null },
  );
  return data.registerParty.id;
}

/** Opens one account (the currency's default limits unless some are given); answers its id. */
export async function openAccount(
  admin: GqlClient,
  partyId: string,
  currency: string,
  creditLimit?: string,
  maxBalance?: string,
): Promise<string> {
  const data = await admin.ok<{ openAccount: { id: string } }>(
    'mutation($partyId: ID!, $currency: String!, $creditLimit: Amount, $maxBalance: Amount) { openAccount(partyId: $partyId, currency: $currency, creditLimit: $creditLimit, maxBalance: $maxBalance) { id } }',
    { partyId, currency, creditLimit: creditLimit ?? null, maxBalance: maxBalance ?? null },
  );
  return data.openAccount.id;
}

/** Registers the parties not already there; `onTimeBank` learns the time bank's id before any other party is made. */
export async function ensureParties(admin: GqlClient, step: ProgressStep, onTimeBank: (id: string) => void): Promise<Map<string, string>> {
  const existing = await allNodes<{ id: string; kind: string; name: string }>(admin, 'parties', 'id kind name');
  const parties = new Map(existing.map((party) => [`${party.kind}:${party.name}`, party.id]));
  const wanted = [...ORGANISATIONS, ...MEMBERS.map((member) => ({ kind: 'MEMBER' as const, name: member.name, handle: member.handle }))];
  const byName = new Map<string, string>();
  let made = 0;
  for (const party of wanted) {
    let id = parties.get(`${party.kind}:${party.name}`);
    if (!id) {
      id = await registerParty(admin, party.kind, party.name, party.handle);
      made += 1;
    }
    byName.set(party.name, id);
    if (party.name === TIME_BANK.name) onTimeBank(id);
    step.tick();
  }
  step.done(`${wanted.length} parties: ${made} registered, ${wanted.length - made} already there`);
  return byName;
}

export async function ensureMemberships(admin: GqlClient, parties: Map<string, string>, step: ProgressStep): Promise<void> {
  const links: [string, string][] = [
    ...MEMBERS.map((member): [string, string] => [TIME_BANK.name, member.name]),
    ...MEMBERS.filter((member) => member.coOpHours).map((member): [string, string] => [CO_OP.name, member.name]),
    ...MEMBERS.filter((member) => member.resident).map((member): [string, string] => [LAND_TRUST.name, member.name]),
  ];
  for (const [organisation, member] of links) {
    await admin.ok('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', {
      o: idOf(parties, organisation),
      m: idOf(parties, member),
    });
    step.tick();
  }
  step.done(`${links.length} memberships (time bank, co-op workers, land trust residents)`);
}

export async function ensureCurrencies(admin: GqlClient, parties: Map<string, string>, step: ProgressStep): Promise<void> {
  for (const currency of [HOURS, { ...DOLLARS, issuerPartyId: idOf(parties, CREDIT_UNION.name) }]) {
    const found = await admin.ok<{ currency: { kind: string; scale: number } | null }>(
      'query($code: String!) { currency(code: $code) { kind scale } }',
      { code: currency.code },
    );
    if (found.currency) {
      if (found.currency.kind !== currency.kind || found.currency.scale !== currency.scale) {
        throw new Error(
          `This ledger already has a currency ${currency.code} that is not the demo's (${found.currency.kind}, scale ${found.currency.scale}). Seed the demo into an empty ledger.`,
        );
      }
      continue;
    }
    await admin.ok(
      'mutation($code: String!, $name: String!, $kind: CurrencyKind!, $scale: Int!, $issuerPartyId: ID) { createCurrency(code: $code, name: $name, kind: $kind, scale: $scale, issuerPartyId: $issuerPartyId) { code } }',
      currency,
    );
  }
  step.done(`${HOURS.code} (time credits) and ${DOLLARS.code} (local dollar issued by ${CREDIT_UNION.name})`);
}

interface AccountNode {
  id: string;
  unlimited: boolean;
  party: { id: string };
  currency: { code: string };
}

interface WantedAccount {
  readonly name: string;
  readonly currency: string;
  readonly creditLimit?: string;
  readonly maxBalance?: string;
}

/** Which accounts the demo holds: an HOUR account for every party but the credit union (one capped), MKE for some. */
function wantedAccounts(parties: Map<string, string>): WantedAccount[] {
  const hours = [TIME_BANK.name, CO_OP.name, LAND_TRUST.name, ...MEMBERS.map((member) => member.name)].map((name) => ({
    name,
    currency: HOURS.code,
    ...(name === TIME_BANK.name ? { creditLimit: POOL_CREDIT_LIMIT } : {}),
    ...(name === BALANCE_CAP.member ? { maxBalance: BALANCE_CAP.maxBalance } : {}),
  }));
  const dollarHolders = [CO_OP.name, LAND_TRUST.name, CREDIT_UNION.name, ...MEMBERS.filter((member) => member.deposit).map((m) => m.name)];
  for (const name of [...hours.map((a) => a.name), ...dollarHolders]) idOf(parties, name);
  return [...hours, ...dollarHolders.map((name) => ({ name, currency: DOLLARS.code }))];
}

export async function ensureAccounts(admin: GqlClient, parties: Map<string, string>, step: ProgressStep): Promise<Directory> {
  const existing = await allNodes<AccountNode>(admin, 'accounts', 'id unlimited party { id } currency { code }');
  const directory: Directory = { parties, hours: new Map(), dollars: new Map() };
  let made = 0;
  for (const wanted of wantedAccounts(parties)) {
    const partyId = idOf(parties, wanted.name);
    let id = existing.find((a) => a.party.id === partyId && a.currency.code === wanted.currency && !a.unlimited)?.id;
    if (!id) {
      id = await openAccount(admin, partyId, wanted.currency, wanted.creditLimit, wanted.maxBalance);
      made += 1;
    }
    (wanted.currency === HOURS.code ? directory.hours : directory.dollars).set(wanted.name, id);
    step.tick();
  }
  const total = directory.hours.size + directory.dollars.size;
  step.done(`${total} accounts: ${made} opened, ${total - made} already there`);
  return directory;
}

export function idOf(map: Map<string, string>, name: string): string {
  const id = map.get(name);
  if (!id) throw new Error(`the demo has no ${name}`);
  return id;
}
