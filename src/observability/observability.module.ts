import { Global, Module } from '@nestjs/common';
import { Lifecycle } from './lifecycle';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';

/** Metrics, and the lifecycle that readiness and the graceful stop share. Logging is set up in main.ts. */
@Global()
@Module({
  providers: [Metrics, Lifecycle],
  controllers: [MetricsController],
  exports: [Metrics, Lifecycle],
})
export class ObservabilityModule {}
