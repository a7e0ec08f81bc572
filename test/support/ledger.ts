import { createTestDatabase } from './database';
import { GqlClient } from './graphql';
import { startService, type RunningService } from './service';

/** A service on its own fresh database, with an admin client: the starting point of most tests. */
export interface TestLedger {
  readonly service: RunningService;
  readonly databaseUrl: string;
  readonly admin: GqlClient;
  client(key?: string): GqlClient;
  stop(): Promise<void>;
}

export async function startLedger(env: Record<string, string> = {}): Promise<TestLedger> {
  const databaseUrl = await createTestDatabase({ migrated: true });
  const service = await startService(databaseUrl, env);
  const admin = new GqlClient(service.url, service.adminKey);
  return { service, databaseUrl, admin, client: (key) => new GqlClient(service.url, key), stop: () => service.stop() };
}

export type PartyKindName = 'MEMBER' | 'COOPERATIVE' | 'CREDIT_UNION' | 'LAND_TRUST' | 'COMMUNITY';
export type RoleName = 'ADMIN' | 'MEMBER' | 'TREASURER' | 'INTEGRATION' | 'AUDITOR';

export async function registerParty(admin: GqlClient, kind: PartyKindName, name: string): Promise<string> {
  const data = await admin.ok<{ registerParty: { id: string } }>(
    'mutation($kind: PartyKind!, $name: String!) { registerParty(kind: $kind, name: $name) { id } }',
    { kind, name },
  );
  return data.registerParty.id;
}

export async function createCurrency(
  admin: GqlClient,
  code: string,
  kind: 'TIME' | 'MONEY',
  scale: number,
  issuerPartyId?: string,
): Promise<void> {
  await admin.ok(
    'mutation($code: String!, $kind: CurrencyKind!, $scale: Int!, $issuer: ID) { createCurrency(code: $code, name: $code, kind: $kind, scale: $scale, issuerPartyId: $issuer) { code } }',
    { code, kind, scale, issuer: issuerPartyId ?? null },
  );
}

export async function openAccount(admin: GqlClient, partyId: string, currency: string, creditLimit?: string): Promise<string> {
  const data = await admin.ok<{ openAccount: { id: string } }>(
    'mutation($partyId: ID!, $currency: String!, $limit: Amount) { openAccount(partyId: $partyId, currency: $currency, creditLimit: $limit) { id } }',
    { partyId, currency, limit: creditLimit ?? null },
  );
  return data.openAccount.id;
}

export async function createKey(admin: GqlClient, role: RoleName, partyId?: string): Promise<string> {
  const data = await admin.ok<{ createApiKey: { secret: string } }>(
    'mutation($role: Role!, $partyId: ID) { createApiKey(role: $role, partyId: $partyId) { secret } }',
    { role, partyId: partyId ?? null },
  );
  return data.createApiKey.secret;
}

export interface Balances {
  posted: string;
  pendingDebits: string;
  pendingCredits: string;
  available: string;
  creditLimit: string;
  status: string;
}

export async function balances(client: GqlClient, accountId: string): Promise<Balances> {
  const data = await client.ok<{ account: Balances }>(
    'query($id: ID!) { account(id: $id) { posted pendingDebits pendingCredits available creditLimit status } }',
    { id: accountId },
  );
  return data.account;
}

export async function transfer(client: GqlClient, from: string, to: string, amount: string, idempotencyKey: string) {
  return client.request<{ transfer: { id: string; sequence: string } }>(
    'mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) { transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key) { id sequence } }',
    { from, to, amount, key: idempotencyKey },
  );
}

export async function verifyLedger(
  client: GqlClient,
): Promise<{ ok: boolean; transactionsChecked: number; accountsChecked: number; firstProblem: string | null }> {
  const data = await client.ok('{ verifyLedger { ok transactionsChecked accountsChecked firstProblem } }');
  return data.verifyLedger;
}

/** Every account's balances, to show that a refused request changed nothing. */
export async function snapshot(admin: GqlClient): Promise<string> {
  const data = await admin.ok(
    '{ accounts(first: 500) { edges { node { id posted pendingDebits pendingCredits status creditLimit } } } transactions(first: 500) { edges { node { id } } } }',
  );
  return JSON.stringify(data);
}
