import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { WsConnection } from '../timebank/ws-client';

/** Hole 6 of issue 12: graphql-ws gets the protections of HTTP (SPEC B.1). */
describe('graphql-ws limits', () => {
  let ledger: TestLedger;
  const sockets: WsConnection[] = [];
  const open = async (key: string) => {
    const socket = await WsConnection.open(ledger.service.url, { authorization: `Bearer ${key}` });
    sockets.push(socket);
    return socket;
  };
  /** A socket whose connection_init is refused: the close code. */
  const refusedAtInit = async (params: Record<string, unknown>) =>
    WsConnection.open(ledger.service.url, params).then(
      () => 'ACCEPTED',
      (error: Error) => /socket closed \((\d+)\)/.exec(error.message)?.[1] ?? error.message,
    );
  const COUNTER = 'subscription($a: ID!) { transactionPosted(accountId: $a) { id } }';

  beforeAll(async () => {
    ledger = await startLedger({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3',
      WS_MAX_SUBSCRIPTIONS_PER_KEY: '5',
    });
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.close();
    await ledger.stop();
  });

  it('requires a valid key at connection_init, else closes the socket (4403)', async () => {
    expect(await refusedAtInit({})).toBe('4403');
    expect(await refusedAtInit({ authorization: 'Bearer sl_not_a_real_key_0123456789' })).toBe('4403');
    expect(await refusedAtInit({ authorization: `Bearer ${ledger.service.adminKey}` })).toBe('ACCEPTED');
  });

  it('refuses introspection in production over the socket too', async () => {
    const socket = await open(ledger.service.adminKey);
    const code = await socket.subscribe('{ __schema { types { name } } }', {}).errorCode();
    expect(code).toBe('VALIDATION_FAILED');
  });

  it('applies the cost limits with the variables (and their defaults) sent over the socket', async () => {
    const socket = await open(ledger.service.adminKey);
    const pages = Array.from({ length: 4 }, (_, i) => `p${i}: accounts(first: $n) { edges { node { id party { name } } } }`).join(' ');
    const query = `query($n: Int = 500) { ${pages} }`;
    expect(await socket.subscribe(query, {}).errorCode()).toBe('QUERY_TOO_COMPLEX');
    const aliases = Array.from({ length: 12 }, (_, i) => `v${i}: verifyLedger { ok }`).join(' ');
    expect(await socket.subscribe(`{ ${aliases} }`, {}).errorCode()).toBe('QUERY_TOO_COMPLEX');
    const fine = socket.subscribe(query, { n: 5 });
    const result = await socket.waitFor((m) => m.id === fine.id && m.type === 'next', 'the small page');
    expect(result.payload.errors).toBeUndefined();
  });

  it('closes a socket that sends a message over 64 KiB', async () => {
    const socket = await open(ledger.service.adminKey);
    socket.send({ type: 'subscribe', id: 'big', payload: { query: `{ me { role } } #${'x'.repeat(70 * 1024)}` } });
    await socket.waitFor(() => socket.closeCode !== null, 'the socket to close').catch(() => undefined);
    expect(socket.closeCode).toBe(1009);
  });

  it('allows a bounded number of subscriptions per socket and per key', async () => {
    const partyId = await registerParty(ledger.admin, 'MEMBER', 'Ana');
    const key = await createKey(ledger.admin, 'AUDITOR');
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    const accountId = await openAccount(ledger.admin, partyId, 'HOUR');
    const first = await open(key);
    const perSocket = [1, 2, 3, 4].map(() => first.subscribe(COUNTER, { a: accountId }));
    expect(await perSocket[3]?.errorCode()).toBe('RATE_LIMITED');
    const second = await open(key);
    const more = [1, 2, 3].map(() => second.subscribe(COUNTER, { a: accountId }));
    expect(await more[2]?.errorCode()).toBe('RATE_LIMITED');
    // Another key is not affected by this one's use.
    const other = await open(ledger.service.adminKey);
    const fine = other.subscribe('{ me { role } }', {});
    const answer = await other.waitFor((m) => m.id === fine.id && m.type === 'next', 'an answer to another key');
    expect(answer.payload.data.me.role).toBe('ADMIN');
  });

  it("closes a revoked key's sockets at once", async () => {
    const created = await ledger.admin.ok('mutation { createApiKey(role: AUDITOR) { secret apiKey { id } } }');
    const socket = await open(created.createApiKey.secret);
    await ledger.admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }', { id: created.createApiKey.apiKey.id });
    await socket.waitFor(() => socket.closeCode !== null, 'the socket to close');
    expect(socket.closeCode).toBe(4403);
  });

  it('logs and counts operations over the socket like HTTP requests', async () => {
    const socket = await open(ledger.service.adminKey);
    const sub = socket.subscribe('{ currencies { code } }', {});
    await socket.waitFor((m) => m.id === sub.id && m.type === 'complete', 'the answer');
    const find = () =>
      ledger.service
        .output()
        .split('\n')
        .find((l) => l.includes('"transport":"graphql-ws"') && l.includes('"operation":"currencies"'));
    const deadline = Date.now() + 5000;
    while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = find();
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ msg: 'request', operation: 'currencies', outcome: 'ok' });
    const metrics = await fetch(`${ledger.service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ledger.service.adminKey}` } });
    expect(await metrics.text()).toMatch(/ledger_http_requests_total\{operation="currencies",outcome="ok"\} [1-9]/);
  });
});
