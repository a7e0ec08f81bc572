import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import { httpStatus } from '../ledger/query/export.controller';
import { errorBody } from './http-errors';

/**
 * Refusals are expected outcomes, not faults: without this filter Nest logs every one of them
 * (an unknown key, a breached limit) as an error with its stack, flooding the logs and slowing
 * the hot path. This filter hands them on untouched: to GraphQL, where error mapping gives them
 * their code, and on a plain HTTP route as the usual JSON error body. Unexpected errors are not
 * caught here, so they are still logged.
 */
@Catch(DomainError, GraphQLError)
export class RefusalFilter implements ExceptionFilter {
  catch(exception: DomainError | GraphQLError, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') return exception;
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const code = exception instanceof DomainError ? exception.code : ErrorCode.VALIDATION_FAILED;
    if (!response.headersSent) {
      response.statusCode = httpStatus(code);
      response.setHeader('content-type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(errorBody(code, exception.message)));
    }
    return undefined;
  }
}
