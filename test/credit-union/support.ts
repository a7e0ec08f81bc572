import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, snapshot } from '../support/ledger';

/** Operations of the credit-union API, as a client would send them. */
export const DEPOSIT = `mutation($accountId: ID!, $amount: Amount!, $ref: String!, $key: String!) {
  recordDeposit(accountId: $accountId, amount: $amount, externalRef: $ref, idempotencyKey: $key) {
    id sequence kind externalRef postedAt postings { amount account { id } } } }`;
export const WITHDRAWAL = `mutation($accountId: ID!, $amount: Amount!, $ref: String!, $key: String!) {
  recordWithdrawal(accountId: $accountId, amount: $amount, externalRef: $ref, idempotencyKey: $key) {
    id sequence kind externalRef postings { amount account { id } } } }`;
export const DEPOSITS = `mutation($batch: [DepositInput!]!) {
  recordDeposits(batch: $batch) { id sequence kind externalRef postedAt postings { amount account { id } } } }`;
export const DISTRIBUTE = `mutation($from: ID!, $amount: Amount!, $shares: [ShareInput!]!, $memo: String, $key: String!) {
  distribute(fromAccountId: $from, amount: $amount, shares: $shares, memo: $memo, idempotencyKey: $key) {
    id kind memo metadata postings { amount account { id } } } }`;
export const RECONCILE = `query($currency: String!, $reserve: Amount!) {
  reconciliation(currency: $currency, reserve: $reserve) { currency { code issuer { name } } circulation reserve difference balanced asOf } }`;
export const TRANSFER = `mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) {
  transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key) { id postings { amount account { id } } } }`;

export interface DepositItem {
  accountId: string;
  amount: string;
  externalRef: string;
  idempotencyKey: string;
}

export interface PostedTransaction {
  id: string;
  sequence: string;
  kind: string;
  externalRef: string | null;
  postedAt: string;
  postings: { amount: string; account: { id: string } }[];
}

/** The id of a currency's unlimited issuance account, held by its credit union. */
export async function issuanceAccount(admin: GqlClient, creditUnion: string, currency: string): Promise<string> {
  const data = await admin.ok<{ accounts: { edges: { node: { id: string; unlimited: boolean } }[] } }>(
    'query($p: ID!, $c: String!) { accounts(partyId: $p, currency: $c) { edges { node { id unlimited } } } }',
    { p: creditUnion, c: currency },
  );
  const found = data.accounts.edges.find((e) => e.node.unlimited);
  if (!found) throw new Error(`${currency} has no issuance account`);
  return found.node.id;
}

/** A credit union issuing its own money `currency` (scale 2): its party, its issuance account, and an INTEGRATION key of it. */
export async function creditUnionIssuing(
  admin: GqlClient,
  name: string,
  currency: string,
): Promise<{ party: string; issuance: string; integrationKey: string }> {
  const party = await registerParty(admin, 'CREDIT_UNION', name);
  await createCurrency(admin, currency, 'MONEY', 2, party);
  return { party, issuance: await issuanceAccount(admin, party, currency), integrationKey: await createKey(admin, 'INTEGRATION', party) };
}

/** Registers `count` members with one account each in `currency`, a few at a time. */
export async function openMemberAccounts(admin: GqlClient, currency: string, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const party = await registerParty(admin, 'MEMBER', `${prefix} ${i}`);
      ids[i] = await openAccount(admin, party, currency);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

/** Posted balance of every account, paged through all of them. */
export async function postedBalances(admin: GqlClient): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let after: string | null = null;
  for (;;) {
    const data: {
      accounts: { edges: { node: { id: string; posted: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await admin.ok(
      'query($after: String) { accounts(first: 500, after: $after) { edges { node { id posted } } pageInfo { hasNextPage endCursor } } }',
      {
        after,
      },
    );
    data.accounts.edges.forEach((e) => found.set(e.node.id, e.node.posted));
    if (!data.accounts.pageInfo.hasNextPage) return found;
    after = data.accounts.pageInfo.endCursor;
  }
}

/**
 * Everything a refused request must leave alone, however many accounts there are: every
 * account's balances and status, the number of transactions and the last sequence.
 */
export async function fullSnapshot(admin: GqlClient): Promise<string> {
  const pages: unknown[] = [];
  let after: string | null = null;
  for (;;) {
    const data: { accounts: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await admin.ok(
      `query($after: String) { accounts(first: 500, after: $after) {
        edges { node { id posted pendingDebits pendingCredits status creditLimit } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    pages.push(data.accounts.edges);
    if (!data.accounts.pageInfo.hasNextPage) break;
    after = data.accounts.pageInfo.endCursor;
  }
  const verify = await admin.ok<{ verifyLedger: { transactionsChecked: number } }>('{ verifyLedger { transactionsChecked } }');
  return JSON.stringify({ pages, transactions: verify.verifyLedger.transactionsChecked, first500: await snapshot(admin) });
}

/** Runs a request that must be refused with `code`, and shows it changed nothing. Returns the error. */
export async function refusedWithoutChange(
  admin: GqlClient,
  client: GqlClient,
  code: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ message: string; extensions?: Record<string, unknown> }> {
  const before = await fullSnapshot(admin);
  const result = await client.request(query, variables);
  const error = result.errors?.[0];
  expect([error?.extensions?.code, error?.message]).toEqual([code, expect.any(String)]);
  expect(await fullSnapshot(admin)).toBe(before);
  return error as { message: string; extensions?: Record<string, unknown> };
}
