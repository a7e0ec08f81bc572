import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { attachRequestContext, type RequestContext } from './request-context';

/** An incoming X-Request-Id is kept when it is a plain token, else a fresh one is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The path without its query string (which may carry a GET query's variables). */
function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)).slice(0, 200);
}

function routeOf(request: FastifyRequest, path: string): string {
  if (path === '/graphql') return 'graphql';
  const route = request.routeOptions.url;
  // Unmatched paths are not echoed into labels: anyone can invent them.
  return typeof route === 'string' ? `${request.method} ${route}` : 'unmatched';
}

/**
 * The first hook of every request: gives it a request id (echoed as X-Request-Id) and its
 * RequestContext, counts it in flight for a graceful stop, and when it ends writes one log line
 * and the request metrics. The log line holds ids, the route, status and timing only: no
 * headers, no query string, no body. It is built only when info lines are written.
 */
export function installRequestLogging(fastify: FastifyInstance, logger: Logger, metrics: Metrics, lifecycle: Lifecycle): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    track(request, reply, logger, metrics, lifecycle);
    done();
  });
}

function track(request: FastifyRequest, reply: FastifyReply, logger: Logger, metrics: Metrics, lifecycle: Lifecycle): void {
  const started = process.hrtime.bigint();
  const incoming = request.headers['x-request-id'];
  const context: RequestContext = {
    requestId: typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID(),
  };
  void reply.header('x-request-id', context.requestId);
  // A stopping instance asks keep-alive clients to reconnect, to an instance that stays.
  if (lifecycle.stopping) void reply.header('connection', 'close');
  lifecycle.requestStarted();
  attachRequestContext(request, context);
  const res = reply.raw;
  let ended = false;
  // 'close' also comes when the client goes away before the answer: the request is still counted out.
  const end = () => {
    if (ended) return;
    ended = true;
    lifecycle.requestEnded();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const path = pathOf(request);
    const operation = context.operation ?? routeOf(request, path);
    const status = res.statusCode;
    const outcome = !res.writableFinished ? 'aborted' : (context.outcome ?? (status < 400 ? 'ok' : `HTTP_${status}`));
    metrics.observeRequest(operation, outcome, seconds);
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        reqId: context.requestId,
        ...(context.apiKeyId ? { apiKeyId: context.apiKeyId } : {}),
        method: request.method,
        path,
        status,
        durationMs: Math.round(seconds * 10_000) / 10,
        operation,
        outcome,
      },
      'request',
    );
  };
  res.once('finish', end);
  res.once('close', end);
}
