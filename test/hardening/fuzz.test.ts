import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { GqlClient } from '../support/graphql';
import { WsConnection } from '../timebank/ws-client';
import { outcomeOf, postRaw, rawRequest } from '../support/http';
import {
  createCurrency,
  openAccount,
  registerParty,
  snapshot,
  startLedger,
  type TestLedger,
  transfer,
  verifyLedger,
} from '../support/ledger';

/**
 * Thousands of hostile requests, generated: every answer must be JSON, never a 5xx, with a SPEC
 * code other than INTERNAL; and afterwards the ledger (parties, accounts, balances, transactions,
 * hash chain) must be exactly as it was. The fuzzed accounts stand at zero with no credit, so no
 * well-formed transfer between them can post either: whatever the generator finds, nothing moves.
 */

/** Any UTF-16 code unit: control characters, NUL, and halves of surrogate pairs included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  'a\u0007b',
  "' OR '1'='1",
  "'; DROP TABLE transactions; --",
  '$1',
  '%s%n',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '😀',
  '👩‍👩‍👧‍👦',
  '\u202e',
  'null',
  'NaN',
);
const text = fc.oneof(
  nasty,
  fc.string({ maxLength: 30 }),
  fc.string({ unit: codeUnit, maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.nat({ max: 3000 }).map((n) => 'x'.repeat(n)),
  fc.nat({ max: 800 }).map((n) => '😀'.repeat(n)),
);
const hostileId = fc.oneof(
  text,
  fc.uuid().map((id) => id),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.integer().map(String),
  fc.bigInt().map(String),
);
const amount = fc.oneof(
  fc.constantFrom('1', '0.01', '1.5', '0', '-1', '1.001', '1e2', '0x10', '١', '1,5', '.5', '1.', '+1', '10000000000000.01', '9'.repeat(40)),
  fc
    .bigInt({ min: -(10n ** 18n), max: 10n ** 18n })
    .map((n) => (n < 0n ? '-' : '') + (n < 0n ? -n : n).toString().replace(/(\d{2})$/, '.$1')),
  text,
);
/** Sometimes the right JSON type, sometimes anything at all. */
const orJunk = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });

