import { getIntrospectionQuery } from 'graphql';
import { outcomeOf, postRaw } from '../support/http';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';

/** Accounts page: cost 1 (accounts) + first × 3 (edges, node, party). */
const PAGE = (first: number | string) => `{ accounts(first: ${first}) { edges { node { id party { name } } } } }`;
/** A field nested `levels` deep (the root field is level 1): reverses of reverses of ... */
function nested(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels - 4; i++) inner = `reverses { ${inner} }`;
  return `{ transactions(first: 1) { edges { node { ${inner} } } } }`;
}

describe('query depth and cost limits (QUERY_TOO_COMPLEX)', () => {
  let ledger: TestLedger;
  let url: string;
  let key: string;
  const send = (body: unknown) => postRaw(url, JSON.stringify(body), key);

  beforeAll(async () => {
    ledger = await startLedger({
      NODE_ENV: 'production',
      GRAPHQL_MAX_DEPTH: '6',
      GRAPHQL_MAX_COMPLEXITY: '1000',
      GRAPHQL_MAX_TOKENS: '2000',
    });
    url = ledger.service.url;
    key = ledger.service.adminKey;
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Ana'), 'HOUR');
  });
  afterAll(async () => ledger.stop());

  it('accepts a query exactly GRAPHQL_MAX_DEPTH deep and refuses one level more with a 400', async () => {
    expect(outcomeOf(await send({ query: nested(6) }))).toBe('OK');
    const refused = await send({ query: nested(7) });
    expect(refused.status).toBe(400);
    expect(outcomeOf(refused)).toBe('QUERY_TOO_COMPLEX');
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', retryable: false, maxDepth: 6 });
    expect(refused.body.data).toBeUndefined();
  });

  it('counts depth through fragments and inline fragments', async () => {
    const viaFragment = `query { transactions(first: 1) { edges { node { ...R } } } } fragment R on Transaction { reverses { reverses { ... on Transaction { reverses { id } } } } }`;
    expect(outcomeOf(await send({ query: viaFragment }))).toBe('QUERY_TOO_COMPLEX');
  });

  it('accepts a page whose cost is exactly GRAPHQL_MAX_COMPLEXITY and refuses one row more', async () => {
    expect(outcomeOf(await send({ query: PAGE(333) }))).toBe('OK');
    const refused = await send({ query: PAGE(334) });
    expect(outcomeOf(refused)).toBe('QUERY_TOO_COMPLEX');
    expect(refused.body.errors[0].extensions.maxComplexity).toBe(1000);
  });

  it('reads `first` from variables, and counts an omitted `first` as the default page of 50', async () => {
    const query = `query($n: Int) { accounts(first: $n) { edges { node { id party { name } } } } }`;
    expect(outcomeOf(await send({ query, variables: { n: 333 } }))).toBe('OK');
    expect(outcomeOf(await send({ query, variables: { n: 334 } }))).toBe('QUERY_TOO_COMPLEX');
    // 7 aliases of a default page: 7 × (1 + 50 × 3) = 1057.
    const aliases = Array.from({ length: 7 }, (_, i) => `a${i}: accounts { edges { node { id party { name } } } }`).join(' ');
    expect(outcomeOf(await send({ query: `{ ${aliases} }` }))).toBe('QUERY_TOO_COMPLEX');
    expect(outcomeOf(await send({ query: `{ ${aliases.split(' a6:')[0]} }` }))).toBe('OK');
  });

  it('leaves page-size errors to the resolver: first: 100000 is VALIDATION_FAILED, not a cost refusal', async () => {
    expect(outcomeOf(await send({ query: '{ accounts(first: 100000) { edges { cursor } } }' }))).toBe('VALIDATION_FAILED');
  });

  it('refuses fragments that fan out exponentially without expanding them', async () => {
    const levels = 12;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1
        ? `fragment F${i} on Account { id }`
        : `fragment F${i} on Account { ...F${i + 1} ...F${i + 1} ...F${i + 1} ...F${i + 1} }`,
    ).join(' ');
    const started = Date.now();
    const response = await send({ query: `{ accounts(first: 1) { edges { node { ...F0 } } } } ${fragments}` });
    expect(outcomeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a document longer than GRAPHQL_MAX_TOKENS with QUERY_TOO_COMPLEX', async () => {
    const response = await send({ query: `{ me { ${'role '.repeat(3000)} } }` });
    expect(response.status).toBe(400);
    expect(outcomeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.body.errors[0].message).toMatch(/too long/);
  });

  it('refuses introspection in production unless GRAPHQL_INTROSPECTION turns it on, and then does not count it', async () => {
    expect(outcomeOf(await send({ query: getIntrospectionQuery() }))).toBe('VALIDATION_FAILED');
    const open = await startLedger({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHQL_MAX_DEPTH: '3' });
    try {
      const response = await postRaw(open.service.url, JSON.stringify({ query: getIntrospectionQuery() }), open.service.adminKey);
      expect(outcomeOf(response)).toBe('OK');
      expect(response.body.data.__schema.queryType.name).toBe('Query');
    } finally {
      await open.stop();
    }
  });
});

