import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, snapshot, startLedger, type TestLedger } from '../support/ledger';
import { WsConnection } from '../timebank/ws-client';

const TRANSFER = `mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) {
  transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key) { id postings { amount } } }`;
const TWO_TRANSFERS = `mutation($from: ID!, $to: ID!) {
  a: transfer(from: $from, to: $to, amount: "0.01", idempotencyKey: "alias-a") { id }
  b: transfer(from: $from, to: $to, amount: "0.01", idempotencyKey: "alias-b") { id } }`;

/**
 * `transfer` is resolved by graphql-js directly, outside Nest's guard pipeline
 * (src/graphql/direct-resolver.ts): it must authorize exactly as the guard does, over HTTP and
 * over graphql-ws, for every alias, and refuse without posting anything.
 */
describe('transfer authorizes its caller itself', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let from: string;
  let to: string;
  let memberKey: string;
  const sockets: WsConnection[] = [];

  async function refusedWithoutChange(client: GqlClient, code: string, query: string, variables: Record<string, unknown>): Promise<void> {
    const before = await snapshot(admin);
    expect(await client.code(query, variables)).toBe(code);
    expect(await snapshot(admin)).toBe(before);
  }

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const ana = await registerParty(admin, 'MEMBER', 'Ana');
    const ben = await registerParty(admin, 'MEMBER', 'Ben');
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    from = await openAccount(admin, ana, 'HOUR');
    to = await openAccount(admin, ben, 'HOUR');
    memberKey = await createKey(admin, 'MEMBER', ana);
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.close();
    await ledger.stop();
  });

  it('refuses a missing or unknown key (UNAUTHENTICATED) and a role that may not move money (FORBIDDEN)', async () => {
    const vars = { from, to, amount: '0.01', key: 'refused' };
    await refusedWithoutChange(ledger.client(), 'UNAUTHENTICATED', TRANSFER, vars);
    await refusedWithoutChange(ledger.client('sl_not_a_key'), 'UNAUTHENTICATED', TRANSFER, vars);
    await refusedWithoutChange(ledger.client(await createKey(admin, 'AUDITOR')), 'FORBIDDEN', TRANSFER, vars);
    const cu = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await refusedWithoutChange(ledger.client(await createKey(admin, 'INTEGRATION', cu)), 'FORBIDDEN', TRANSFER, vars);
  });

  it('refuses a revoked key, and a member moving from an account of another party', async () => {
    const created = await admin.ok<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      'mutation { createApiKey(role: ADMIN, label: "soon revoked") { secret apiKey { id } } }',
    );
    const doomed = ledger.client(created.createApiKey.secret);
    await doomed.ok(TRANSFER, { from, to, amount: '0.01', key: 'before-revoking' });
    await admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }', { id: created.createApiKey.apiKey.id });
    await refusedWithoutChange(doomed, 'UNAUTHENTICATED', TRANSFER, { from, to, amount: '0.01', key: 'after-revoking' });
    await refusedWithoutChange(ledger.client(memberKey), 'FORBIDDEN', TRANSFER, { from: to, to: from, amount: '0.01', key: 'not-mine' });
  });

  it('authorizes every alias: refused for an auditor with nothing posted, both posted for the owner of the account', async () => {
    const before = await snapshot(admin);
    const refused = await ledger.client(await createKey(admin, 'AUDITOR')).request(TWO_TRANSFERS, { from, to });
    // Root mutation fields run in order, and a refused non-null one ends the operation (graphql-js).
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(await snapshot(admin)).toBe(before);
    const posted = await ledger.client(memberKey).ok<{ a: { id: string }; b: { id: string } }>(TWO_TRANSFERS, { from, to });
    expect(posted.a.id).not.toBe(posted.b.id);
  });

  it('authorizes a transfer sent over graphql-ws the same way', async () => {
    const open = async (key: string) => {
      const socket = await WsConnection.open(ledger.service.url, { authorization: `Bearer ${key}` });
      sockets.push(socket);
      return socket;
    };
    const before = await snapshot(admin);
    const auditor = await open(await createKey(admin, 'AUDITOR'));
    expect(await auditor.subscribe(TRANSFER, { from, to, amount: '0.01', key: 'ws-auditor' }).errorCode()).toBe('FORBIDDEN');
    expect(await snapshot(admin)).toBe(before);
    const member = await open(memberKey);
    const [event] = await member.subscribe(TRANSFER, { from, to, amount: '0.25', key: 'ws-member' }).waitForEvents(1);
    expect(event.transfer.postings.map((p: { amount: string }) => p.amount).sort()).toEqual(['-0.25', '0.25']);
  });
});
