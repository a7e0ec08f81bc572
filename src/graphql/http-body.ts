import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * How a request body becomes JSON before GraphQL sees it, on Fastify:
 * - only `application/json` in UTF-8 is read (a JSON object or array, as body-parser's strict
 *   mode did); every other content type is left unread, so that Apollo's CSRF prevention
 *   refuses the simple requests a foreign site can send (text/plain, forms) with its usual 400;
 * - `Content-Encoding` gzip, deflate and br are inflated, and the limit applies to the inflated
 *   bytes (a small gzip bomb is still too large); other encodings are refused with 415;
 * - a body over `maxBodyBytes` is refused with 413 before it is read when its Content-Length
 *   says so, else as soon as it grows past the limit.
 * Refusals are thrown as errors carrying a status; RefusalFilter turns them into the JSON error
 * body of every other refusal (see describeBodyRefusal in http-errors.ts).
 */
export class BodyRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: 'encoding.unsupported' | 'charset.unsupported' | 'entity.parse.failed',
  ) {
    super(reason);
  }
}

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** Fastify compares this with Content-Length, and counts it against the limit too. */
type InflatingStream = NodeJS.ReadWriteStream & { receivedEncodedLength: number };

function inflate(request: FastifyRequest, payload: Readable): Readable | BodyRefusal {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined) return payload;
  const name = encoding.trim().toLowerCase();
  if (name === 'identity' || name === '') return payload;
  const decoder = DECODERS[name];
  if (!decoder) return new BodyRefusal(415, 'encoding.unsupported');
  const inflating = decoder() as InflatingStream;
  inflating.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    inflating.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (error) => inflating.emit('error', error));
  return payload.pipe(inflating) as unknown as Readable;
}

/** The charset parameter, if the Content-Type names one. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

function isUtf8(contentType: string | undefined): boolean {
  // The common case, answered without a regular expression.
  if (contentType === undefined || contentType === 'application/json') return true;
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** body-parser's strict mode: the body starts with `{` or `[` after optional whitespace. */
const STRICT_START = /^[ \t\n\r]*[{[]/;

function parseJson(request: FastifyRequest, body: string): unknown {
  if (!isUtf8(request.headers['content-type'])) throw new BodyRefusal(415, 'charset.unsupported');
  // JSON.parse is the same parser body-parser used; the first character rules out scalars.
  const first = body.charCodeAt(0);
  if (!(first === 0x7b || first === 0x5b) && !STRICT_START.test(body)) throw new BodyRefusal(400, 'entity.parse.failed');
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new BodyRefusal(400, 'entity.parse.failed');
  }
}

/** Installs the body rules above on the Fastify instance (before the application starts). */
export function installBodyParsing(fastify: FastifyInstance, maxBodyBytes: number): void {
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    const stream = inflate(request, payload);
    if (stream instanceof BodyRefusal) done(stream);
    else done(null, stream);
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBodyBytes }, (request, body, done) => {
    try {
      done(null, parseJson(request, body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Any other type is not read: GraphQL gets no body, and Apollo refuses the request.
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
}
