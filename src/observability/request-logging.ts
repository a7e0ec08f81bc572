import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { attachRequestContext, type RequestContext } from './request-context';

/** An incoming X-Request-Id is kept when it is a plain token, else a fresh one is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** What Express adds to Node's request and response that is read here. */
type ExpressRequest = IncomingMessage & { originalUrl?: string; route?: { path?: unknown } };

/** The path without its query string (which may carry a GET query's variables). */
function pathOf(req: ExpressRequest): string {
  return (req.originalUrl ?? req.url ?? '').split('?')[0]?.slice(0, 200) ?? '';
}
type ExpressResponse = ServerResponse & { locals?: Record<string, unknown> };

function routeOf(req: ExpressRequest): string {
  if (pathOf(req) === '/graphql') return 'graphql';
  const route = req.route?.path;
  // Unmatched paths are not echoed into labels: anyone can invent them.
  return typeof route === 'string' ? `${req.method ?? 'GET'} ${route}` : 'unmatched';
}

/**
 * The first middleware of every request: gives it a request id (echoed as X-Request-Id) and its
 * RequestContext, counts it in flight for a graceful stop,
 * and when it ends writes one log line and the request metrics. The log line holds ids, the
 * route, status and timing only: no headers, no query string, no body.
 */
export function requestLogging(logger: Logger, metrics: Metrics, lifecycle: Lifecycle) {
  return (req: ExpressRequest, res: ExpressResponse, next: () => void): void => {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const context: RequestContext = {
      requestId: typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID(),
    };
    res.setHeader('x-request-id', context.requestId);
    // A stopping instance asks keep-alive clients to reconnect, to an instance that stays.
    if (lifecycle.stopping) res.setHeader('connection', 'close');
    lifecycle.requestStarted();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      lifecycle.requestEnded();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const operation = context.operation ?? routeOf(req);
      const status = res.statusCode;
      const answered = res.writableFinished;
      const localOutcome = res.locals?.outcome;
      const outcome = !answered
        ? 'aborted'
        : (context.outcome ?? (typeof localOutcome === 'string' ? localOutcome : status < 400 ? 'ok' : `HTTP_${status}`));
      metrics.observeRequest(operation, outcome, seconds);
      logger.info(
        {
          reqId: context.requestId,
          ...(context.apiKeyId ? { apiKeyId: context.apiKeyId } : {}),
          method: req.method,
          path: pathOf(req),
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
    attachRequestContext(req, context);
    next();
  };
}
