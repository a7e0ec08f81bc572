import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  parse,
  validate,
  type ValidationRule,
} from 'graphql';
import { noteOperation, noteOutcome } from '../observability/graphql-operation.plugin';
import type { Logger } from '../observability/logger';
import { graphqlContext, type OperationLimits, validationRules } from './context';
import { formatError } from './error-mapping';
import { enforceLimits } from './query-cost';

/**
 * The direct HTTP path: a GraphQL POST that is a plain case is served with graphql-js here,
 * without Apollo Server's per-request pipeline (its plugin hooks and promises, a SHA-256 of the
 * query text, content negotiation and MIME parsing, the incremental-delivery polyfill), which
 * cost more service CPU than a transfer's own checks. Every other request goes to Apollo,
 * untouched. The answer is the one Apollo gives, byte for byte (test/graphql-direct-http.test.ts
 * compares them): the same context, limits, execution, error mapping, status, content type,
 * body, log line and metrics.
 *
 * A plain case is one where every rule Apollo would apply has a known result:
 * - POST, Content-Type exactly `application/json` (optionally `; charset=utf-8`): the body was
 *   read as JSON (http-body.ts) and Apollo's CSRF prevention lets it through;
 * - an Accept header absent or one of RESPONSE_TYPES, whose content type Apollo would choose;
 * - a body `{ query, variables?, operationName? }` with a non-empty string query, variables an
 *   object or null, no `extensions` (persisted queries stay Apollo's);
 * - a query text that parsed (with the same token limit) and validated (with the same rules)
 *   before: such documents are kept, by their text, in a bounded cache; a text that did not
 *   parse or validate is remembered too and always handed to Apollo, which refuses it;
 * - an operation that resolves (getOperationAST) and is a query or a mutation.
 */

/** Apollo's content types for a single result (MEDIA_TYPES in @apollo/server). */
export const JSON_RESPONSE = 'application/json; charset=utf-8';
export const GRAPHQL_RESPONSE = 'application/graphql-response+json; charset=utf-8';

/**
 * Accept headers whose answer's content type is known: what Apollo's negotiation picks among
 * its JSON types for each (the test sends every one to both paths). An absent header means JSON.
 */
export const RESPONSE_TYPES: ReadonlyMap<string, string> = new Map([
  ['*/*', JSON_RESPONSE],
  ['application/json', JSON_RESPONSE],
  ['application/json; charset=utf-8', JSON_RESPONSE],
  ['application/json, text/plain, */*', JSON_RESPONSE],
  ['application/json, */*', JSON_RESPONSE],
  ['application/graphql-response+json', GRAPHQL_RESPONSE],
  ['application/graphql-response+json; charset=utf-8', GRAPHQL_RESPONSE],
  ['application/graphql-response+json, application/json', GRAPHQL_RESPONSE],
  ['application/graphql-response+json, application/json;q=0.9', GRAPHQL_RESPONSE],
  ['application/graphql-response+json;charset=utf-8, application/json;charset=utf-8;q=0.9', GRAPHQL_RESPONSE],
]);

/** Request content types that are JSON as http-body.ts reads it and pass Apollo's CSRF check. */
const JSON_REQUEST_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
  'application/json; charset=UTF-8',
]);

/** Query texts kept at most, and their longest: a longer text is Apollo's (it hashes and caches it itself). */
const MAX_DOCUMENTS = 500;
const MAX_QUERY_CHARS = 10_000;

export interface DirectHttpOptions {
  /** The schema Apollo executes; read at the first request (it is built while the application starts). */
  readonly schema: () => GraphQLSchema;
  readonly limits: OperationLimits;
  readonly introspection: boolean;
  readonly isProduction: boolean;
  readonly logger: Logger;
}

/** A request this path serves: its document, operation, variables and answer's content type. */
interface Plan {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly variables: Record<string, unknown> | undefined;
  readonly operationName: string | undefined;
  readonly contentType: string;
}

/** The response to a plan, before it is written: as Apollo's HTTP head and single result. */
interface Answer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly data?: unknown;
  /** As the client gets them (formatError), and as they were (for the log). */
  readonly formatted?: readonly GraphQLFormattedError[];
  readonly errors?: readonly GraphQLError[];
}

/**
 * Puts the direct path in front of Apollo's route for `path` (registered by the Nest Apollo
 * driver while the application starts, so this must be installed before it). Returns the count
 * of requests it served, for the metrics.
 */
export function installDirectGraphQL(
  fastify: FastifyInstance,
  path: string,
  options: DirectHttpOptions,
): { readonly served: () => number } {
  let direct: DirectGraphQL | undefined;
  let served = 0;
  fastify.addHook('onRoute', (route) => {
    if (route.url !== path) return;
    const apollo = route.handler;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      direct ??= new DirectGraphQL(options);
      const plan = request.method === 'POST' ? direct.plan(request) : undefined;
      if (!plan) return apollo.call(this, request, reply);
      served++;
      return direct.serve(plan, request, reply);
    };
  });
  return { served: () => served };
}

class DirectGraphQL {
  private readonly schema: GraphQLSchema;
  private readonly documents: Documents;

  constructor(private readonly options: DirectHttpOptions) {
    this.schema = options.schema();
    // Apollo's rules; a document they refuse goes to Apollo.
    this.documents = new Documents(this.schema, validationRules(options.introspection), options.limits.maxTokens);
  }

