import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { DomainError } from '../common/domain-error';
import { httpStatus } from '../ledger/query/export.controller';
import { errorBody } from './http-errors';

/**
 * Without this filter Nest logs every exception a resolver throws as an error with its stack:
 * every refusal (an unknown key, a breached limit), which floods the logs and slows the hot path,
 * and every unexpected error a second time, without its request id. In GraphQL the exception is
 * handed on untouched: error mapping gives it its code, and the request's own log records an
 * unexpected one (graphqlOperationPlugin). On a plain HTTP route a refusal gets the usual JSON
 * error body, and anything else Nest's default handling (logged, a JSON 500).
 */
@Catch()
export class RefusalFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') return exception;
    if (!(exception instanceof DomainError)) {
      new BaseExceptionFilter(this.adapterHost.httpAdapter).catch(exception, host);
      return undefined;
    }
    const response = host.switchToHttp().getResponse<ServerResponse>();
    if (!response.headersSent) {
      response.statusCode = httpStatus(exception.code);
      response.setHeader('content-type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(errorBody(exception.code, exception.message)));
    }
    return undefined;
  }
}
