import { type ExecutionResult, type FormattedExecutionResult, GraphQLError, type GraphQLFormattedError, parse } from 'graphql';
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

/** What Apollo calls an invalid request; the error mapping turns it into VALIDATION_FAILED. */
const INVALID_REQUEST = 'GRAPHQL_VALIDATION_FAILED';

/**
 * graphql-ws sends errors as they are thrown; these hooks pass them through the same mapping
 * as HTTP responses, so a subscription's refusal carries `extensions.code` too:
 * - `onSubscribe` answers a query that does not parse with an error instead of letting the
 *   parser's exception close the whole socket;
 * - `onError` gets the request's parse and validation errors (no original error: the request
 *   is at fault) and errors thrown by a running subscription (a DomainError, or INTERNAL);
 * - `onNext` formats the errors of each result (a refused subscribe, a field refused in an event).
 */
export function graphqlWsHooks(isProduction: boolean, log: (error: unknown) => void) {
  const format = (errors: readonly GraphQLError[], requestErrors: boolean): GraphQLFormattedError[] =>
    errors.map((error) => {
      const formatted = error.toJSON();
      const invalid = requestErrors && error.originalError === undefined;
      return formatError(
        invalid ? { ...formatted, extensions: { ...formatted.extensions, code: INVALID_REQUEST } } : formatted,
        error,
        isProduction,
        log,
      );
    });
  return {
    onSubscribe: (_ctx: unknown, _id: string, payload: { query: string }): readonly GraphQLError[] | void => {
      try {
        parse(payload.query);
      } catch (error) {
        return [error instanceof GraphQLError ? error : new GraphQLError('The query could not be parsed')];
      }
    },
    onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: ExecutionResult): FormattedExecutionResult | void =>
      result.errors ? { ...result, errors: format(result.errors, false) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
      format(errors, true),
  };
}
