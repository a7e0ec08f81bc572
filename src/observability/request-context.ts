/**
 * What the logs and metrics know about the request being served, kept on the request object by
 * the logging middleware. Only identifiers: never the API key's secret, a name, a handle or a
 * memo.
 *
 * Not an AsyncLocalStorage: on Node 20 it slows every promise of the process (measured: the
 * simplest authenticated query lost 40% of its throughput), while everything that needs the
 * context can reach the request object.
 */
export interface RequestContext {
  readonly requestId: string;
  /** The id (not the secret) of the API key, once authenticated. */
  apiKeyId?: string;
  /** The GraphQL root field, or the route, for metrics labels. */
  operation?: string;
  /** 'ok', or the code of the first error. */
  outcome?: string;
}

const CONTEXT = Symbol('ledger.requestContext');

type Carrier = object & { [CONTEXT]?: RequestContext };

export function attachRequestContext(req: object, context: RequestContext): void {
  (req as Carrier)[CONTEXT] = context;
}

/** The context of an HTTP request; undefined for objects that are not one (a WebSocket operation's stand-in). */
export function requestContextOf(req: unknown): RequestContext | undefined {
  return typeof req === 'object' && req !== null ? (req as Carrier)[CONTEXT] : undefined;
}

/** Records which API key is making the request (called where keys are authenticated). */
export function noteApiKey(req: unknown, apiKeyId: string): void {
  const context = requestContextOf(req);
  if (context) context.apiKeyId = apiKeyId;
}
