import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { DomainError, ErrorCode } from '../common/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { requestContextOf } from '../observability/request-context';
import { bodyRefusalOf, errorBody } from './http-errors';
import { httpStatus } from './http-status';

/**
 * Without this filter Nest logs every exception a resolver throws as an error with its stack:
 * every refusal (an unknown key, a breached limit), which floods the logs and slows the hot path,
 * and every unexpected error a second time, without its request id. In GraphQL the exception is
 * handed on untouched: error mapping gives it its code, and the request's own log records an
 * unexpected one (graphqlOperationPlugin). Over plain HTTP, a refused body (too large, not JSON,
 * see http-body.ts) and a refusal get the usual JSON error body, and anything else Nest's default
 * handling (logged, a JSON 500).
 */
@Catch()
export class RefusalFilter implements ExceptionFilter {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') return exception;
    const http = host.switchToHttp();
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = http.getResponse();
    const body = bodyRefusalOf(exception, this.config.maxBodyBytes);
    if (body) {
      const context = requestContextOf(http.getRequest());
      if (context) context.outcome = ErrorCode.VALIDATION_FAILED;
      adapter.reply(response, errorBody(ErrorCode.VALIDATION_FAILED, body.message, 'body'), body.status);
      return undefined;
    }
    if (!(exception instanceof DomainError)) {
      new BaseExceptionFilter(adapter).catch(exception, host);
      return undefined;
    }
    if (!adapter.isHeadersSent(response)) adapter.reply(response, errorBody(exception.code, exception.message), httpStatus(exception.code));
    return undefined;
  }
}
