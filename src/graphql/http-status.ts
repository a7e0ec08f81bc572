import { assertUnreachable, ErrorCode } from '../common/domain-error';

/** The HTTP status of a refusal outside GraphQL: the REST endpoints and requests refused before GraphQL runs. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.INTERNAL:
      return 500;
    case ErrorCode.OUTCOME_UNKNOWN:
      return 503;
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.INVALID_AMOUNT:
    case ErrorCode.CURRENCY_MISMATCH:
    case ErrorCode.UNBALANCED:
    case ErrorCode.QUERY_TOO_COMPLEX:
      return 400;
    case ErrorCode.INSUFFICIENT_FUNDS:
    case ErrorCode.BALANCE_LIMIT_EXCEEDED:
    case ErrorCode.ACCOUNT_FROZEN:
    case ErrorCode.ACCOUNT_CLOSED:
    case ErrorCode.ALREADY_REVERSED:
    case ErrorCode.HOLD_NOT_PENDING:
    case ErrorCode.IDEMPOTENCY_CONFLICT:
      return 409;
    default:
      return assertUnreachable(code);
  }
}
