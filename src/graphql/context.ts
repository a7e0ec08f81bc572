import type { ExecutionResult, FormattedExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import type { LedgerContext } from '../identity/auth.guard';
import { formatError } from './error-mapping';

type HttpRequest = NonNullable<LedgerContext['req']>;

/**
 * The GraphQL context of an operation. Over HTTP it carries the request (whose Authorization
 * header holds the key); over WebSocket (graphql-ws) the operation has no HTTP request of its
 * own and the key travels in `connectionParams`, so the request is an empty one. Without it,
 * Nest would put the graphql-ws connection object where the request belongs.
 */
export function graphqlContext(input: { req?: HttpRequest; connectionParams?: Readonly<Record<string, unknown>> }): LedgerContext {
  if (input.req) return { req: input.req };
  return { req: { headers: {} }, connectionParams: { ...(input.connectionParams ?? {}) } };
}

/**
 * graphql-ws sends errors as they are thrown; these hooks pass them through the same mapping
 * as HTTP responses, so a subscription refusal carries `extensions.code` too.
 */
export function graphqlWsErrorHooks(isProduction: boolean, log: (error: unknown) => void) {
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => formatError(error.toJSON(), error, isProduction, log));
  return {
    onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: ExecutionResult): FormattedExecutionResult | void =>
      result.errors ? { ...result, errors: format(result.errors) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]): GraphQLFormattedError[] => format(errors),
  };
}
