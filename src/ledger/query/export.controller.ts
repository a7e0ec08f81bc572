import { Readable } from 'node:stream';
import { Controller, Get, Logger, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode, validationFailed } from '../../common/domain-error';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { ApiKeyService } from '../../identity/api-key.service';
import { bearer } from '../../identity/auth.guard';
import { RateLimiter } from '../../identity/rate-limiter';
import { noteApiKey } from '../../observability/request-context';
import { httpStatus } from '../../graphql/http-status';
import { type ExportRequest, JournalExportService } from './journal-export.service';
import { ExportFormat } from './report.models';
import { type ActivityArgs, ReportService } from './report.service';

function single(value: unknown, name: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string') throw validationFailed(name, 'give it once, as text');
  return value;
}

function parseRequest(query: Record<string, unknown>): ExportRequest {
  const currency = single(query.currency, 'currency');
  if (!currency) throw validationFailed('currency', 'is required');
  const formatText = single(query.format, 'format') ?? 'HLEDGER';
  const format = Object.values(ExportFormat).find((known) => known.valueOf() === formatText);
  if (!format) throw validationFailed('format', 'HLEDGER or CSV');
  const instant = (name: string): Date | null => {
    const text = single(query[name], name);
    return text === null ? null : DateTimeScalar.parseValue(text);
  };
  return { currency, format, from: instant('from'), to: instant('to') };
}

function parseActivityRequest(query: Record<string, unknown>): ActivityArgs {
  const currency = single(query.currency, 'currency');
  if (!currency) throw validationFailed('currency', 'is required');
  const instant = (name: string): Date => {
    const value = single(query[name], name);
    if (value === null) throw validationFailed(name, 'is required');
    return DateTimeScalar.parseValue(value);
  };
  return { currency, from: instant('from'), to: instant('to') };
}

/**
 * `GET /exports/journal?currency=HOUR&format=HLEDGER|CSV&from=...&to=...`: the same export as the
 * GraphQL `exportJournal`, streamed a page at a time with back-pressure, so that an export of any
 * size holds one page in memory. Authenticated with the same `Authorization: Bearer <api key>` and
 * scoped the same way. The GraphQL guard does not apply to plain HTTP routes, so this handler
 * authenticates and rate-limits itself before anything else.
 */
@Controller('exports')
export class ExportController {
  private readonly log = new Logger('Export');

  constructor(
    private readonly keys: ApiKeyService,
    private readonly limiter: RateLimiter,
    private readonly exports: JournalExportService,
    private readonly reports: ReportService,
  ) {}

  @Get('journal')
  async journal(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: Record<string, unknown>): Promise<void> {
    let prepared;
    try {
      const header = req.headers.authorization;
      const caller = await this.keys.authenticate(bearer(header));
      noteApiKey(req, caller.apiKeyId);
      this.limiter.take(caller);
      prepared = await this.exports.prepare(caller, parseRequest(query));
    } catch (error) {
      this.refuse(reply, error);
      return;
    }
    void reply
      .code(200)
      .header(
        'content-type',
        prepared.format === ExportFormat.CSV ? 'text/csv; charset=utf-8; header=present' : 'text/plain; charset=utf-8',
      )
      .header('content-disposition', `attachment; filename="${prepared.fileName}"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff');
    // Fastify pipes the stream with back-pressure, and destroys it (closing the cursor) when the
    // client goes away.
    void reply.send(Readable.from(this.logged(prepared.chunks(), prepared.currency.code)));
  }

  /**
   * `GET /exports/activity?currency=HOUR&from=...&to=...`: the `activity` report as CSV for a
   * spreadsheet (`account_id,party,credited,debited,transactions`), authenticated, rate-limited
   * and scoped like the journal export; both instants are required, the period is [from, to).
   */
  @Get('activity')
  async activity(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() query: Record<string, unknown>): Promise<void> {
    let prepared;
    try {
      const caller = await this.keys.authenticate(bearer(req.headers.authorization));
      noteApiKey(req, caller.apiKeyId);
      this.limiter.take(caller);
      prepared = await this.reports.activityCsv(caller, parseActivityRequest(query));
    } catch (error) {
      this.refuse(reply, error);
      return;
    }
    void reply
      .code(200)
      .header('content-type', 'text/csv; charset=utf-8; header=present')
      .header('content-disposition', `attachment; filename="${prepared.fileName}"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff');
    void reply.send(Readable.from(this.logged(prepared.chunks, 'activity')));
  }

  /**
   * Once the status line is gone, cutting the connection is the only way to tell the client the
   * file is incomplete (Fastify does that when the stream fails; a journal without its seal fails
   * verification anyway). The failure is logged here, since Fastify's own logger is off.
   */
  private async *logged(chunks: AsyncIterable<string>, currency: string): AsyncGenerator<string> {
    try {
      yield* chunks;
    } catch (error) {
      this.log.error(`export of ${currency} failed midway: ${(error as Error).message}`);
      throw error;
    }
  }

  private refuse(reply: FastifyReply, error: unknown): void {
    const domain = error instanceof DomainError ? error : undefined;
    if (!domain) this.log.error(error);
    const code = domain?.code ?? ErrorCode.INTERNAL;
    void reply.code(httpStatus(code)).header('content-type', 'application/json; charset=utf-8');
    if (code === ErrorCode.UNAUTHENTICATED) void reply.header('www-authenticate', 'Bearer');
    const retryAfterMs = domain?.extra?.retryAfterMs;
    if (typeof retryAfterMs === 'number') void reply.header('retry-after', Math.ceil(retryAfterMs / 1000).toString());
    const message = domain?.message ?? 'Internal error';
    void reply.send(JSON.stringify({ error: { code, message, ...(domain?.fields ? { fields: domain.fields } : {}) } }));
  }
}
