import type { FastifyInstance } from 'fastify';

/**
 * Headers that keep a browser from misusing the API's JSON answers: never sniffed as HTML or
 * script, never framed, never cached by a shared cache, no referrer sent onwards. Only on JSON
 * (the explorer's HTML and files set their own).
 */
const JSON_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const PREFLIGHT_MAX_AGE_SECONDS = '600';

/**
 * CORS for the web apps named in CORS_ORIGINS (exact origins, e.g. https://app.example.org), and
 * security headers on every JSON answer. An origin not listed gets no CORS headers, so browsers
 * keep its pages from reading answers (keys travel in the Authorization header, never in cookies,
 * so credentials are not allowed).
 */
export function installHttpSecurity(fastify: FastifyInstance, corsOrigins: ReadonlySet<string>): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !corsOrigins.has(origin)) return done();
    void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      void reply
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, x-request-id, apollo-require-preflight')
        .header('access-control-max-age', PREFLIGHT_MAX_AGE_SECONDS)
        .code(204)
        .send();
      return;
    }
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.includes('json')) {
      for (const [name, value] of Object.entries(JSON_SECURITY_HEADERS)) if (!reply.hasHeader(name)) void reply.header(name, value);
    }
    done(null, payload);
  });
}
