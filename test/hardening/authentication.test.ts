import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { createTestDatabase } from '../support/database';
import { outcomeOf, postRaw, rawRequest } from '../support/http';
import { createKey, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { metricOf } from '../support/metrics';
import { startService } from '../support/service';

/** Holes 5 and 9 of issue 12: what requests without a valid key cost, and configuration hygiene. */

const ME_ALIASES = `{ ${Array.from({ length: 3000 }, (_, i) => `a${i}: me { role }`).join(' ')} }`;

function lookups(ledger: TestLedger): Promise<number> {
  return metricOf(ledger.service, 'ledger_api_key_lookups_total');
}

describe('authentication: once per request, unknown keys remembered, anonymous floods limited', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger();
    await lookups(ledger); // the admin key is now cached
  });
  afterAll(async () => ledger.stop());

  it('looks a bad key up once for 3,000 aliases of `me`, and not at all when it comes again at once', async () => {
    const before = await lookups(ledger);
    const refused = await postRaw(ledger.service.url, JSON.stringify({ query: ME_ALIASES }), 'sl_not_a_key_at_all_0123456789');
    expect(outcomeOf(refused)).toBe('UNAUTHENTICATED');
    expect(refused.status).toBeLessThan(500);
    expect((await lookups(ledger)) - before).toBe(1);
    const again = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), 'sl_not_a_key_at_all_0123456789');
    expect(outcomeOf(again)).toBe('UNAUTHENTICATED');
    expect((await lookups(ledger)) - before).toBe(1);
  });

  it('authenticates a valid key once for 3,000 aliases', async () => {
    const key = await createKey(ledger.admin, 'MEMBER', await registerParty(ledger.admin, 'MEMBER', 'Ana'));
    const before = await lookups(ledger);
    const response = await postRaw(ledger.service.url, JSON.stringify({ query: ME_ALIASES }), key);
    expect(outcomeOf(response)).toBe('OK');
    expect(Object.keys(response.body.data)).toHaveLength(3000);
    expect((await lookups(ledger)) - before).toBe(1);
  });

  it('rate limits requests without a valid key per client address, on by default, while valid keys go on', async () => {
    const responses = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), `sl_flood_${i}_0123456789abcdef`),
      ),
    );
    const outcomes = responses.map(outcomeOf);
    expect(new Set(outcomes)).toEqual(new Set(['UNAUTHENTICATED', 'RATE_LIMITED']));
    expect(outcomes.filter((o) => o === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(40);
    const limited = responses.find((r) => outcomeOf(r) === 'RATE_LIMITED');
    expect(limited?.status).toBe(200); // as for a key's own limit: a GraphQL answer with Retry-After
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await ledger.admin.ok('{ me { role } }')).me.role).toBe('ADMIN');
  });

  it('turns every limit off with RATE_LIMIT_PER_SECOND=0', async () => {
    const open = await startLedger({ RATE_LIMIT_PER_SECOND: '0' });
    try {
      const responses = await Promise.all(
        Array.from({ length: 80 }, (_, i) =>
          postRaw(open.service.url, JSON.stringify({ query: '{ me { role } }' }), `sl_flood_${i}_0123456789abcdef`),
        ),
      );
      expect(new Set(responses.map(outcomeOf))).toEqual(new Set(['UNAUTHENTICATED']));
    } finally {
      await open.stop();
    }
  });

  it('serves /metrics only to ADMIN and AUDITOR keys unless METRICS_PUBLIC=true', async () => {
    const metrics = `${ledger.service.baseUrl}/metrics`;
    expect((await rawRequest(metrics)).status).toBe(403);
    const member = await createKey(ledger.admin, 'MEMBER', await registerParty(ledger.admin, 'MEMBER', 'Ben'));
    expect((await rawRequest(metrics, { headers: { authorization: `Bearer ${member}` } })).status).toBe(403);
    const auditor = await createKey(ledger.admin, 'AUDITOR');
    expect((await rawRequest(metrics, { headers: { authorization: `Bearer ${auditor}` } })).status).toBe(200);
  });
});

describe('configuration hygiene', () => {
  it('treats NODE_ENV=staging as production: no introspection, and /metrics public only when asked', async () => {
    const staging = await startLedger({ NODE_ENV: 'staging', METRICS_PUBLIC: 'true' });
    try {
      const introspection = await postRaw(
        staging.service.url,
        JSON.stringify({ query: getIntrospectionQuery() }),
        staging.service.adminKey,
      );
      expect(outcomeOf(introspection)).toBe('VALIDATION_FAILED');
      expect((await rawRequest(`${staging.service.baseUrl}/metrics`)).status).toBe(200);
    } finally {
      await staging.stop();
    }
  });

  it('refuses to start with an ADMIN_API_KEY shorter than 32 characters', async () => {
    const databaseUrl = await createTestDatabase();
    await expect(startService(databaseUrl, {}, 'sl_short_admin_key_1234')).rejects.toThrow(/ADMIN_API_KEY must be at least 32 characters/);
  });

  it('prints a generated admin key at the start that creates it, never again', async () => {
    const databaseUrl = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-admin-'));
    try {
      const env = { NODE_ENV: 'development', ADMIN_API_KEY: '', DATA_DIR: dataDir };
      const first = await startService(databaseUrl, env);
      const deadline = Date.now() + 10_000;
      while (!first.output().includes('Admin API key') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const secret = /generated now, kept in .*:\n\s+(sl_\S+)/.exec(first.output())?.[1];
      await first.stop();
      expect(secret).toMatch(/^sl_/);
      const second = await startService(databaseUrl, env);
      const until = Date.now() + 10_000;
      while (!second.output().includes('Admin API key') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const output = second.output();
      await second.stop();
      expect(output).toContain('Admin API key: the one generated at the first start');
      expect(output).not.toContain(secret as string);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
