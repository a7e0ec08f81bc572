import { randomUUID } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import type { GqlClient } from '../support/graphql';
import { outcomeOf, postRaw, rawRequest } from '../support/http';
import { createCurrency, openAccount, registerParty, snapshot, startLedger, type TestLedger, verifyLedger } from '../support/ledger';

const TRANSFER = `mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!, $memo: String) {
  transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key, memo: $memo) { id memo } }`;
const POST = `mutation($postings: [PostingInput!]!, $key: String!, $metadata: JSON, $ref: String) {
  postTransaction(postings: $postings, kind: TRANSFER, idempotencyKey: $key, metadata: $metadata, externalRef: $ref) { id metadata } }`;
const MAX_BODY_BYTES = 200_000;

/** Hostile input, one rule at a time, against a production-mode service over real HTTP. */
describe('hostile input gets a clear code and changes nothing', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let url: string;
  let key: string;
  let a: string;
  let b: string;
  let before: string;

  /** Sends `body` and returns the code the refusal carries, checking its shape on the way. */
  async function codeOf(body: string, headers: Record<string, string> = {}): Promise<string> {
    return outcomeOf(await postRaw(url, body, key, headers));
  }

  async function codeOfOperation(query: string, variables: Record<string, unknown>): Promise<string> {
    return codeOf(JSON.stringify({ query, variables }));
  }

  beforeAll(async () => {
    ledger = await startLedger({ NODE_ENV: 'production', MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    admin = ledger.admin;
    url = ledger.service.url;
    key = ledger.service.adminKey;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    a = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ana'), 'HOUR');
    b = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR');
    await admin.ok(TRANSFER, { from: a, to: b, amount: '1.00', key: 'setup' });
    before = await snapshot(admin);
  });
  afterAll(async () => ledger.stop());

  it('answers a body over MAX_BODY_BYTES with 413 and a JSON VALIDATION_FAILED error', async () => {
    const memo = 'x'.repeat(MAX_BODY_BYTES);
    const response = await postRaw(
      url,
      JSON.stringify({ query: TRANSFER, variables: { from: a, to: b, amount: '1', key: 'big', memo } }),
      key,
    );
    expect(response.status).toBe(413);
    expect(outcomeOf(response)).toBe('VALIDATION_FAILED');
    expect(response.body.errors[0].extensions.fields).toEqual([
      { field: 'body', message: expect.stringMatching(/larger than 200000 bytes/) },
    ]);
    const zipped = await rawRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${key}` },
      body: gzipSync(JSON.stringify({ query: `{ me { role } } # ${' '.repeat(300_000)}` })),
    });
    expect(zipped.status).toBe(413);
    expect(outcomeOf(zipped)).toBe('VALIDATION_FAILED');
  });

  it('counts the limit on a body sent without Content-Length (chunked) as it arrives, and reads gzip and deflate bodies', async () => {
    const big = JSON.stringify({ query: `{ me { role } } # ${'x'.repeat(MAX_BODY_BYTES)}` });
    const chunked = await rawRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.length; i += 16_384) controller.enqueue(new TextEncoder().encode(big.slice(i, i + 16_384)));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    expect(chunked.status).toBe(413);
    expect(outcomeOf(chunked)).toBe('VALIDATION_FAILED');
    for (const [encoding, body] of [
      ['gzip', gzipSync('{"query":"{ me { role } }"}')],
      ['deflate', deflateSync('{"query":"{ me { role } }"}')],
    ] as const) {
      const response = await rawRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding, authorization: `Bearer ${key}` },
        body,
      });
      expect([encoding, outcomeOf(response), response.body.data]).toEqual([encoding, 'OK', { me: { role: 'ADMIN' } }]);
    }
  });

  it('refuses bodies that are not a JSON object (syntax, scalars, bad encodings) with 4xx VALIDATION_FAILED', async () => {
    for (const body of ['{"query":', '"{ me { role } }"', '5', 'null', 'true', '{"query": "{ me { role } }"', '\u0000', '']) {
      expect(await codeOf(body)).toBe('VALIDATION_FAILED');
    }
    expect(await codeOf('not gzip at all', { 'content-encoding': 'gzip' })).toBe('VALIDATION_FAILED');
    expect(await codeOf('{"query":"{ me { role } }"}', { 'content-encoding': 'compress' })).toBe('VALIDATION_FAILED');
    const latin1 = await postRaw(url, '{"query":"{ me { role } }"}', key, { 'content-type': 'application/json; charset=latin1' });
    expect(latin1.status).toBe(415);
    expect(outcomeOf(latin1)).toBe('VALIDATION_FAILED');
  });

  it('refuses wrong JSON types for query, variables and operationName, and GraphQL syntax errors', async () => {
    for (const body of [
      { query: 5 },
      { query: null },
      { query: ['{ me { role } }'] },
      { query: '{ me { role } }', variables: 'x' },
      { query: '{ me { role } }', variables: [1] },
      { query: '{ me { role } }', operationName: 7 },
      { query: '{ me { role }' },
      { query: 'mutation { transfer(from: ) { id } }' },
      { query: '{ me { role } }', operationName: 'Nope' },
      { query: 'query A { me { role } } query B { me { role } }' },
      { query: '' },
      {},
      { query: TRANSFER, variables: { from: { id: a }, to: b, amount: '1', key: 'k' } },
      { query: TRANSFER, variables: { from: a, to: b, amount: '1', key: 42 } },
      { query: TRANSFER, variables: { from: a, to: b, amount: '1' } },
      { query: `{ accounts(first: "ten") { edges { cursor } } }` },
      { query: `query($n: Int) { accounts(first: $n) { edges { cursor } } }`, variables: { n: 1.5 } },
      { query: `query($n: Int) { accounts(first: $n) { edges { cursor } } }`, variables: { n: 2 ** 40 } },
    ]) {
      expect([JSON.stringify(body), await codeOf(JSON.stringify(body))]).toEqual([JSON.stringify(body), 'VALIDATION_FAILED']);
    }
  });

  it('refuses batched arrays of operations with VALIDATION_FAILED', async () => {
    const response = await postRaw(url, JSON.stringify([{ query: '{ me { role } }' }, { query: '{ me { role } }' }]), key);
    expect(response.status).toBe(400);
    expect(outcomeOf(response)).toBe('VALIDATION_FAILED');
    expect(response.body.data).toBeUndefined();
  });

  it('refuses cross-site requests: GET mutations, text/plain and form posts, GET without a preflight header', async () => {
    const mutation = `mutation { transfer(from: "${a}", to: "${b}", amount: "1", idempotencyKey: "csrf") { id } }`;
    const auth = { authorization: `Bearer ${key}` };
    const getMutation = await rawRequest(`${url}?query=${encodeURIComponent(mutation)}`, { headers: auth });
    expect(outcomeOf(getMutation)).toBe('VALIDATION_FAILED');
    expect(getMutation.body.errors[0].message).toMatch(/cross-site/);
    const preflighted = await rawRequest(`${url}?query=${encodeURIComponent(mutation)}`, {
      headers: { ...auth, 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(405);
    expect(outcomeOf(preflighted)).toBe('VALIDATION_FAILED');
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await postRaw(url, JSON.stringify({ query: mutation }), key, { 'content-type': contentType });
      expect(response.status).toBe(400);
      expect(outcomeOf(response)).toBe('VALIDATION_FAILED');
    }
    const query = await rawRequest(`${url}?query=${encodeURIComponent('{ me { role } }')}`, {
      headers: { ...auth, 'apollo-require-preflight': 'true' },
    });
    expect(outcomeOf(query)).toBe('OK');
    expect(await snapshot(admin)).toBe(before);
  });

  it('refuses malformed ids (numeric, SQL, emoji, empty, huge) with VALIDATION_FAILED and unknown ones with NOT_FOUND', async () => {
    const malformed = [
      '42',
      "1' OR '1'='1",
      "'; DROP TABLE transactions; --",
      '😀',
      '',
      ' ',
      'x'.repeat(10_000),
      `${a}x`,
      a.replace(/-/g, ''),
    ];
    for (const id of malformed) {
      expect(await codeOfOperation('query($id: ID!) { account(id: $id) { id } }', { id })).toBe('VALIDATION_FAILED');
      expect(await codeOfOperation('query($id: ID!) { transaction(id: $id) { id } }', { id })).toBe('VALIDATION_FAILED');
      expect(await codeOfOperation(TRANSFER, { from: id, to: b, amount: '1', key: `id-${id.slice(0, 20)}` })).toBe('VALIDATION_FAILED');
    }
    expect(await codeOfOperation('{ account(id: 42) { id } }', {})).toBe('VALIDATION_FAILED');
    expect(await codeOfOperation(TRANSFER, { from: randomUUID(), to: b, amount: '1', key: 'unknown-id' })).toBe('NOT_FOUND');
    expect(
      await codeOfOperation('mutation($id: ID!) { reverseTransaction(id: $id, reason: "r", idempotencyKey: "k") { id } }', {
        id: randomUUID(),
      }),
    ).toBe('NOT_FOUND');
    expect(await snapshot(admin)).toBe(before);
  });

  it('refuses junk amounts with INVALID_AMOUNT', async () => {
    const junk: unknown[] = [
      1,
      1.5,
      -1,
      true,
      null,
      {},
      ['1'],
      '1e3',
      '0x10',
      'Infinity',
      'NaN',
      '1.0.0',
      '١٢',
      '1,50',
      '+1',
      '--1',
      '1.',
      '.5',
      '1.001',
    ];
    junk.push('9'.repeat(41), `1.${'0'.repeat(40)}`, '1 ', '😀', '0', '-0.00', '10000000000000.01');
    for (const amount of junk) {
      const code = await codeOfOperation(TRANSFER, { from: a, to: b, amount, key: `amount-${JSON.stringify(amount).slice(0, 30)}` });
      expect([amount, code]).toEqual([amount, amount === null ? 'VALIDATION_FAILED' : 'INVALID_AMOUNT']);
    }
    expect(
      await codeOf(JSON.stringify({ query: `mutation { transfer(from: "${a}", to: "${b}", amount: 1e2, idempotencyKey: "lit") { id } }` })),
    ).toBe('INVALID_AMOUNT');
    expect(await snapshot(admin)).toBe(before);
  });

  it('bounds names, memos, external references, idempotency keys, metadata and posting lists (VALIDATION_FAILED)', async () => {
    const refused = async (query: string, variables: Record<string, unknown>, field: string) => {
      const response = await postRaw(url, JSON.stringify({ query, variables }), key);
      expect(outcomeOf(response)).toBe('VALIDATION_FAILED');
      expect(response.body.errors[0].extensions.fields?.[0]?.field).toBe(field);
    };
    const transfer = (extra: Record<string, unknown>) => ({ from: a, to: b, amount: '0.01', key: randomUUID(), ...extra });
    await refused('mutation($n: String!) { registerParty(kind: MEMBER, name: $n) { id } }', { n: 'n'.repeat(201) }, 'name');
    await refused('mutation($n: String!) { registerParty(kind: MEMBER, name: $n) { id } }', { n: '   ' }, 'name');
    await refused('mutation($h: String) { registerParty(kind: MEMBER, name: "Ok", handle: $h) { id } }', { h: 'h'.repeat(101) }, 'handle');
    await refused(TRANSFER, transfer({ memo: 'm'.repeat(501) }), 'memo');
    await refused(TRANSFER, transfer({ memo: 'bell\u0007' }), 'memo');
    await refused(TRANSFER, transfer({ key: 'k'.repeat(129) }), 'idempotencyKey');
    await refused(TRANSFER, transfer({ key: '' }), 'idempotencyKey');
    await refused(TRANSFER, transfer({ key: 'nul\u0000key' }), 'idempotencyKey');
    const postings = [
      { accountId: a, amount: '-0.01' },
      { accountId: b, amount: '0.01' },
    ];
    await refused(POST, { postings, key: randomUUID(), ref: 'r'.repeat(201) }, 'externalRef');
    await refused(POST, { postings, key: randomUUID(), metadata: { blob: 'x'.repeat(9000) } }, 'metadata');
    await refused(POST, { postings, key: randomUUID(), metadata: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } }, 'metadata');
    const deep = `{"query": ${JSON.stringify(POST)}, "variables": {"postings": ${JSON.stringify(postings)}, "key": "deep", "metadata": ${'['.repeat(50_000)}${']'.repeat(50_000)}}}`;
    expect(await codeOf(deep)).toBe('VALIDATION_FAILED');
    await refused(POST, { postings: Array.from({ length: 1002 }, (_, i) => postings[i % 2]), key: randomUUID() }, 'postings');
    await refused(POST, { postings: [postings[0]], key: randomUUID() }, 'postings');
    await refused('{ accounts(first: 501) { edges { cursor } } }', {}, 'first');
    await refused('{ accounts(first: 0) { edges { cursor } } }', {}, 'first');
    await refused('{ transactions(first: -1) { edges { cursor } } }', {}, 'first');
    expect(await snapshot(admin)).toBe(before);
  });

  it('refuses half an emoji (a lone surrogate) and NUL in text and metadata, and keeps whole emoji exactly', async () => {
    const postings = [
      { accountId: a, amount: '-0.01' },
      { accountId: b, amount: '0.01' },
    ];
    for (const variables of [
      { from: a, to: b, amount: '0.01', key: 'surrogate-memo', memo: 'half \ud83d' },
      { from: a, to: b, amount: '0.01', key: 'surrogate-key-\ude00' },
    ]) {
      expect(await codeOfOperation(TRANSFER, variables)).toBe('VALIDATION_FAILED');
    }
    for (const metadata of [{ note: 'nul \u0000' }, { 'k\u0000': 1 }, { note: '\udc00 alone' }]) {
      expect(await codeOfOperation(POST, { postings, key: randomUUID(), metadata })).toBe('VALIDATION_FAILED');
    }
    expect(await snapshot(admin)).toBe(before);

    const posted = await admin.ok(TRANSFER, { from: a, to: b, amount: '0.01', key: 'whole-emoji', memo: 'bike 🚲 repair' });
    expect(posted.transfer.memo).toBe('bike 🚲 repair');
    const withMetadata = await admin.ok(POST, { postings, key: 'emoji-metadata', metadata: { note: '🌱 seeds', 键: ['ü', 1.5, null] } });
    expect(withMetadata.postTransaction.metadata).toEqual({ note: '🌱 seeds', 键: ['ü', 1.5, null] });
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 3 });
    before = await snapshot(admin);
  });

  it('refuses impossible dates and foreign cursors with VALIDATION_FAILED', async () => {
    const dates: unknown[] = ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:60:00Z'];
    dates.push(
      '0000-01-01T00:00:00Z',
      '2026-01-01T00:00:00+15:00',
      '2026-01-01',
      '2026-01-01T00:00:00',
      'yesterday',
      '',
      1700000000,
      '+275760-09-13T00:00:00Z',
    );
    for (const from of dates) {
      expect([from, await codeOfOperation('query($from: DateTime) { transactions(from: $from) { edges { cursor } } }', { from })]).toEqual([
        from,
        'VALIDATION_FAILED',
      ]);
    }
    const cursors = [
      '😀',
      'x'.repeat(300),
      Buffer.from('["x", 1]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      '!!!',
      '[]',
    ];
    cursors.push(
      Buffer.from(JSON.stringify(["1' OR 1=1"])).toString('base64url'),
      Buffer.from(JSON.stringify(['99999999999999999999'])).toString('base64url'),
    );
    cursors.push(Buffer.from(JSON.stringify(['9999999999999999999'])).toString('base64url'));
    for (const after of cursors) {
      for (const list of ['transactions', 'accounts', 'parties']) {
        expect([
          list,
          after,
          await codeOfOperation(`query($after: String) { ${list}(after: $after) { edges { cursor } } }`, { after }),
        ]).toEqual([list, after, 'VALIDATION_FAILED']);
      }
    }
    const leap = await codeOfOperation('query($from: DateTime) { transactions(from: $from) { edges { cursor } } }', {
      from: '2024-02-29T23:59:59.999+14:00',
    });
    expect(leap).toBe('OK');
  });

  it('in production, answers unknown fields without schema hints and keeps introspection off', async () => {
    const unknown = await postRaw(url, JSON.stringify({ query: '{ acount(id: "x") { id } }' }), key);
    expect(outcomeOf(unknown)).toBe('VALIDATION_FAILED');
    expect(unknown.text).not.toMatch(/Did you mean|account/);
    const badEnum = await postRaw(url, JSON.stringify({ query: 'mutation { registerParty(kind: MEMBR, name: "x") { id } }' }), key);
    expect(outcomeOf(badEnum)).toBe('VALIDATION_FAILED');
    expect(badEnum.text).not.toMatch(/Did you mean|MEMBER/);
    const introspection = await postRaw(url, JSON.stringify({ query: '{ __schema { types { name } } }' }), key);
    expect(outcomeOf(introspection)).toBe('VALIDATION_FAILED');
    expect(introspection.text).not.toMatch(/ApolloServer|introspection: true/);
    const typeQuery = await postRaw(url, JSON.stringify({ query: '{ __type(name: "Account") { fields { name } } }' }), key);
    expect(outcomeOf(typeQuery)).toBe('VALIDATION_FAILED');
  });

  it('answers unknown paths and methods with JSON, never HTML', async () => {
    for (const [path, method] of [
      ['/nope', 'GET'],
      ['/%E0%A4%A', 'GET'],
      ['/graphql', 'PUT'],
      ['/graphql', 'DELETE'],
      ['/health/../graphql', 'GET'],
    ] as const) {
      const response = await rawRequest(`${ledger.service.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json' } });
      expect([path, method, response.status < 500, response.contentType]).toEqual([
        path,
        method,
        true,
        expect.stringMatching(/^application\/json/),
      ]);
    }
  });

  it('leaves the ledger exactly as it was and verifiable', async () => {
    expect(await snapshot(admin)).toBe(before);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});
