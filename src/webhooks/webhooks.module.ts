import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { secretBoxFor, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { WebhookStats } from './webhook-stats';
import { WebhookWorkerHost } from './webhook-worker-host';
import { WebhookRepository } from './webhook.repository';
import { WebhookResolver } from './webhook.resolver';
import { WebhookService } from './webhook.service';

export const WEBHOOK_RESOLVERS = [WebhookResolver];

/**
 * Webhooks: registration and metrics here; the outbox's fan-out and the dispatcher every instance
 * runs live in a worker thread of their own (WebhookWorkerHost, WebhookDispatchModule; docs/webhooks.md).
 */
@Module({
  providers: [
    ...WEBHOOK_RESOLVERS,
    WebhookService,
    WebhookRepository,
    WebhookWorkerHost,
    WebhookStats,
    { provide: WEBHOOK_SECRET_BOX, useFactory: (config: AppConfig) => secretBoxFor(config), inject: [APP_CONFIG] },
  ],
})
export class WebhooksModule {}
