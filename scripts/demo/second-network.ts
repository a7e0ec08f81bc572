import type { GqlClient } from '../lib/gql-client';
import type { ProgressStep } from '../lib/progress';
import { allNodes, openAccount, registerParty } from './directory';
import { HOURS } from './network';
import { SECOND_NETWORK } from './networks';

/**
 * A second, smaller community in its own network, so a newcomer sees two sets of books side by
 * side in one deployment: a mutual-aid group with its own members, its own HOUR currency (the
 * same code as the time bank's, a different currency) and a few weeks of help given. Made by
 * that network's coordinator key; every step is looked up first or carries an idempotency key,
 * so a second run changes nothing.
 */
const GROUP = { kind: 'COMMUNITY', name: SECOND_NETWORK.name, handle: '@hillside-aid' } as const;
const MEMBERS = ['Aisha Bello', 'Bruno Costa', 'Carmen Ortiz', 'Dawit Haile', 'Eleni Papadopoulos', 'Felix Wagner'] as const;
const WELCOME = '3.00';
/** Who helped whom, for how long: [provider, receiver, hours, what]. */
const HELP: readonly [number, number, string, string][] = [
  [0, 1, '2.00', 'Grocery run during the flu weeks'],
  [1, 2, '1.50', 'Fixed a leaking tap'],
  [2, 3, '3.00', 'Childcare on a Saturday'],
  [3, 0, '1.00', 'Translated a letter from the council'],
  [4, 5, '2.50', 'Cooked meals for the week'],
  [5, 4, '1.00', 'Lift to the hospital'],
  [0, 2, '0.75', 'Walked the dog'],
  [3, 5, '2.00', 'Helped move a sofa'],
];

async function ensureParty(admin: GqlClient, known: Map<string, string>, kind: string, name: string): Promise<string> {
  return known.get(name) ?? registerParty(admin, kind, name);
}

async function ensureAccount(admin: GqlClient, known: Map<string, string>, partyId: string, creditLimit?: string): Promise<string> {
  return known.get(partyId) ?? openAccount(admin, partyId, HOURS.code, creditLimit);
}

async function ensureCurrency(admin: GqlClient): Promise<void> {
  const found = await admin.ok<{ currency: { code: string } | null }>('{ currency(code: "HOUR") { code } }');
  if (found.currency) return;
  await admin.ok('mutation { createCurrency(code: "HOUR", name: "Hours of help", kind: TIME, scale: 2) { code } }');
}

/** Fills the second network: its group, members, currency, accounts, welcome hours and exchanges. */
export async function seedSecondNetwork(admin: GqlClient, step: ProgressStep): Promise<void> {
  const parties = new Map((await allNodes<{ id: string; name: string }>(admin, 'parties', 'id name')).map((p) => [p.name, p.id]));
  const group = await ensureParty(admin, parties, GROUP.kind, GROUP.name);
  const members: string[] = [];
  for (const name of MEMBERS) members.push(await ensureParty(admin, parties, 'MEMBER', name));
  for (const member of members) {
    await admin.ok('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', { o: group, m: member });
  }
  await ensureCurrency(admin);
  const accounts = new Map(
    (await allNodes<{ id: string; party: { id: string } }>(admin, 'accounts', 'id party { id }')).map((a) => [a.party.id, a.id]),
  );
  const pool = await ensureAccount(admin, accounts, group, '100.00');
  const hours: string[] = [];
  for (const member of members) hours.push(await ensureAccount(admin, accounts, member));
  for (const [index, account] of hours.entries()) {
    await admin.ok(
      'mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) { transfer(from: $from, to: $to, amount: $amount, memo: "Welcome to Hillside Mutual Aid", idempotencyKey: $key) { id } }',
      { from: pool, to: account, amount: WELCOME, key: `hillside-welcome-${index}` },
    );
    step.tick();
  }
  for (const [index, [provider, receiver, amount, description]] of HELP.entries()) {
    await admin.ok(
      'mutation($p: ID!, $r: ID!, $h: Amount!, $d: String!, $key: String!) { recordExchange(provider: $p, receiver: $r, hours: $h, description: $d, idempotencyKey: $key) { id } }',
      { p: hours[provider], r: hours[receiver], h: amount, d: description, key: `hillside-help-${index}` },
    );
    step.tick();
  }
  step.done(`${SECOND_NETWORK.name}: ${MEMBERS.length} members, ${MEMBERS.length} welcome grants, ${HELP.length} exchanges`);
}

/** One line for the summary: what the second network holds and whether its chain verifies. */
export async function secondNetworkLine(admin: GqlClient): Promise<string> {
  const data = await admin.ok<{
    me: { network: { slug: string } };
    verifyLedger: { ok: boolean; transactionsChecked: number };
    trialBalance: { total: string; lines: unknown[] };
  }>('{ me { network { slug } } verifyLedger { ok transactionsChecked } trialBalance(currency: "HOUR") { total lines { balance } } }');
  const { verifyLedger: verify, trialBalance } = data;
  return `${SECOND_NETWORK.name} (network ${data.me.network.slug}): HOUR ${trialBalance.lines.length} accounts, total ${trialBalance.total}; verification ${verify.ok ? `ok (${verify.transactionsChecked} transactions)` : 'PROBLEM'}`;
}
