import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from './metrics';

/**
 * GET /metrics in the Prometheus text format. It holds counts and timings only, no personal
 * data; still, expose it on the internal network only (see docs/operations.md). METRICS_ENABLED=false
 * turns it off.
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    if (!this.metrics.config.metricsEnabled) throw new NotFoundException();
    const text = await this.metrics.registry.metrics();
    void reply.code(200).header('content-type', this.metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  }
}