  /** The plan for a request this path serves exactly as Apollo would, or undefined: Apollo's. */
  plan(request: FastifyRequest): Plan | undefined {
    const type = request.headers['content-type'];
    if (type === undefined || !JSON_REQUEST_TYPES.has(type)) return undefined;
    const accept = request.headers.accept;
    const contentType = accept === undefined || accept === '' ? JSON_RESPONSE : RESPONSE_TYPES.get(accept);
    if (contentType === undefined) return undefined;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const { query, variables, operationName, extensions } = body as Record<string, unknown>;
    if (typeof query !== 'string' || query === '' || extensions !== undefined) return undefined;
    if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
    const document = this.documents.get(query);
    if (!document) return undefined;
    const name = operationName ?? undefined;
    const operation = getOperationAST(document, name);
    if (!operation || operation.operation === OperationTypeNode.SUBSCRIPTION) return undefined;
    return { document, operation, variables: isRecord(variables) ? variables : undefined, operationName: name, contentType };
  }

  /** Runs the plan and writes the answer as Apollo's Fastify handler does; resolves to the body. */
  async serve(plan: Plan, request: FastifyRequest, reply: FastifyReply): Promise<string> {
    // The context Apollo's context function gives the operation: { req }.
    const contextValue = graphqlContext(request);
    noteOperation(contextValue, plan.operation);
    const answer = await this.answer(plan, contextValue);
    noteOutcome(this.options.logger, contextValue, answer.formatted ?? [], answer.errors);
    for (const [name, value] of answer.headers) void reply.header(name, value);
    void reply.header('content-type', plan.contentType).code(answer.status);
    // Apollo's field order and its stringifyResult (JSON and a newline); undefined fields drop out.
    return JSON.stringify({ errors: answer.formatted, data: answer.data }) + '\n';
  }

  private async answer(plan: Plan, contextValue: unknown): Promise<Answer> {
    const { document, operation, variables, operationName } = plan;
    let result: ExecutionResult;
    try {
      enforceLimits(this.schema, document, operation, variables, this.options.limits);
      result = await execute({ schema: this.schema, document, contextValue, variableValues: variables, operationName });
    } catch (error) {
      // Apollo's sendErrorResponse: a refusal before execution, or execution that threw.
      const errors = [toGraphQLError(error)];
      const { formatted, status, headers } = this.format(errors);
      return { status: status ?? 500, headers, formatted, errors };
    }
    const errors = result.errors?.map(asBadUserInput);
    const { formatted, status, headers } = errors ? this.format(errors) : { formatted: undefined, status: undefined, headers: new Map() };
    // The Nest Apollo driver keeps every answer with `data` at 200; without data (the variables
    // did not coerce), Apollo answers 400 unless an error set a status.
    const code = 'data' in result ? 200 : (status ?? (errors?.length ? 400 : 200));
    return { status: code, headers, data: result.data, formatted, errors };
  }

  /**
   * Apollo's normalizeAndFormatErrors: a code for every error (INTERNAL_SERVER_ERROR when it has
   * none), `extensions.http` moved into the response's status and headers, then formatError.
   */
  private format(errors: readonly GraphQLError[]): { formatted: GraphQLFormattedError[]; status?: number; headers: Map<string, string> } {
    let status: number | undefined;
    const headers = new Map<string, string>();
    const formatted = errors.map((error) => {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
      const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
      if (isHttpHead(http)) {
        if (http.status) status = http.status;
        for (const [name, value] of http.headers ?? []) headers.set(name.toLowerCase(), value);
        delete extensions.http;
      }
      try {
        return formatError({ ...error.toJSON(), extensions }, error, this.options.isProduction, () => undefined);
      } catch {
        return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
    });
    return { formatted, status, headers };
  }
}

/**
 * Parsed and validated documents by their query text (no hash: the text is the key), or null
 * for a text that did not parse or validate, which Apollo answers. Bounded in count and length;
 * the oldest entry goes first.
 */
class Documents {
  private readonly entries = new Map<string, DocumentNode | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly maxTokens: number,
  ) {}

  get(query: string): DocumentNode | undefined {
    let entry = this.entries.get(query);
    if (entry === undefined) {
      if (query.length > MAX_QUERY_CHARS) return undefined;
      entry = this.load(query);
      if (this.entries.size >= MAX_DOCUMENTS) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(query, entry);
    }
    return entry ?? undefined;
  }

  private load(query: string): DocumentNode | null {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.maxTokens });
    } catch {
      return null;
    }
    return validate(this.schema, document, this.rules).length === 0 ? document : null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Apollo's HTTP head in an error's extensions: a numeric status and a Map of headers, each optional. */
function isHttpHead(value: unknown): value is { status?: number; headers?: Map<string, string> } {
  if (typeof value !== 'object' || value === null) return false;
  const head = value as { status?: unknown; headers?: unknown };
  return (!('status' in head) || typeof head.status === 'number') && (!('headers' in head) || head.headers instanceof Map);
}

/** Apollo's ensureGraphQLError. */
function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof Error) return new GraphQLError(error.message, { originalError: error });
  return new GraphQLError(`Unexpected error value: ${String(error)}`);
}

/** The messages graphql-js gives a variable whose value does not coerce (Apollo's isBadUserInputGraphQLError). */
const VARIABLE_ERRORS = ['has invalid value', 'got invalid value ', 'of required type ', 'of non-null type '];

/** Apollo gives such an error the code BAD_USER_INPUT (its UserInputError), unless it has a code. */
function asBadUserInput(error: GraphQLError): GraphQLError {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION || error.extensions.code != null) return error;
  const prefix = `Variable "$${node.variable.name.value}" `;
  if (!VARIABLE_ERRORS.some((rest) => error.message.startsWith(prefix + rest))) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    originalError: error.originalError ?? error,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
  });
}