describe('expensive fields cost what they do (SPEC B.1), with the default limits', () => {
  let ledger: TestLedger;
  let accountId: string;
  const send = (body: unknown) => postRaw(ledger.service.url, JSON.stringify(body), ledger.service.adminKey);
  const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

  beforeAll(async () => {
    ledger = await startLedger();
    await createCurrency(ledger.admin, 'HOUR', 'TIME', 2);
    accountId = await openAccount(ledger.admin, await registerParty(ledger.admin, 'MEMBER', 'Ana'), 'HOUR');
  });
  afterAll(async () => ledger.stop());

  it('runs verifyLedger and exportJournal at most once per operation, aliases and fragments included', async () => {
    expect(outcomeOf(await send({ query: '{ verifyLedger { ok } }' }))).toBe('OK');
    for (const n of [2, 12]) {
      const refused = await send({ query: aliases(n, 'verifyLedger { ok }') });
      expect(outcomeOf(refused)).toBe('QUERY_TOO_COMPLEX');
      expect(refused.status).toBe(400);
    }
    const viaFragments = '{ ...V ...W } fragment V on Query { verifyLedger { ok } } fragment W on Query { again: verifyLedger { ok } }';
    expect(outcomeOf(await send({ query: viaFragments }))).toBe('QUERY_TOO_COMPLEX');
    expect(outcomeOf(await send({ query: '{ exportJournal(currency: "HOUR", format: CSV) }' }))).toBe('OK');
    expect(outcomeOf(await send({ query: aliases(1500, 'exportJournal(currency: "HOUR", format: CSV)') }))).toBe('QUERY_TOO_COMPLEX');
    expect(outcomeOf(await send({ query: '{ exportJournal(currency: "HOUR", format: CSV) verifyLedger { ok } }' }))).toBe('OK');
  });

  it('charges every history read: 250 balanceAt pass, 251 do not (cost 20 each, limit 5000), nor 1500', async () => {
    const balanceAt = `balanceAt(accountId: "${accountId}", asOf: "2030-01-01T00:00:00Z")`;
    expect(outcomeOf(await send({ query: aliases(250, balanceAt) }))).toBe('OK');
    expect(outcomeOf(await send({ query: aliases(251, balanceAt) }))).toBe('QUERY_TOO_COMPLEX');
    expect(outcomeOf(await send({ query: aliases(1500, balanceAt) }))).toBe('QUERY_TOO_COMPLEX');
  });

  it('counts plain lists at their declared bound: five trial balances of 1000 lines are too many', async () => {
    const lines = 'trialBalance(currency: "HOUR") { lines { account { id } } }';
    expect(outcomeOf(await send({ query: aliases(4, lines) }))).toBe('OK');
    expect(outcomeOf(await send({ query: aliases(5, lines) }))).toBe('QUERY_TOO_COMPLEX');
  });

  it('counts the default of a variable when the request leaves it out', async () => {
    const query =
      'query($n: Int = 500) { a: accounts(first: $n) { edges { node { id party { name } } } } b: accounts(first: $n) { edges { node { id party { name } } } } c: accounts(first: $n) { edges { node { id party { name } } } } d: accounts(first: $n) { edges { node { id party { name } } } } }';
    expect(outcomeOf(await send({ query }))).toBe('QUERY_TOO_COMPLEX');
    expect(outcomeOf(await send({ query, variables: { n: 10 } }))).toBe('OK');
    // The same document again, with other values: measured per value, not served from the first answer.
    expect(outcomeOf(await send({ query, variables: { n: 500 } }))).toBe('QUERY_TOO_COMPLEX');
  });
});
