import { type GraphQLFormattedError, Kind, type OperationDefinitionNode } from 'graphql';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import type { Logger } from './logger';
import { requestContextOf } from './request-context';

type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/** The HTTP request behind a GraphQL operation, where the request context lives. */
function requestOf(contextValue: unknown): unknown {
  return typeof contextValue === 'object' && contextValue !== null ? (contextValue as { req?: unknown }).req : undefined;
}

/**
 * Names a GraphQL request for logs and metrics by its first root field (`transfer`,
 * `accounts`): a bounded set, unlike client-chosen operation names. Called once the operation
 * is resolved, by Apollo's plugin below and by the direct HTTP path (graphql/direct-http.ts).
 */
export function noteOperation(contextValue: unknown, operation: OperationDefinitionNode | null | undefined): void {
  const context = requestContextOf(requestOf(contextValue));
  const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  if (context && first?.kind === Kind.FIELD) context.operation = first.name.value;
}

/**
 * Records the outcome of a GraphQL request: 'ok' or the code of the first error, as the client
 * received it (`formatted`). Errors that reached the client as INTERNAL (or as a database
 * refusal of input) are logged here, with the request id and API key id that tie them to their
 * request line; `errors` are the errors before formatting, in the same order.
 */
export function noteOutcome(
  logger: Logger,
  contextValue: unknown,
  formatted: readonly GraphQLFormattedError[],
  errors: readonly unknown[] | undefined,
): void {
  const context = requestContextOf(requestOf(contextValue));
  const code = formatted[0]?.extensions?.code;
  if (context) context.outcome = typeof code === 'string' ? code : 'ok';
  formatted.forEach((error, i) => {
    if (error.extensions?.code !== 'INTERNAL' && error.extensions?.sqlState === undefined) return;
    const ids = context ? { reqId: context.requestId, ...(context.apiKeyId ? { apiKeyId: context.apiKeyId } : {}) } : {};
    const original = errors?.[i] as { originalError?: unknown } | undefined;
    logger.error({ ...ids, operation: context?.operation, path: error.path, err: original?.originalError ?? original }, 'request failed');
  });
}

/** Logs and counts each GraphQL request Apollo serves (noteOperation, noteOutcome). */
export function graphqlOperationPlugin(logger: Logger): ApolloPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation, contextValue }) {
          noteOperation(contextValue, operation);
          return Promise.resolve();
        },
        willSendResponse({ response, contextValue, errors }) {
          if (response.body.kind === 'single') noteOutcome(logger, contextValue, response.body.singleResult.errors ?? [], errors);
          return Promise.resolve();
        },
      });
    },
  };
}
