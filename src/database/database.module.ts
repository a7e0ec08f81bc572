import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Database, createDataSource } from './database';
import { EarlierInstances } from './earlier-instances';
import { NotificationHub } from './notification-hub';

export interface DatabaseOptions {
  readonly url: string;
  /** For LISTEN, when `url` goes through a pooler in transaction mode. */
  readonly directUrl?: string;
  readonly readUrl?: string;
  readonly poolSize: number;
}

class DatabaseCloser implements OnApplicationShutdown {
  constructor(private readonly db: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: Database,
          useFactory: async () => {
            const primary = createDataSource(options.url, options.poolSize, 'solidarity-ledger');
            await primary.initialize();
            const replica = options.readUrl ? createDataSource(options.readUrl, options.poolSize, 'solidarity-ledger-reports') : undefined;
            await replica?.initialize();
            return new Database(primary, replica, options.directUrl);
          },
        },
        { provide: DatabaseCloser, useFactory: (db: Database) => new DatabaseCloser(db), inject: [Database] },
        NotificationHub,
        EarlierInstances,
      ],
      exports: [Database, NotificationHub, EarlierInstances],
    };
  }
}
