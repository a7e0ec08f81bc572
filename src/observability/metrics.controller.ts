import { Controller, ForbiddenException, Get, Headers, NotFoundException, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from './metrics';

/**
 * GET /metrics in the Prometheus text format. It holds counts and timings only, no personal
 * data; still, it is not public by default: a scraper sends an ADMIN or AUDITOR key as a bearer
 * token, unless METRICS_PUBLIC=true (on an internal network only; see docs/operations.md).
 * METRICS_ENABLED=false turns it off.
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  async scrape(@Res() reply: FastifyReply, @Headers('authorization') authorization: string | undefined): Promise<void> {
    if (!this.metrics.config.metricsEnabled) throw new NotFoundException();
    if (!(await this.metrics.scrapeAllowed(authorization))) {
      throw new ForbiddenException('Send an ADMIN or AUDITOR API key as "Authorization: Bearer <key>" (or set METRICS_PUBLIC=true)');
    }
    const text = await this.metrics.registry.metrics();
    void reply.code(200).header('content-type', this.metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  }
}
