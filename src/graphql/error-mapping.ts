import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { assertUnreachable, DomainError, ErrorCode } from '../common/domain-error';
import { sqlState } from '../database/database';

/**
 * The one place where refusals become GraphQL errors. Every response error carries
 * `extensions.code` from SPEC section 6; nothing internal (stack, SQL) leaves in production.
 */

/** Whether a client may simply send the same request again later. */
function retryable(code: ErrorCode): boolean {
  switch (code) {
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.OUTCOME_UNKNOWN:
    case ErrorCode.INTERNAL:
      return true;
    case ErrorCode.UNAUTHENTICATED:
    case ErrorCode.FORBIDDEN:
    case ErrorCode.NOT_FOUND:
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.INVALID_AMOUNT:
    case ErrorCode.CURRENCY_MISMATCH:
    case ErrorCode.UNBALANCED:
    case ErrorCode.INSUFFICIENT_FUNDS:
    case ErrorCode.BALANCE_LIMIT_EXCEEDED:
    case ErrorCode.ACCOUNT_FROZEN:
    case ErrorCode.ACCOUNT_CLOSED:
    case ErrorCode.ALREADY_REVERSED:
    case ErrorCode.HOLD_NOT_PENDING:
    case ErrorCode.IDEMPOTENCY_CONFLICT:
    case ErrorCode.QUERY_TOO_COMPLEX:
      return false;
    default:
      return assertUnreachable(code);
  }
}

/** Apollo's own codes for requests that are not valid GraphQL for this schema. */
const REQUEST_SHAPE_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export function findDomainError(error: unknown): DomainError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof DomainError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * A refusal as a GraphQL error carrying its HTTP meaning: RATE_LIMITED adds a `Retry-After`
 * header (whole seconds). The status stays 200, as for every execution error: the Nest Apollo
 * driver keeps `{ data, errors }` responses at 200 so that clients parse them as GraphQL.
 */
export function domainErrorToGraphQL(error: DomainError): GraphQLError {
  const extensions: Record<string, unknown> = domainExtensions(error);
  const retryAfterMs = error.extra?.retryAfterMs;
  if (error.code === ErrorCode.RATE_LIMITED && typeof retryAfterMs === 'number') {
    const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    // Apollo merges `extensions.http` into the response (header names in lower case) and removes it.
    extensions.http = { headers: new Map([['retry-after', seconds]]) };
  }
  return new GraphQLError(error.message, { originalError: error, extensions });
}

/**
 * PostgreSQL's own refusals of input the services should have caught first: data exceptions
 * (SQLSTATE class 22: bad text encoding, out-of-range dates and numbers, malformed values) and
 * program limits (class 54: a value too large to index). A safety net, so that nothing malformed
 * can surface as INTERNAL.
 */
function databaseInputError(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const state = sqlState(current);
    if (state && /^[0-9A-Z]{5}$/.test(state) && (state.startsWith('22') || state.startsWith('54'))) return state;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function domainExtensions(error: DomainError): Record<string, unknown> {
  return {
    code: error.code,
    retryable: retryable(error.code),
    ...(error.fields ? { fields: error.fields } : {}),
    ...(error.extra ?? {}),
  };
}

/** graphql-js refuses a document over `maxTokens` with this parse error. */
const TOO_MANY_TOKENS = /Document contains more th(?:an|at) \d+ tokens/;

/** Apollo's csrfPrevention refusal, whose own text is a paragraph of advice. */
const CSRF_REFUSAL = /Cross-Site Request Forgery/;

/**
 * What a stranger may read of a refused request in production: no schema hints ("Did you
 * mean ...?") that would reveal the schema, no advice on reconfiguring the server.
 */
function publicMessage(message: string): string {
  if (/introspection is not allowed/i.test(message)) return 'Introspection is turned off on this server';
  return message.replace(/\s*Did you mean[^?]*\?/g, '');
}

export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  isProduction: boolean,
  log: (error: unknown) => void,
): GraphQLFormattedError {
  const domain = findDomainError(error);
  if (domain) {
    return { message: domain.message, locations: formatted.locations, path: formatted.path, extensions: domainExtensions(domain) };
  }
  const apolloCode = formatted.extensions?.code;
  if (apolloCode === 'GRAPHQL_PARSE_FAILED' && TOO_MANY_TOKENS.test(formatted.message)) {
    return {
      message: 'The query is too long; send large inputs as variables',
      extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, retryable: false },
    };
  }
  if (typeof apolloCode === 'string' && REQUEST_SHAPE_CODES.has(apolloCode)) {
    const message = CSRF_REFUSAL.test(formatted.message)
      ? 'Refused as a possible cross-site request forgery (CSRF): send a POST with "content-type: application/json", or set the "apollo-require-preflight" header on a GET query'
      : isProduction
        ? publicMessage(formatted.message)
        : formatted.message;
    return {
      message,
      locations: formatted.locations,
      extensions: { code: ErrorCode.VALIDATION_FAILED, retryable: false, fields: [{ field: 'request', message }] },
    };
  }
  if (Object.values(ErrorCode).includes(apolloCode as ErrorCode)) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { ...formatted.extensions, code: apolloCode },
    };
  }
  const state = databaseInputError(error);
  if (state) {
    log(error);
    const message = 'A value in this request is not acceptable (out of range or badly encoded)';
    return {
      message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.VALIDATION_FAILED, retryable: false, fields: [{ field: 'request', message }], sqlState: state },
    };
  }
  log(error);
  return {
    message: isProduction ? 'Internal error; the request can be retried with the same idempotency key' : formatted.message,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL, retryable: true },
  };
}
