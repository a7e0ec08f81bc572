import { Kind } from 'graphql';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import type { Logger } from './logger';
import { requestContextOf } from './request-context';

type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/** The HTTP request behind a GraphQL operation, where the request context lives. */
function requestOf(contextValue: unknown): unknown {
  return typeof contextValue === 'object' && contextValue !== null ? (contextValue as { req?: unknown }).req : undefined;
}

/**
 * Names each GraphQL request for logs and metrics by its first root field (`transfer`,
 * `accounts`): a bounded set, unlike client-chosen operation names. Its outcome is 'ok' or the
 * code of the first error, as the client received it. Errors that reached the client as INTERNAL
 * (or as a database refusal of input) are logged here, with the request id and API key id that
 * tie them to their request line.
 */
export function graphqlOperationPlugin(logger: Logger): ApolloPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation, contextValue }) {
          const context = requestContextOf(requestOf(contextValue));
          const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
          if (context && first?.kind === Kind.FIELD) context.operation = first.name.value;
          return Promise.resolve();
        },
        willSendResponse({ response, contextValue, errors }) {
          if (response.body.kind !== 'single') return Promise.resolve();
          const formatted = response.body.singleResult.errors ?? [];
          const context = requestContextOf(requestOf(contextValue));
          const code = formatted[0]?.extensions?.code;
          if (context) context.outcome = typeof code === 'string' ? code : 'ok';
          formatted.forEach((error, i) => {
            if (error.extensions?.code !== 'INTERNAL' && error.extensions?.sqlState === undefined) return;
            const ids = context ? { reqId: context.requestId, ...(context.apiKeyId ? { apiKeyId: context.apiKeyId } : {}) } : {};
            logger.error(
              { ...ids, operation: context?.operation, path: error.path, err: errors?.[i]?.originalError ?? errors?.[i] },
              'request failed',
            );
          });
          return Promise.resolve();
        },
      });
    },
  };
}
