import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the logs and metrics know about the request being served, carried through its async work
 * (resolvers, services, repositories) without being passed by hand. Only identifiers: never the
 * API key's secret, a name, a handle or a memo.
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

const storage = new AsyncLocalStorage<RequestContext>();

export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

export function runInRequest<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** Records which API key is making the current request (called where keys are authenticated). */
export function noteApiKey(apiKeyId: string): void {
  const context = storage.getStore();
  if (context) context.apiKeyId = apiKeyId;
}
