import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { assertUnreachable, DomainError, ErrorCode } from '../common/domain-error';

/**
 * The one place where refusals become GraphQL errors. Every response error carries
 * `extensions.code` from SPEC section 6; nothing internal (stack, SQL) leaves in production.
 */

/** Whether a client may simply send the same request again later. */
function retryable(code: ErrorCode): boolean {
  switch (code) {
    case ErrorCode.RATE_LIMITED:
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

export function domainErrorToGraphQL(error: DomainError): GraphQLError {
  return new GraphQLError(error.message, { extensions: domainExtensions(error) });
}

function domainExtensions(error: DomainError): Record<string, unknown> {
  return {
    code: error.code,
    retryable: retryable(error.code),
    ...(error.fields ? { fields: error.fields } : {}),
    ...(error.extra ?? {}),
  };
}

/** Removes schema hints ("Did you mean ...?") that would reveal the schema to strangers. */
function withoutSuggestions(message: string): string {
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
  if (typeof apolloCode === 'string' && REQUEST_SHAPE_CODES.has(apolloCode)) {
    const message = isProduction ? withoutSuggestions(formatted.message) : formatted.message;
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
  log(error);
  return {
    message: isProduction ? 'Internal error; the request can be retried with the same idempotency key' : formatted.message,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL, retryable: true },
  };
}
