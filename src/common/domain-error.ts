/**
 * Expected refusals, typed. The domain throws these and never GraphQL or HTTP errors; the
 * GraphQL layer maps each code in one exhaustive place (src/graphql/error-mapping.ts).
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  INVALID_AMOUNT = 'INVALID_AMOUNT',
  CURRENCY_MISMATCH = 'CURRENCY_MISMATCH',
  UNBALANCED = 'UNBALANCED',
  INSUFFICIENT_FUNDS = 'INSUFFICIENT_FUNDS',
  ACCOUNT_FROZEN = 'ACCOUNT_FROZEN',
  ACCOUNT_CLOSED = 'ACCOUNT_CLOSED',
  ALREADY_REVERSED = 'ALREADY_REVERSED',
  HOLD_NOT_PENDING = 'HOLD_NOT_PENDING',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  RATE_LIMITED = 'RATE_LIMITED',
  BALANCE_LIMIT_EXCEEDED = 'BALANCE_LIMIT_EXCEEDED',
  /** SPEC B.2: the ledger could not confirm whether the request was posted; retry with the same idempotency key. */
  OUTCOME_UNKNOWN = 'OUTCOME_UNKNOWN',
  INTERNAL = 'INTERNAL',
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: readonly FieldProblem[],
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function validationFailed(field: string, message: string): DomainError {
  return new DomainError(ErrorCode.VALIDATION_FAILED, `${field}: ${message}`, [{ field, message }]);
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError(ErrorCode.NOT_FOUND, `${what} ${id} was not found`);
}

export function forbidden(message = 'This API key may not do that'): DomainError {
  return new DomainError(ErrorCode.FORBIDDEN, message);
}

/**
 * The same refusal, naming the item of a list request it concerns: "item 3: ..." with
 * `extensions.index` 3, so a client can find the one bad entry of a batch.
 */
export function atItem(error: DomainError, index: number): DomainError {
  if (error.extra?.index !== undefined) return error;
  return new DomainError(error.code, `item ${index}: ${error.message}`, error.fields, { ...error.extra, index });
}

/** Compile-time exhaustiveness for switches over enums and unions. */
export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}
