import { ErrorCode } from '../common/domain-error';

/**
 * Refusals that happen before GraphQL sees a request (the body is too large, is not JSON, has an
 * unsupported encoding) get the same JSON shape as every other error, with a code from SPEC
 * section 6, instead of the framework's own body.
 */
export interface GraphQLErrorBody {
  errors: { message: string; extensions: { code: ErrorCode; retryable: boolean; fields?: { field: string; message: string }[] } }[];
}

export function errorBody(code: ErrorCode, message: string, field?: string): GraphQLErrorBody {
  return { errors: [{ message, extensions: { code, retryable: false, ...(field ? { fields: [{ field, message }] } : {}) } }] };
}

/** The part of Express's response used here (the project does not depend on @types/express). */
export interface JsonResponse {
  readonly headersSent: boolean;
  readonly locals: Record<string, unknown>;
  status(code: number): JsonResponse;
  json(body: unknown): unknown;
}

/**
 * The errors of body-parser carry an HTTP status (4xx) and usually a `type` naming the problem
 * (a failed gzip inflation has none).
 */
interface BodyParserError {
  status: number;
  type?: unknown;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  if (typeof error !== 'object' || error === null) return false;
  const { status } = error as { status?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500;
}

function describe(error: BodyParserError, maxBodyBytes: number): string {
  switch (error.type) {
    case 'entity.too.large':
      return `The request body is larger than ${maxBodyBytes} bytes`;
    case 'entity.parse.failed':
      return 'The request body is not valid JSON (a JSON object such as {"query": "..."} is expected)';
    case 'encoding.unsupported':
      return 'The request body uses a content encoding this server does not accept';
    case 'charset.unsupported':
      return 'The request body must be UTF-8 JSON';
    default:
      return 'The request body could not be read';
  }
}

/** An Express error handler placed right after the body parser. */
export function bodyParserErrors(maxBodyBytes: number) {
  return (error: unknown, _req: unknown, res: JsonResponse, next: (error?: unknown) => void): void => {
    if (!isBodyParserError(error) || res.headersSent) {
      next(error);
      return;
    }
    res.locals.outcome = ErrorCode.VALIDATION_FAILED;
    res.status(error.status).json(errorBody(ErrorCode.VALIDATION_FAILED, describe(error, maxBodyBytes), 'body'));
  };
}
