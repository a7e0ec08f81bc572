import { HttpException } from '@nestjs/common';
import { ErrorCode } from '../common/domain-error';
import { BodyRefusal } from './http-body';

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

/** A refused body: its HTTP status (4xx) and what the client is told. */
export interface BodyRefusalResponse {
  readonly status: number;
  readonly message: string;
}

function describe(reason: string, maxBodyBytes: number): string {
  switch (reason) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
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

/**
 * Whether an exception that reached the HTTP exception layer is a refusal of the request body:
 * one of http-body.ts, one of Fastify's own body reader (its codes start FST_ERR_CTP_, such as a
 * body over the limit), or a failed inflation (zlib's codes start Z_). Nest hands the first two
 * over wrapped in an HttpException whose cause is the original.
 */
export function bodyRefusalOf(exception: unknown, maxBodyBytes: number): BodyRefusalResponse | undefined {
  const error: unknown = exception instanceof HttpException && exception.cause !== undefined ? exception.cause : exception;
  if (!(error instanceof Error)) return undefined;
  if (error instanceof BodyRefusal) return { status: error.statusCode, message: describe(error.reason, maxBodyBytes) };
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  if (code.startsWith('FST_ERR_CTP_') || code.startsWith('Z_')) return { status: statusCode, message: describe(code, maxBodyBytes) };
  return undefined;
}
