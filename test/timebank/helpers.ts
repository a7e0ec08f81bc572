import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, type PartyKindName } from '../support/ledger';

/** A party with one HOUR account and a key bound to it. */
export interface Member {
  readonly partyId: string;
  readonly accountId: string;
  readonly key: string;
}

export async function newMember(
  admin: GqlClient,
  name: string,
  options: { kind?: PartyKindName; creditLimit?: string; currency?: string; role?: 'MEMBER' | 'TREASURER' } = {},
): Promise<Member> {
  const partyId = await registerParty(admin, options.kind ?? 'MEMBER', name);
  const accountId = await openAccount(admin, partyId, options.currency ?? 'HOUR', options.creditLimit);
  const key = await createKey(admin, options.role ?? 'MEMBER', partyId);
  return { partyId, accountId, key };
}

export async function setUpHours(admin: GqlClient): Promise<void> {
  await createCurrency(admin, 'HOUR', 'TIME', 2);
}

export const HOLD_FIELDS =
  'id amount status expiresAt memo capturedAmount from { id } to { id } transaction { id kind postings { amount account { id } } }';

export function createHold(
  client: GqlClient,
  args: { from: string; to: string; amount: string; key: string; memo?: string; expiresAt?: string },
) {
  return client.request(
    `mutation($from: ID!, $to: ID!, $amount: Amount!, $memo: String, $expiresAt: DateTime, $key: String!) {
       createHold(from: $from, to: $to, amount: $amount, memo: $memo, expiresAt: $expiresAt, idempotencyKey: $key) { ${HOLD_FIELDS} } }`,
    { memo: null, expiresAt: null, ...args },
  );
}

export function captureHold(client: GqlClient, id: string, amount?: string) {
  return client.request(`mutation($id: ID!, $amount: Amount) { captureHold(id: $id, amount: $amount) { ${HOLD_FIELDS} } }`, {
    id,
    amount: amount ?? null,
  });
}

export function voidHold(client: GqlClient, id: string) {
  return client.request(`mutation($id: ID!) { voidHold(id: $id) { ${HOLD_FIELDS} } }`, { id });
}

export function codeOf(result: { errors?: { extensions?: { code?: string } }[]; data?: unknown }): string | undefined {
  if (!result.errors?.length) throw new Error(`expected a refusal, got ${JSON.stringify(result.data)}`);
  return result.errors[0]?.extensions?.code;
}

/**
 * The data of an answer that must have no errors. Typed by the answer itself (a `GqlResponse<X>`
 * gives X; an untyped request, `any`, as in GqlClient): inferring from `data` alone let TypeScript
 * pick a type from the call site, `undefined` included.
 */
export function dataOf<R extends { errors?: unknown[]; data?: unknown }>(result: R): NonNullable<R['data']> {
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data as NonNullable<R['data']>;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Minor units of an amount written with its currency's scale ("-1.50" -> -150n): exact, never a float. */
export function minor(amount: string): bigint {
  return BigInt(amount.replace('.', ''));
}

export const EXCHANGE_FIELDS =
  'id hours description status disputeReason provider { id } receiver { id } hold { id status amount } transaction { id kind memo postings { amount account { id } } } offer { id open } request { id open }';

export function recordExchange(
  client: GqlClient,
  args: { provider: string; receiver: string; hours: string; description?: string; offerId?: string; requestId?: string; key: string },
) {
  return client.request(
    `mutation($provider: ID!, $receiver: ID!, $hours: Amount!, $description: String!, $offerId: ID, $requestId: ID, $key: String!) {
       recordExchange(provider: $provider, receiver: $receiver, hours: $hours, description: $description, offerId: $offerId,
                      requestId: $requestId, idempotencyKey: $key) { ${EXCHANGE_FIELDS} } }`,
    { description: 'help in the garden', offerId: null, requestId: null, ...args },
  );
}

export function confirmExchange(client: GqlClient, id: string) {
  return client.request(`mutation($id: ID!) { confirmExchange(id: $id) { ${EXCHANGE_FIELDS} } }`, { id });
}

export function disputeExchange(client: GqlClient, id: string, reason: string) {
  return client.request(`mutation($id: ID!, $reason: String!) { disputeExchange(id: $id, reason: $reason) { ${EXCHANGE_FIELDS} } }`, {
    id,
    reason,
  });
}

export async function addMember(admin: GqlClient, organisationId: string, memberId: string): Promise<void> {
  await admin.ok('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', {
    o: organisationId,
    m: memberId,
  });
}

export function withdrawExchange(client: GqlClient, id: string, idempotencyKey?: string) {
  return client.request(`mutation($id: ID!, $key: String) { withdrawExchange(id: $id, idempotencyKey: $key) { ${EXCHANGE_FIELDS} } }`, {
    id,
    key: idempotencyKey ?? null,
  });
}
