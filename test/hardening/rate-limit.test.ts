import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { outcomeOf, postRaw } from '../support/http';
import { createCurrency, openAccount, registerParty, snapshot } from '../support/ledger';
import { type RunningService, startService } from '../support/service';

const RATE = { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' };

describe('rate limiting per API key (RATE_LIMITED)', () => {
  let databaseUrl: string;
  let service: RunningService;
  let admin: GqlClient;
  let memberKey: string;
  let exemptKey: string;
  let exemptKeyId: string;
  let from: string;
  let to: string;

  async function createKey(role: string, partyId: string | null, label: string): Promise<{ id: string; secret: string }> {
    const data = await admin.ok(
      'mutation($role: Role!, $party: ID, $label: String) { createApiKey(role: $role, partyId: $party, label: $label) { secret apiKey { id } } }',
      { role, party: partyId, label },
    );
    return { id: data.createApiKey.apiKey.id, secret: data.createApiKey.secret };
  }

  const me = (key: string) => postRaw(service.url, JSON.stringify({ query: '{ me { role } }' }), key);

  beforeAll(async () => {
    databaseUrl = await createTestDatabase({ migrated: true });
    // First without limits, to set up the ledger and learn the ids of the keys.
    service = await startService(databaseUrl);
    admin = new GqlClient(service.url, service.adminKey);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const ana = await registerParty(admin, 'MEMBER', 'Ana');
    from = await openAccount(admin, ana, 'HOUR');
    to = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR');
    memberKey = (await createKey('MEMBER', ana, 'phone')).secret;
    ({ id: exemptKeyId, secret: exemptKey } = await createKey('ADMIN', null, 'bench'));
    await service.stop();
    service = await startService(databaseUrl, { ...RATE, RATE_LIMIT_EXEMPT_KEYS: exemptKeyId }, service.adminKey);
    admin = new GqlClient(service.url, service.adminKey);
  });
  afterAll(async () => service.stop());

  /** Sends `count` requests at once; with a burst of 3 and 1 per second, the rest are refused. */
  const burst = (key: string, count: number) => Promise.all(Array.from({ length: count }, () => me(key)));

  it('lets a key spend its burst, then refuses it with RATE_LIMITED, retryAfterMs and a Retry-After header', async () => {
    const responses = await burst(memberKey, 8);
    const outcomes = responses.map(outcomeOf);
    expect(outcomes.filter((o) => o === 'OK').length).toBeGreaterThanOrEqual(3);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
    expect(new Set(outcomes)).toEqual(new Set(['OK', 'RATE_LIMITED']));
    const refused = responses.find((r) => outcomeOf(r) === 'RATE_LIMITED');
    const extensions = refused?.body.errors[0].extensions;
    expect(extensions).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(extensions.retryAfterMs).toBeGreaterThan(0);
    expect(extensions.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.status).toBe(200);
  });

  it('lets the key in again once the hinted wait has passed', async () => {
    const refused = (await burst(memberKey, 4)).filter((r) => outcomeOf(r) === 'RATE_LIMITED');
    expect(refused.length).toBeGreaterThan(0);
    // The latest hint counts; on a busy machine a request of the burst may be served after it was
    // given and take the token it promised, so allow one more refill interval (1 s at this rate).
    const hintMs = Math.max(...refused.map((r) => r.body.errors[0].extensions.retryAfterMs as number));
    await sleep(hintMs + 1000);
    expect(outcomeOf(await me(memberKey))).toBe('OK');
  });

  it('posts nothing for a refused transfer, and counts each key on its own', async () => {
    const member = new GqlClient(service.url, memberKey);
    const exempt = new GqlClient(service.url, exemptKey);
    const before = await snapshot(exempt);
    const transfers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        member.request(
          'mutation($from: ID!, $to: ID!, $key: String!) { transfer(from: $from, to: $to, amount: "1", idempotencyKey: $key) { id } }',
          {
            from,
            to,
            key: `limited-${i}`,
          },
        ),
      ),
    );
    const codes = transfers.map((t) => t.errors?.[0]?.extensions?.code ?? 'POSTED');
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(4);
    expect(new Set(codes.filter((c) => c !== 'RATE_LIMITED'))).toEqual(new Set(codes.includes('POSTED') ? ['POSTED'] : []));
    const posted = codes.filter((c) => c === 'POSTED').length;
    const after = await exempt.ok('{ transactions(first: 500) { edges { node { id } } } }');
    expect(after.transactions.edges.length).toBe(JSON.parse(before).transactions.edges.length + posted);
    expect(outcomeOf(await me(service.adminKey))).toBe('OK');
  });

  it('never limits a key listed in RATE_LIMIT_EXEMPT_KEYS', async () => {
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => me(exemptKey).then(outcomeOf)));
    expect(new Set(outcomes)).toEqual(new Set(['OK']));
  });

  it('refuses to start with a malformed RATE_LIMIT_EXEMPT_KEYS, saying why', async () => {
    await expect(startService(databaseUrl, { RATE_LIMIT_EXEMPT_KEYS: 'bench-key' })).rejects.toThrow(
      /RATE_LIMIT_EXEMPT_KEYS must be a comma-separated list of API key ids/,
    );
  });
});