/** Percent-encodes any text; a lone surrogate becomes the invalid UTF-8 sequence %ED%A0%80. */
function percentEncode(text: string): string {
  return Array.from(text, (c) => (/^[\ud800-\udfff]$/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
}

interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

function operations(real: { a: string; b: string; x: string; tx: string }): fc.Arbitrary<Operation> {
  const movable = fc.oneof(fc.constantFrom(real.a, real.b), hostileId);
  const readable = fc.oneof(fc.constantFrom(real.a, real.b, real.x, real.tx), hostileId);
  const key = fc.oneof(fc.uuid(), text);
  const first = orJunk(fc.oneof(fc.integer(), fc.constantFrom(0, 1, 500, 501)));
  const dateTime = orJunk(
    fc.oneof(
      text,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        '2026-02-30T00:00:00Z',
        '0000-01-01T00:00:00Z',
        '9999-12-31T23:59:59Z',
        '2026-01-01T00:00:00+14:00',
        '2026-01-01T24:00:00Z',
      ),
    ),
  );
  const cursor = orJunk(
    fc.oneof(
      text,
      fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    ),
  );
  const op = (query: string, variables: fc.Arbitrary<Record<string, unknown>>) => variables.map((v) => ({ query, variables: v }));
  return fc.oneof(
    {
      weight: 4,
      arbitrary: op(
        'mutation($from: ID!, $to: ID!, $amount: Amount!, $memo: String, $key: String!) { transfer(from: $from, to: $to, amount: $amount, memo: $memo, idempotencyKey: $key) { id } }',
        fc.record({
          from: orJunk(movable),
          to: orJunk(fc.oneof(movable, readable)),
          amount: orJunk(amount),
          memo: orJunk(text),
          key: orJunk(key),
        }),
      ),
    },
    // Well-formed transfers from the accounts at zero: refused by their credit limit.
    op(
      'mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) { transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key) { id } }',
      fc.record({
        from: fc.constantFrom(real.a, real.b),
        to: fc.constantFrom(real.x),
        amount: fc.constantFrom('0.01', '1', '7.5'),
        key: fc.uuid(),
      }),
    ),
    {
      weight: 2,
      arbitrary: op(
        'mutation($postings: [PostingInput!]!, $kind: TransactionKind!, $memo: String, $metadata: JSON, $ref: String, $key: String!) { postTransaction(postings: $postings, kind: $kind, memo: $memo, metadata: $metadata, externalRef: $ref, idempotencyKey: $key) { id } }',
        fc.record({
          postings: orJunk(fc.array(fc.record({ accountId: orJunk(movable), amount: orJunk(amount) }), { maxLength: 4 })),
          kind: orJunk(fc.constantFrom('TRANSFER', 'ADJUSTMENT', 'REVERSAL', 'DEPOSIT', 'NOPE')),
          memo: orJunk(text),
          metadata: fc.jsonValue({ maxDepth: 8, stringUnit: codeUnit }),
          ref: orJunk(text),
          key: orJunk(key),
        }),
      ),
    },
    op(
      'mutation($id: ID!, $reason: String!, $key: String!) { reverseTransaction(id: $id, reason: $reason, idempotencyKey: $key) { id } }',
      fc.record({ id: orJunk(hostileId), reason: orJunk(text), key: orJunk(key) }),
    ),
    op(
      'mutation($kind: PartyKind!, $name: String!) { registerParty(kind: $kind, name: $name) { id } }',
      fc.record({
        kind: orJunk(fc.constantFrom('MEMBER', 'COOPERATIVE', 'member')),
        name: fc.oneof(
          fc.constantFrom('', ' ', '\t\n', '\u0000', 'x\ud800', '\udfff', 'a\u0007b'),
          fc.nat({ max: 2000 }).map((n) => 'n'.repeat(201 + n)),
        ),
      }),
    ),
    op(
      'mutation($id: ID!, $limit: Amount!) { setCreditLimit(accountId: $id, creditLimit: $limit) { id } }',
      fc.record({ id: orJunk(movable), limit: fc.constantFrom('-1', '-0.01', '1e3', 'ten', '1.234', '', '١٠') }),
    ),
    op('mutation($id: ID!) { freezeAccount(accountId: $id) { id } }', fc.record({ id: orJunk(hostileId) })),
    op(
      'mutation($code: String!, $scale: Int!) { createCurrency(code: $code, name: "x", kind: TIME, scale: $scale) { code } }',
      fc.record({ code: orJunk(text.filter((s) => !/^[A-Z0-9_]{2,12}$/.test(s))), scale: orJunk(fc.integer()) }),
    ),
    op('query($id: ID!) { account(id: $id) { id posted } }', fc.record({ id: orJunk(readable) })),
    op('query($id: ID!) { transaction(id: $id) { id hash postings { amount } } }', fc.record({ id: orJunk(readable) })),
    op('query($id: ID!) { party(id: $id) { id name } }', fc.record({ id: orJunk(readable) })),
    op('query($code: String!) { currency(code: $code) { code } }', fc.record({ code: orJunk(text) })),
    op(
      'query($party: ID, $currency: String, $first: Int, $after: String) { accounts(partyId: $party, currency: $currency, first: $first, after: $after) { edges { cursor } } }',
      fc.record({ party: orJunk(readable), currency: orJunk(text), first, after: cursor }, { requiredKeys: [] }),
    ),
    op(
      'query($account: ID, $kind: TransactionKind, $from: DateTime, $to: DateTime, $first: Int, $after: String) { transactions(accountId: $account, kind: $kind, from: $from, to: $to, first: $first, after: $after) { edges { cursor } } }',
      fc.record(
        { account: orJunk(readable), kind: orJunk(fc.constantFrom('TRANSFER', 'x')), from: dateTime, to: dateTime, first, after: cursor },
        { requiredKeys: [] },
      ),
    ),
    op(
      'query($kind: PartyKind, $first: Int, $after: String) { parties(kind: $kind, first: $first, after: $after) { edges { cursor } } }',
      fc.record({ kind: orJunk(fc.constantFrom('MEMBER', 'x')), first, after: cursor }, { requiredKeys: [] }),
    ),
  );
}

/** Whole request bodies: any JSON, any text, wrong shapes, batches, GraphQL token soup. */
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: codeUnit, maxLength: 200 }),
  fc
    .record(
      {
        query: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
        variables: fc.jsonValue({ maxDepth: 3 }),
        operationName: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.array(fc.constant({ query: '{ me { role } }' }), { minLength: 1, maxLength: 4 }).map((v) => JSON.stringify(v)),
  fc
    .array(
      fc.constantFrom(
        '{',
        '}',
        '(',
        ')',
        '[',
        ']',
        'query',
        'mutation',
        'subscription',
        'fragment',
        'on',
        'me',
        'role',
        'transfer',
        'accounts',
        ':',
        '"x"',
        '$v',
        '...',
        '@skip',
        '1',
        '!',
        '=',
        '#',
        '"""',
      ),
      { maxLength: 40 },
    )
    .map((tokens) => JSON.stringify({ query: tokens.join(' ') })),
);
const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/graphql',
  'application/graphql-response+json',
);

