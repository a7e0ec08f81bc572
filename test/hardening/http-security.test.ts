import { postRaw, rawRequest } from '../support/http';
import { startLedger, type TestLedger } from '../support/ledger';

/** Hole 9 of issue 12: web apps on named origins (CORS_ORIGINS), and security headers on JSON answers. */
describe('HTTP: CORS for named origins, security headers on JSON', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger({ CORS_ORIGINS: 'https://app.example.org, http://localhost:5173' });
  });
  afterAll(async () => ledger.stop());

  it('answers JSON with nosniff, no framing, no caching and no referrer', async () => {
    const response = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), ledger.service.adminKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const refused = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }));
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('lets a listed origin call the API from a browser (preflight and request), and no other', async () => {
    const preflight = await rawRequest(ledger.service.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const call = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), ledger.service.adminKey, {
      origin: 'http://localhost:5173',
    });
    expect(call.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const stranger = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), ledger.service.adminKey, {
      origin: 'https://evil.example.com',
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    const strangerPreflight = await rawRequest(ledger.service.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(strangerPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
