import {
  type DocumentNode,
  execute,
  type ExecutionArgs,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  subscribe,
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
  type ValidationRule,
} from 'graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import type { AppConfig } from '../config/config';
import { formatError } from './error-mapping';
import { measureOperation, type QueryLimits } from './query-cost';
import type { WsConnection, WsSessions } from './ws-sessions';

/**
 * The context graphql/ builds for an operation: the HTTP request, or graphql-ws's
 * connectionParams. The identity guard adds the caller (identity/auth.guard's LedgerContext has
 * this shape and more); graphql/ knows no feature, so it does not name the caller here.
 */
export interface OperationContext {
  req?: { headers: Record<string, string | string[] | undefined> };
  connectionParams?: Record<string, unknown>;
  /** graphql-ws: the socket's context (limits, logs) and the client's address (requests without a valid key). */
  connection?: unknown;
  address?: string;
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
  const connection = input as Partial<WsConnection>;
  return {
    req: { headers: {} },
    connectionParams: { ...(connection.connectionParams ?? {}) },
    connection,
    address: connection.extra?.request?.socket?.remoteAddress,
  };
}

/** What Apollo calls a request that does not parse, or is not valid for the schema. */
const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
const INVALID_REQUEST = 'GRAPHQL_VALIDATION_FAILED';

/** The limits of one GraphQL operation, over HTTP and WebSocket: its tokens, then its depth and cost. */
export interface OperationLimits extends QueryLimits {
  readonly maxTokens: number;
}

export function operationLimits(config: AppConfig): OperationLimits {
  return {
    maxDepth: config.maxQueryDepth,
    maxCost: config.maxQueryComplexity,
    maxVisits: config.maxQueryTokens,
    maxTokens: config.maxQueryTokens,
  };
}

/**
 * The rules a document is validated by, wherever this service runs operations itself (graphql-ws,
 * the direct HTTP path): graphql-js's own and, unless introspection is allowed, no introspection
 * (Apollo refuses the same `__schema` and `__type` fields for its own requests).
 */
export function validationRules(introspection: boolean): readonly ValidationRule[] {
  return introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
}

/**
 * graphql-ws runs operations itself, outside Apollo's plugins, error formatting and parse
 * options; these options give WebSocket operations the same limits, logs, metrics and error
 * mapping as HTTP (SPEC B.1):
 * - `onConnect` requires a valid key at connection_init (else the socket closes with 4403);
 *   a revoked key's sockets are closed by WsSessions.closeKey;
 * - `onSubscribe` refuses an operation beyond the per-socket and per-key limits, and parses with
 *   the token limit, answering a document that does not parse with an error instead of letting
 *   the parser's exception close the whole socket;
 * - `validate` refuses introspection in production (unless GRAPHQL_INTROSPECTION allows it);
 * - `execute` and `subscribe` apply the depth and cost limits with the operation's variables,
 *   exactly as over HTTP, and log and count each operation;
 * - `onError` gets parse and validation errors (no original error: the request is at fault)
 *   and errors thrown by a running subscription (a DomainError, or INTERNAL);
 * - `onNext` formats the errors of each result (a refused subscribe, a field refused in an event).
 */
export function graphqlWsOptions(
  limits: OperationLimits,
  options: { isProduction: boolean; introspection: boolean },
  sessions: WsSessions,
  log: (error: unknown) => void,
) {
  const format = (errors: readonly GraphQLError[], requestErrors: boolean): GraphQLFormattedError[] =>
    errors.map((error) => {
      const formatted = error.toJSON();
      const code = formatted.extensions?.code ?? (requestErrors && error.originalError === undefined ? INVALID_REQUEST : undefined);
      return formatError(
        code === undefined ? formatted : { ...formatted, extensions: { ...formatted.extensions, code } },
        error,
        options.isProduction,
        log,
      );
    });
  const parseLimited = (source: string) => parse(source, { maxTokens: limits.maxTokens });
  const rules = validationRules(options.introspection);
  /** Runs an operation within the limits, then logs and counts it. */
  const run =
    (operate: (args: ExecutionArgs) => unknown) =>
    async (args: ExecutionArgs): Promise<unknown> => {
      const started = process.hrtime.bigint();
      const connection = (args.contextValue as { connection?: WsConnection } | undefined)?.connection;
      const operation = getOperationAST(args.document, args.operationName);
      const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
      const name = first?.kind === Kind.FIELD ? first.name.value : 'unknown';
      let result: unknown;
      try {
        if (operation) measureOperation(args.schema, args.document, operation, args.variableValues ?? undefined, limits);
        result = await operate(args);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        result = { errors: [new GraphQLError(error.message, { originalError: error })] } satisfies ExecutionResult;
      }
      const errors = (result as ExecutionResult).errors;
      const code = errors?.[0] ? format([errors[0]], false)[0]?.extensions?.code : 'ok';
      if (connection) sessions.observe(connection, name, typeof code === 'string' ? code : 'INTERNAL', started);
      return result;
    };
  return {
    parse: parseLimited,
    execute: run((args) => execute(args)),
    subscribe: run((args) => subscribe(args)),
    // graphql-ws types `extra` as unknown; with the ws server it is { socket, request }.
    onConnect: (ctx: { connectionParams?: Readonly<Record<string, unknown>> }): Promise<boolean> => {
      const params = ctx.connectionParams ?? {};
      return sessions.admit(ctx as WsConnection, bearerOf(params.authorization ?? params.Authorization));
    },
    onClose: (ctx: unknown): void => sessions.closed(ctx as WsConnection),
    onSubscribe: (ctx: unknown, _id: string, payload: { query: string }): readonly GraphQLError[] | void => {
      const refusal = sessions.refusal(ctx as WsConnection);
      if (refusal) return [new GraphQLError(refusal, { extensions: { code: ErrorCode.RATE_LIMITED } })];
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
    validate: (schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] => validate(schema, document, rules),
    onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: ExecutionResult): FormattedExecutionResult | void =>
      result.errors ? { ...result, errors: format(result.errors, false) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
      format(errors, true),
  };
}

/** The key of an `Authorization: Bearer <key>` value (identity has the same; this folder may not import it). */
function bearerOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1];
}
