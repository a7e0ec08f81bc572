import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookFanOut } from './webhook-fan-out';
import { WebhookRetention } from './webhook-retention';
import { secretBoxFor, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { WebhookStats } from './webhook-stats';
import { WebhookRepository } from './webhook.repository';
import { WebhookResolver } from './webhook.resolver';
import { WebhookService } from './webhook.service';

export const WEBHOOK_RESOLVERS = [WebhookResolver];

/** Webhooks: registration, the outbox's fan-out and the dispatcher every instance runs (docs/webhooks.md). */
@Module({
  providers: [
    ...WEBHOOK_RESOLVERS,
    WebhookService,
    WebhookRepository,
    WebhookFanOut,
    WebhookRetention,
    WebhookDispatcher,
    WebhookStats,
    { provide: WEBHOOK_SECRET_BOX, useFactory: (config: AppConfig) => secretBoxFor(config), inject: [APP_CONFIG] },
  ],
})
export class WebhooksModule {}
