import { type DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { DatabaseModule } from '../database/database.module';
import { AccessService } from '../identity/access.service';
import { ReadRules } from '../identity/read-rules';
import { LedgerLookupsModule } from '../ledger/ledger-data.module';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookFanOut } from './webhook-fan-out';
import { WebhookRetention } from './webhook-retention';
import { secretBoxFor, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { DispatchStats } from './webhook-stats';
import { WebhookRepository } from './webhook.repository';

/** Connections of the dispatch worker's own pool: its loop runs one statement at a time, retention and scoping reads beside it. */
const WORKER_POOL_SIZE = 3;

export interface DispatchModuleOptions {
  readonly config: AppConfig;
  readonly databaseUrl: string;
  readonly directUrl: string;
  readonly stats: DispatchStats;
}

/**
 * What the webhook dispatcher needs and nothing else, for the application context of the
 * dispatch worker thread (webhook-worker.ts): its own pool and notification listener, the
 * read rules the fan-out scopes by (with the directories and caches behind them), the
 * repository, fan-out, retention, sender and secrets. Registration and the resolvers stay in the
 * main application (WebhooksModule).
 */
@Module({})
export class WebhookDispatchModule {
  static forWorker({ config, databaseUrl, directUrl, stats }: DispatchModuleOptions): DynamicModule {
    return {
      module: WebhookDispatchModule,
      imports: [DatabaseModule.forRoot({ url: databaseUrl, directUrl, poolSize: WORKER_POOL_SIZE }), LedgerLookupsModule],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: DispatchStats, useValue: stats },
        { provide: WEBHOOK_SECRET_BOX, useFactory: (c: AppConfig) => secretBoxFor(c), inject: [APP_CONFIG] },
        AccessService,
        ReadRules,
        WebhookRepository,
        WebhookFanOut,
        WebhookRetention,
        WebhookDispatcher,
      ],
    };
  }
}
