import { Kind } from 'graphql';
import type { ApolloPlugin } from '../graphql/query-cost';
import { currentRequest } from './request-context';

/**
 * Names each GraphQL request for logs and metrics by its first root field (`transfer`,
 * `accounts`): a bounded set, unlike client-chosen operation names. The outcome is 'ok' or the
 * code of the first error, as the client received it.
 */
export function graphqlOperationPlugin(): ApolloPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation }) {
          const context = currentRequest();
          const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
          if (context && first?.kind === Kind.FIELD) context.operation = first.name.value;
          return Promise.resolve();
        },
        willSendResponse({ response }) {
          const context = currentRequest();
          if (context && response.body.kind === 'single') {
            const code = response.body.singleResult.errors?.[0]?.extensions?.code;
            context.outcome = typeof code === 'string' ? code : 'ok';
          }
          return Promise.resolve();
        },
      });
    },
  };
}
