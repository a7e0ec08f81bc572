import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { APP_CONFIG, type AppConfig } from './config/config';
import { CreditUnionModule } from './credit-union/credit-union.module';
import { DatabaseModule } from './database/database.module';
import { ExplorerAssets } from './explorer/explorer-assets';
import { ExplorerModule } from './explorer/explorer.module';
import { explorerLandingPage } from './explorer/explorer.plugin';
import { graphqlContext, graphqlWsOptions, operationLimits } from './graphql/context';
import { WsSessions } from './graphql/ws-sessions';
import { formatError } from './graphql/error-mapping';
import { queryCostPlugin } from './graphql/query-cost';
import { RefusalFilter } from './graphql/refusal.filter';
import { graphqlOperationPlugin } from './observability/graphql-operation.plugin';
import { createLogger, type Logger as JsonLogger } from './observability/logger';
import { ObservabilityModule } from './observability/observability.module';
import { SCALARS_MAP } from './graphql/scalars/index';
import { HealthController } from './health/health.controller';
import { IdentityModule } from './identity/identity.module';
import { LedgerDataModule } from './ledger/ledger-data.module';
import { HoldsModule } from './ledger/holds/holds.module';
import { LedgerModule } from './ledger/ledger.module';
import { LiveModule } from './ledger/live/live.module';
import { TimebankModule } from './timebank/timebank.module';
import { ReportsModule } from './ledger/query/reports.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export interface AppOptions {
  readonly config: AppConfig;
  readonly databaseUrl: string;
  /** A direct session for LISTEN (see AppConfig.databaseDirectUrl); defaults to databaseUrl. */
  readonly directUrl?: string;
  /** Where JSON logs go; main.ts passes the process's logger. */
  readonly logger?: JsonLogger;
}

const errorLog = new Logger('GraphQL');

/** Apollo's plugin type as the Nest driver sees it (its ESM build; this file gets the CommonJS one). */
type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/** Apollo recognises a disabled plugin by its id, whichever build of @apollo/server made it. */
function disabledApolloPlugins(): ApolloPlugin[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
  ] as unknown as ApolloPlugin[];
}

@Module({})
export class AppModule {
  static forRoot({ config, databaseUrl, directUrl, logger = createLogger(config.logLevel, config.logFormat) }: AppOptions): DynamicModule {
    const explorer = config.explorer ? new ExplorerAssets() : undefined;
    // The graphql-ws options are built here, before any provider exists: the sessions they share
    // with the identity module (authentication, revocations) are one object, provided as a value.
    const wsSessions = new WsSessions(
      {
        maxMessageBytes: config.wsMaxMessageBytes,
        maxSubscriptionsPerSocket: config.wsMaxSubscriptionsPerSocket,
        maxSubscriptionsPerKey: config.wsMaxSubscriptionsPerKey,
      },
      logger,
    );
    return {
      module: AppModule,
      global: true,
      imports: [
        DatabaseModule.forRoot({ url: databaseUrl, directUrl, readUrl: config.databaseReadUrl, poolSize: config.poolSize }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          path: '/graphql',
          autoSchemaFile: true,
          sortSchema: false,
          buildSchemaOptions: { scalarsMap: SCALARS_MAP },
          introspection: config.introspection,
          // Nest's own GraphiQL page loads from a CDN; the explorer is bundled and served locally.
          graphiql: false,
          plugins: [
            graphqlOperationPlugin(logger),
            queryCostPlugin(operationLimits(config)),
            ...(explorer ? [explorerLandingPage(explorer)] : []),
            // Apollo installs cache-control hints on every field of every request unless told not to; the
            // ledger sends no cache hints. Usage and schema reporting would send data to Apollo's service
            // if an APOLLO_KEY were ever set: a ledger keeps its traffic to itself.
            ...disabledApolloPlugins(),
          ],
          csrfPrevention: true,
          allowBatchedHttpRequests: false,
          includeStacktraceInErrorResponses: false,
          // Parsing and validating stay cheap however long a document an attacker sends.
          parseOptions: { maxTokens: config.maxQueryTokens },
          autoTransformHttpErrors: false,
          // Unexpected errors of HTTP requests are logged by graphqlOperationPlugin, with their request id.
          formatError: (formatted, error) => formatError(formatted, error, config.isProduction, () => undefined),
          context: graphqlContext,
          subscriptions: {
            'graphql-ws': graphqlWsOptions(
              operationLimits(config),
              { isProduction: config.isProduction, introspection: config.introspection },
              wsSessions,
              (e) => errorLog.error(e),
            ),
          },
        }),
        LedgerDataModule,
        ObservabilityModule,
        IdentityModule,
        LedgerModule,
        HoldsModule,
        CreditUnionModule,
        TimebankModule,
        ReportsModule,
        LiveModule,
        WebhooksModule,
        ...(explorer ? [ExplorerModule.forRoot(explorer)] : []),
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: WsSessions, useValue: wsSessions },
        { provide: APP_FILTER, useClass: RefusalFilter },
      ],
      exports: [APP_CONFIG, WsSessions],
    };
  }
}