describe('a fuzzed stream of hostile requests', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let real: { a: string; b: string; x: string; tx: string };
  let before: string;

  /** Parties as well as the accounts and transactions of `snapshot`. */
  const everything = async () =>
    (await snapshot(admin)) +
    JSON.stringify(await admin.ok('{ parties(first: 500) { edges { node { id name handle } } } currencies { code } }'));

  beforeAll(async () => {
    ledger = await startLedger({ NODE_ENV: 'production', MAX_BODY_BYTES: '100000' });
    admin = ledger.admin;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const a = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ana'), 'HOUR', '0');
    const b = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR', '0');
    const x = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Xu'), 'HOUR');
    const y = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Yara'), 'HOUR');
    const posted = await transfer(admin, x, y, '2.50', 'setup');
    real = { a, b, x, tx: posted.data?.transfer.id ?? '' };
    before = await everything();
  });
  afterAll(async () => ledger.stop());

  /** Each run sends a batch of requests at once: quicker, and concurrency is part of the test. */
  const BATCH = 10;

  it('answers 1,500 generated operations with hostile arguments with SPEC codes, never INTERNAL or a 5xx', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(operations(real), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const responses = await Promise.all(
          batch.map((operation) => postRaw(ledger.service.url, JSON.stringify(operation), ledger.service.adminKey)),
        );
        responses.forEach((response, i) => {
          const outcome = outcomeOf(response);
          seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
          if (batch[i]?.query.startsWith('mutation') && outcome === 'OK')
            throw new Error(`a hostile mutation succeeded: ${JSON.stringify(batch[i])}`);
        });
      }),
      { numRuns: 150 },
    );
    // The generator reaches the interesting refusals, not just one kind of error.
    for (const code of ['VALIDATION_FAILED', 'INVALID_AMOUNT', 'NOT_FOUND', 'INSUFFICIENT_FUNDS', 'OK'])
      expect([code, seen.get(code)]).toEqual([code, expect.any(Number)]);
  });

  it('answers 800 malformed request bodies and content types with JSON 4xx errors', async () => {
    const request = fc.record({ body: bodies, contentType: contentTypes, withKey: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const responses = await Promise.all(
          batch.map(({ body, contentType, withKey }) =>
            postRaw(ledger.service.url, body, withKey ? ledger.service.adminKey : undefined, { 'content-type': contentType }),
          ),
        );
        responses.forEach(outcomeOf);
      }),
      { numRuns: 80 },
    );
  });

  it('answers 200 hostile GET requests (queries in the URL) with JSON', async () => {
    const request = fc.record({ query: fc.string({ unit: codeUnit, maxLength: 100 }), preflight: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const responses = await Promise.all(
          batch.map(({ query, preflight }) =>
            rawRequest(`${ledger.service.url}?query=${percentEncode(query)}`, {
              headers: { authorization: `Bearer ${ledger.service.adminKey}`, ...(preflight ? { 'apollo-require-preflight': '1' } : {}) },
            }),
          ),
        );
        responses.forEach(outcomeOf);
      }),
      { numRuns: 20 },
    );
  });

  it('answers 600 costly documents (aliases of every expensive field, huge variables, deep fragments) with SPEC codes', async () => {
    const expensive = [
      'verifyLedger { ok }',
      'exportJournal(currency: "HOUR", format: CSV)',
      `balanceAt(accountId: "${real.x}", asOf: "2030-01-01T00:00:00Z")`,
      `statement(accountId: "${real.x}") { closingBalance }`,
      'trialBalance(currency: "HOUR") { lines { account { id } } }',
      'transactions(first: 500) { edges { node { postings { account { id } } } } }',
      'accounts(first: 500) { edges { node { id party { name } } } }',
      `activity(currency: "HOUR", from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z") { totals { volume } }`,
    ];
    const aliased = fc
      .record({ field: fc.constantFrom(...expensive), count: fc.integer({ min: 1, max: 2500 }) })
      .map(({ field, count }) => ({ query: `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`, variables: {} }));
    const hugeVariables = fc.record({ size: fc.integer({ min: 1, max: 90_000 }), wide: fc.boolean() }).map(({ size, wide }) => ({
      query:
        'query($n: Int, $s: String) { accounts(first: $n) { edges { node { id } } } parties(first: 1) { edges { cursor } } s: me { role } }',
      variables: wide
        ? Object.fromEntries(Array.from({ length: Math.min(size, 5000) }, (_, i) => [`v${i}`, i]))
        : { n: size, s: 'x'.repeat(size) },
    }));
    const deepFragments = fc.integer({ min: 1, max: 60 }).map((depth) => {
      const fragments = Array.from({ length: depth }, (_, i) =>
        i === depth - 1
          ? `fragment F${i} on Transaction { id }`
          : `fragment F${i} on Transaction { reverses { ...F${i + 1} } reversedBy { ...F${i + 1} } }`,
      );
      return { query: `{ transactions(first: 500) { edges { node { ...F0 } } } } ${fragments.join(' ')}`, variables: {} };
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(aliased, hugeVariables, deepFragments), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const responses = await Promise.all(
          batch.map((operation) => postRaw(ledger.service.url, JSON.stringify(operation), ledger.service.adminKey)),
        );
        responses.forEach(outcomeOf);
      }),
      { numRuns: 60 },
    );
  });

  it('survives 4 WebSocket floods of 100 hostile messages each, and still answers', async () => {
    const floods = Array.from({ length: 4 }, async (_, n) => {
      const socket = await WsConnection.open(ledger.service.url, { authorization: `Bearer ${ledger.service.adminKey}` });
      for (let i = 0; i < 100; i++) {
        if (socket.closeCode !== null) break;
        const kind = (i + n) % 4;
        if (kind === 0)
          socket.send({
            type: 'subscribe',
            id: `q${i}`,
            payload: { query: `{ ${Array.from({ length: 50 }, (_, j) => `v${j}: verifyLedger { ok }`).join(' ')} }` },
          });
        else if (kind === 1)
          socket.send({
            type: 'subscribe',
            id: `s${i}`,
            payload: { query: `subscription { transactionPosted(accountId: "${real.x}") { id } }` },
          });
        else if (kind === 2) socket.send({ type: 'garbage', id: `g${i}`, payload: { query: 'x'.repeat(i * 700) } });
        else socket.send({ type: 'subscribe', id: `b${i}`, payload: { query: `{ me { role } } #${'x'.repeat(i * 1000)}` } });
      }
      await socket.close();
    });
    await Promise.all(floods);
    expect((await rawRequest(`${ledger.service.baseUrl}/health`)).status).toBe(200);
    expect((await admin.ok('{ me { role } }')).me.role).toBe('ADMIN');
  });

  it('leaves the ledger exactly as it was: parties, accounts, balances, transactions and the hash chain', async () => {
    expect(await everything()).toBe(before);
    expect(await verifyLedger(admin)).toEqual({ ok: true, transactionsChecked: 1, accountsChecked: 4, firstProblem: null });
    const health = await rawRequest(`${ledger.service.baseUrl}/health`);
    expect(health.status).toBe(200);
    const after = await transfer(admin, real.x, real.a, '0.50', `after-fuzz-${randomUUID()}`);
    expect(after.errors).toBeUndefined();
  });
});
