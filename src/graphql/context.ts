import {
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
} from 'graphql';
import { DomainError } from '../common/domain-error';
import { formatError } from './error-mapping';
import { measureOperation, type QueryLimits } from './query-cost';

/**
 * The context graphql/ builds for an operation: the HTTP request, or graphql-ws's
 * connectionParams. The identity guard adds the caller (identity/auth.guard's LedgerContext has
 * this shape and more); graphql/ knows no feature, so it does not name the caller here.
 */
export interface OperationContext {
  req?: { headers: Record<string, string | string[] | undefined> };
  connectionParams?: Record<string, unknown>;
}
type LedgerContext = OperationContext;
type HttpRequest = NonNullable<LedgerContext['req']>;

/**
 * The GraphQL context of an operation. Over HTTP it carries the request (Fastify's, whose
 * Authorization header holds the key, and on which the request context lives); over WebSocket
 * (graphql-ws) the operation has no HTTP request of its own and the key travels in
 * `connectionParams`, so the request is an empty one. Without it, Nest would put the graphql-ws
 * connection object where the request belongs.
 */
export function graphqlContext(input: HttpRequest | { connectionParams?: Readonly<Record<string, unknown>> }): LedgerContext {
  // Fastify's integration passes the request itself; graphql-ws passes its connection context.
  if ('raw' in input) return { req: input as HttpRequest };
  const { connectionParams } = input as { connectionParams?: Readonly<Record<string, unknown>> };
  return { req: { headers: {} }, connectionParams: { ...(connectionParams ?? {}) } };
}

/** What Apollo calls a request that does not parse, or is not valid for the schema. */
const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
const INVALID_REQUEST = 'GRAPHQL_VALIDATION_FAILED';

export interface WsLimits extends QueryLimits {
  readonly maxTokens: number;
}

/**
 * graphql-ws runs operations itself, outside Apollo's plugins, error formatting and parse
 * options; these options give WebSocket operations the same limits and the same error
 * mapping as HTTP:
 * - `onSubscribe` parses with the token limit and answers a document that does not parse with
 *   an error, instead of letting the parser's exception close the whole socket;
 * - `validate` adds the depth and cost limits of src/graphql/query-cost.ts to the schema's
 *   rules (variables are not known there: `first: $n` counts as the default page);
 * - `onError` gets parse and validation errors (no original error: the request is at fault)
 *   and errors thrown by a running subscription (a DomainError, or INTERNAL);
 * - `onNext` formats the errors of each result (a refused subscribe, a field refused in an event).
 */
export function graphqlWsOptions(limits: WsLimits, isProduction: boolean, log: (error: unknown) => void) {
  const format = (errors: readonly GraphQLError[], requestErrors: boolean): GraphQLFormattedError[] =>
    errors.map((error) => {
      const formatted = error.toJSON();
      const code = formatted.extensions?.code ?? (requestErrors && error.originalError === undefined ? INVALID_REQUEST : undefined);
      return formatError(
        code === undefined ? formatted : { ...formatted, extensions: { ...formatted.extensions, code } },
        error,
        isProduction,
        log,
      );
    });
  const parseLimited = (source: string) => parse(source, { maxTokens: limits.maxTokens });
  return {
    parse: parseLimited,
    onSubscribe: (_ctx: unknown, _id: string, payload: { query: string }): readonly GraphQLError[] | void => {
      try {
        parseLimited(payload.query);
      } catch (error) {
        return [
          new GraphQLError(error instanceof Error ? error.message : 'The query could not be parsed', {
            extensions: { code: PARSE_FAILED },
          }),
        ];
      }
    },
    validate: (schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] => {
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      try {
        for (const definition of document.definitions) {
          if (definition.kind === Kind.OPERATION_DEFINITION) measureOperation(schema, document, definition, undefined, limits);
        }
      } catch (error) {
        if (error instanceof DomainError) return [new GraphQLError(error.message, { originalError: error })];
        throw error;
      }
      return [];
    },
    onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: ExecutionResult): FormattedExecutionResult | void =>
      result.errors ? { ...result, errors: format(result.errors, false) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
      format(errors, true),
  };
}
