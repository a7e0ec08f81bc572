import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { postRaw, type RawResponse, rawRequest } from '../support/http';
import { createCurrency, openAccount, registerParty } from '../support/ledger';
import { logLines, type RunningService, startService } from '../support/service';
import { seriesValue } from '../support/metrics';

/**
 * The direct HTTP path (src/graphql/direct-http.ts) serves plain GraphQL POSTs without Apollo's
 * pipeline. Two services on one database, one with it (the default) and one without
 * (GRAPHQL_DIRECT_HTTP=false), get the same requests: every answer must be the same, status,
 * headers and body, and the direct one's counter says which requests it served itself.
 */

/** A response as compared: everything but the headers that differ per request or per process. */
function comparable(response: RawResponse) {
  const headers = [...response.headers].filter(([name]) => !['date', 'x-request-id', 'connection', 'keep-alive'].includes(name));
  return { status: response.status, headers, text: response.text };
}

/** A POST without the Accept header that fetch always adds: node:http sends only what it is given. */
function postWithoutAccept(url: string, body: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const fetched = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') fetched.set(name, value);
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', headers: fetched, text, body: undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_TYPE = 'application/graphql-response+json; charset=utf-8';
/** The Accept headers the direct path serves (RESPONSE_TYPES in src/graphql/direct-http.ts), and the content type of the answer. */
const RESPONSE_TYPES = new Map([
  ['*/*', JSON_TYPE],
  ['application/json', JSON_TYPE],
  ['application/json; charset=utf-8', JSON_TYPE],
  ['application/json, text/plain, */*', JSON_TYPE],
  ['application/json, */*', JSON_TYPE],
  ['application/graphql-response+json', GRAPHQL_TYPE],
  ['application/graphql-response+json; charset=utf-8', GRAPHQL_TYPE],
  ['application/graphql-response+json, application/json', GRAPHQL_TYPE],
  ['application/graphql-response+json, application/json;q=0.9', GRAPHQL_TYPE],
  ['application/graphql-response+json;charset=utf-8, application/json;charset=utf-8;q=0.9', GRAPHQL_TYPE],
]);

const TRANSFER =
  'mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) { transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key) { id sequence kind memo postedAt postings { amount account { id } } } }';
/** Accounts page: cost 1 + first × 3; GRAPHQL_MAX_COMPLEXITY is 1000 here, so 333 is the largest page. */
const PAGE = 'query($n: Int) { accounts(first: $n) { edges { node { id party { name } } } } }';

describe('the direct HTTP path answers exactly as Apollo does', () => {
  const adminKey = `sl_test_${randomBytes(16).toString('hex')}`;
  let direct: RunningService;
  let apollo: RunningService;
  let from: string;
  let to: string;
  let memberKey: string;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase({ migrated: true });
    const env = { NODE_ENV: 'production', GRAPHQL_MAX_COMPLEXITY: '1000', LOG_LEVEL: 'info' };
    direct = await startService(databaseUrl, env, adminKey);
    apollo = await startService(databaseUrl, { ...env, GRAPHQL_DIRECT_HTTP: 'false' }, adminKey);
    const admin = new GqlClient(direct.url, adminKey);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const ana = await registerParty(admin, 'MEMBER', 'Ana');
    from = await openAccount(admin, ana, 'HOUR');
    to = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR');
    const key = await admin.ok('mutation($p: ID!) { createApiKey(role: MEMBER, partyId: $p) { secret } }', { p: ana });
    memberKey = key.createApiKey.secret;
  });
  afterAll(async () => {
    await direct?.stop();
    await apollo?.stop();
  });

  /** Requests the direct service served itself, so far. */
  async function served(): Promise<number> {
    const response = await rawRequest(`${direct.baseUrl}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
    return seriesValue(response.text, 'ledger_graphql_direct_requests_total') ?? Number.NaN;
  }

  /**
   * Sends one request to the direct service, then to Apollo's, and checks that both answered the
   * same and that the direct path served it (`direct: true`) or left it to Apollo.
   */
  async function same(body: unknown, options: { key?: string | null; headers?: Record<string, string>; direct: boolean }) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const key = options.key === null ? undefined : (options.key ?? adminKey);
    const before = await served();
    const viaDirect = await postRaw(direct.url, text, key, options.headers);
    const after = await served();
    const viaApollo = await postRaw(apollo.url, text, key, options.headers);
    expect(comparable(viaDirect)).toEqual(comparable(viaApollo));
    expect(after - before).toBe(options.direct ? 1 : 0);
    return viaDirect;
  }

  it('a transfer: posted, replayed by its idempotency key, and refused for want of funds', async () => {
    // Posted by one service and replayed by the other, both ways round: the same transaction.
    const first = { query: TRANSFER, variables: { from, to, amount: '1.50', key: 'direct-first' } };
    const posted = await same(first, { direct: true });
    expect(posted.status).toBe(200);
    expect(posted.body.data.transfer.postings.map((p: { amount: string }) => p.amount).sort()).toEqual(['-1.50', '1.50']);
    const second = JSON.stringify({ ...first, variables: { ...first.variables, key: 'apollo-first' } });
    const postedByApollo = await postRaw(apollo.url, second, adminKey);
    const replayedDirectly = await postRaw(direct.url, second, adminKey);
    expect(postedByApollo.status).toBe(200);
    expect(comparable(replayedDirectly)).toEqual(comparable(postedByApollo));
    // A domain refusal: more than the credit limit allows.
    const refused = await same({ query: TRANSFER, variables: { from, to, amount: '500', key: 'too-much' } }, { direct: true });
    expect(refused.body.errors[0].extensions.code).toMatch(/^(INSUFFICIENT_FUNDS|BALANCE_LIMIT_EXCEEDED)$/);
    // The same idempotency key with another amount.
    const conflict = await same({ query: TRANSFER, variables: { from, to, amount: '2', key: 'direct-first' } }, { direct: true });
    expect(conflict.body.errors[0].extensions.code).toBe('IDEMPOTENCY_CONFLICT');
    // A member moving money out of an account that is not theirs.
    const foreign = await same(
      { query: TRANSFER, variables: { from: to, to: from, amount: '1', key: 'not-mine' } },
      {
        key: memberKey,
        direct: true,
      },
    );
    expect(foreign.body.errors[0].extensions.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
  });

  it('the cost limit with the variables, and variables that do not coerce', async () => {
    expect((await same({ query: PAGE, variables: { n: 333 } }, { direct: true })).status).toBe(200);
    const tooMany = await same({ query: PAGE, variables: { n: 334 } }, { direct: true });
    expect([tooMany.status, tooMany.body.errors[0].extensions.code]).toEqual([400, 'QUERY_TOO_COMPLEX']);
    const missing = await same({ query: TRANSFER, variables: { from, to, key: 'no-amount' } }, { direct: true });
    expect([missing.status, missing.body.errors[0].extensions.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badAmount = await same({ query: TRANSFER, variables: { from, to, amount: '1.234', key: 'bad-amount' } }, { direct: true });
    expect(badAmount.body.errors[0].extensions.code).toBe('INVALID_AMOUNT');
    const notAnAmount = await same({ query: TRANSFER, variables: { from, to, amount: 12, key: 'number' } }, { direct: true });
    expect(notAnAmount.body.data).toBeUndefined();
    const wrongType = await same({ query: PAGE, variables: { n: 'ten' } }, { direct: true });
    expect(wrongType.status).toBe(400);
    // Shapes of the body Apollo refuses itself, before any GraphQL runs.
    await same({ query: PAGE, variables: '{"n":1}' }, { direct: false });
    await same({ query: PAGE, variables: [1] }, { direct: false });
    await same({ query: PAGE, operationName: 7 }, { direct: false });
    await same({ query: '' }, { direct: false });
    await same({ variables: {} }, { direct: false });
    await same([{ query: '{ me { role } }' }], { direct: false });
    await same({ query: '{ me { role } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }, { direct: false });
  });

  it('no key, a wrong key, and an operation chosen by name', async () => {
    const anonymous = await same({ query: '{ me { role } }' }, { key: null, direct: true });
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await same({ query: TRANSFER, variables: { from, to, amount: '1', key: 'anon' } }, { key: null, direct: true });
    await same({ query: '{ me { role } }' }, { key: 'sl_wrong_secret', direct: true });
    const two = 'query A { me { role } } query B { currencies { code } }';
    expect((await same({ query: two, operationName: 'B' }, { direct: true })).body.data.currencies).toEqual([{ code: 'HOUR' }]);
    await same({ query: two }, { direct: false });
    await same({ query: two, operationName: 'C' }, { direct: false });
  });

  it('documents that do not parse or validate are refused by Apollo, the same way every time', async () => {
    for (const query of ['{ me { role }', '{ me { nope } }', '{ __schema { types { name } } }', 'subscription { nope }']) {
      const first = await same({ query }, { direct: false });
      const second = await same({ query }, { direct: false });
      expect(first.status).toBe(400);
      expect(comparable(second)).toEqual(comparable(first));
    }
  });

  it('keeps its document cache bounded: long texts go to Apollo, and an evicted text is served again', async () => {
    // Over 10,000 characters: not kept, so Apollo's (the same answer).
    const long = `{ me { role } }${' '.repeat(10_001)}`;
    expect((await same({ query: long }, { direct: false })).body.data.me.role).toBe('ADMIN');
    // More distinct texts than the cache keeps (500): the first one is forgotten, then parsed and served again.
    const first = '{ first: me { role } }';
    await same({ query: first }, { direct: true });
    const before = await served();
    for (let i = 0; i < 510; i++) await postRaw(direct.url, JSON.stringify({ query: `{ a${i}: me { role } }` }), adminKey);
    expect((await served()) - before).toBe(510);
    expect((await same({ query: first }, { direct: true })).body.data).toEqual({ first: { role: 'ADMIN' } });
  });

  it('CSRF: only a JSON content type is served directly; simple requests are refused by Apollo as before', async () => {
    const body = JSON.stringify({ query: '{ me { role } }' });
    await same(body, { headers: { 'content-type': 'application/json; charset=utf-8' }, direct: true });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'Application/JSON']) {
      const refused = await same(body, { headers: { 'content-type': type }, direct: false });
      if (type !== 'Application/JSON') expect(refused.status).toBe(400);
    }
    await same(body, { headers: { 'content-type': 'text/plain', 'apollo-require-preflight': 'true' }, direct: false });
  });

  it('answers with the content type Apollo negotiates from the Accept header', async () => {
    const body = JSON.stringify({ query: '{ me { role } }' });
    for (const accept of RESPONSE_TYPES.keys()) {
      const answer = await same(body, { headers: { accept }, direct: true });
      expect(answer.contentType).toBe(RESPONSE_TYPES.get(accept));
    }
    for (const accept of ['text/html', 'application/xml', 'application/json;q=0', 'multipart/mixed']) {
      await same(body, { headers: { accept }, direct: false });
    }
    // Without any Accept header (fetch always sends one): JSON.
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` };
    const before = await served();
    const viaDirect = await postWithoutAccept(direct.url, body, headers);
    expect((await served()) - before).toBe(1);
    const viaApollo = await postWithoutAccept(apollo.url, body, headers);
    expect(comparable(viaDirect)).toEqual(comparable(viaApollo));
    expect(viaDirect.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('logs and counts a request it serves as Apollo does: one request line, the same metrics', async () => {
    const metricsOf = async (service: RunningService) =>
      (await rawRequest(`${service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text;
    const series = [
      'ledger_http_requests_total{operation="transfer",outcome="ok"}',
      'ledger_http_requests_total{operation="accounts",outcome="QUERY_TOO_COMPLEX"}',
      'ledger_http_requests_total{operation="me",outcome="UNAUTHENTICATED"}',
      'ledger_http_request_duration_seconds_count{operation="transfer"}',
    ];
    const count = (text: string) => series.map((name) => seriesValue(text, name) ?? 0);
    const before = { direct: count(await metricsOf(direct)), apollo: count(await metricsOf(apollo)) };
    const send = async (service: RunningService, id: string) => {
      const variables = { from, to, amount: '0.25', key: `logged-${id}` };
      await postRaw(service.url, JSON.stringify({ query: TRANSFER, variables }), adminKey, { 'x-request-id': `${id}-transfer` });
      await postRaw(service.url, JSON.stringify({ query: PAGE, variables: { n: 400 } }), adminKey, { 'x-request-id': `${id}-page` });
      await postRaw(service.url, JSON.stringify({ query: '{ me { role } }' }), undefined, { 'x-request-id': `${id}-anonymous` });
    };
    const servedBefore = await served();
    await send(direct, 'logged-direct');
    expect((await served()) - servedBefore).toBe(3);
    await send(apollo, 'logged-apollo');
    const after = { direct: count(await metricsOf(direct)), apollo: count(await metricsOf(apollo)) };
    const delta = (now: number[], then: number[]) => now.map((value, i) => value - (then[i] ?? 0));
    expect(delta(after.direct, before.direct)).toEqual([1, 1, 1, 1]);
    expect(delta(after.apollo, before.apollo)).toEqual([1, 1, 1, 1]);
    // The request lines, but for what differs by nature (ids, timing, process).
    const requestLines = async (service: RunningService, prefix: string) => {
      let lines: Record<string, unknown>[] = [];
      for (let i = 0; i < 50 && lines.length < 3; i++) {
        lines = logLines(service.output()).filter((line) => line.msg === 'request' && String(line.reqId).startsWith(prefix));
        if (lines.length < 3) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return lines.map(({ reqId, durationMs, time, pid, ...rest }) => ({
        ...rest,
        reqId: String(reqId).slice(prefix.length),
        durationMs: typeof durationMs,
        time: typeof time,
        pid: typeof pid,
      }));
    };
    const directLines = await requestLines(direct, 'logged-direct');
    expect(directLines).toHaveLength(3);
    expect(directLines).toEqual(await requestLines(apollo, 'logged-apollo'));
    expect(directLines[0]).toMatchObject({ operation: 'transfer', outcome: 'ok', status: 200, path: '/graphql', method: 'POST' });
    expect(directLines[1]).toMatchObject({ operation: 'accounts', outcome: 'QUERY_TOO_COMPLEX', status: 400 });
  });

  it('is turned off by GRAPHQL_DIRECT_HTTP=false: the Apollo-only service has no direct counter', async () => {
    const text = (await rawRequest(`${apollo.baseUrl}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text;
    expect(seriesValue(text, 'ledger_graphql_direct_requests_total')).toBeUndefined();
    expect(seriesValue(text, 'ledger_http_requests_total{operation="me",outcome="ok"}')).toBeGreaterThan(0);
  });
});
