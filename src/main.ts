import { keepCompiledCode } from './common/compile-cache';
import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GraphQLModule, GraphQLSchemaHost } from '@nestjs/graphql';
import { operationLimits } from './graphql/context';
import { installDirectGraphQL } from './graphql/direct-http';
import { limitWebSocketMessages } from './graphql/ws-sessions';
import { installHttpSecurity } from './graphql/http-security';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { AppModule } from './app.module';
import { type AppConfig, checkAdminKey, loadConfig } from './config/config';
import { type EmbeddedDatabase, isPortFree, startEmbeddedDatabaseApart } from './database/embedded-postgres';
import { migrate } from './database/migrator';
import { installBodyParsing } from './graphql/http-body';
import { adminSecret } from './identity/admin-secret';
import { ApiKeyService } from './identity/api-key.service';
import { trackWebSockets } from './ledger/live/websocket-closer';
import { Lifecycle } from './observability/lifecycle';
import { createLogger, type Logger as JsonLogger, NestPinoLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { installRequestLogging } from './observability/request-logging';

const log = new Logger('Ledger');
/** In-flight requests get this long to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 15_000;

/** `url` serves the pool; `directUrl` is a session of its own (migrations, LISTEN). */
async function resolveDatabase(config: AppConfig): Promise<{ url: string; directUrl: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl, directUrl: config.databaseDirectUrl ?? config.databaseUrl };
  // In a process group of its own: the service stops it itself, after the drain (stop, below).
  const embedded = await startEmbeddedDatabaseApart({ dataDir: config.dataDir, onProgress: (m) => log.log(m) });
  return { url: embedded.url, directUrl: embedded.url, embedded };
}

async function runMigrations(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}. Check DATABASE_URL, or unset it to use the embedded database.`,
      { cause: error },
    );
  }
  try {
    const { applied, total } = await client.query('SELECT 1').then(() => migrate(client));
    log.log(applied.length > 0 ? `Applied migrations: ${applied.join(', ')}` : `Database schema is up to date (${total} migrations)`);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function main(): Promise<void> {
  const config = loadConfig();
  checkAdminKey(config);
  const logger = createLogger(config.logLevel, config.logFormat, { async: config.isProduction });
  Logger.overrideLogger(new NestPinoLogger(logger));
  logFatalErrors(logger);
  if (config.port !== 0 && !(await isPortFree(config.port, config.host === '0.0.0.0' ? '0.0.0.0' : config.host))) {
    throw new Error(`Port ${config.port} is already in use. Stop the other program or start with PORT=<another port> npm start.`);
  }
  const database = await resolveDatabase(config);
  await runMigrations(database.directUrl);

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ config, databaseUrl: database.url, directUrl: database.directUrl, logger }),
    // Fastify's own logger stays off: the request hook below writes the one line per request.
    new FastifyAdapter({
      logger: false,
      bodyLimit: config.maxBodyBytes,
      // As Node's own server (and so Express) did: a request whose body has not fully arrived
      // after 5 minutes is cut, where Fastify would otherwise wait forever. Downloads (the
      // exports) are responses and are not bounded by it.
      requestTimeout: 300_000,
      // As Express did: `/graphql/` is `/graphql`.
      routerOptions: { ignoreTrailingSlash: true },
    }),
    {
      bodyParser: false,
      logger: new NestPinoLogger(logger),
    },
  );
  const lifecycle = app.get(Lifecycle);
  const fastify = app.getHttpAdapter().getInstance();
  // Order matters: every request is logged and counted, including those whose body is refused.
  installRequestLogging(fastify, logger, app.get(Metrics), lifecycle);
  installBodyParsing(fastify, config.maxBodyBytes);
  installHttpSecurity(fastify, config.corsOrigins);
  if (config.graphqlDirectHttp) installDirectPath(app, logger, config);

  const admin = await adminSecret(config);
  if (admin) await app.get(ApiKeyService).ensureAdmin(admin.secret);

  await app.listen(config.port, config.host);
  const server: Server = fastify.server;
  const webSockets = trackWebSockets(server);
  // ws buffers a whole message before graphql-ws sees it: cap it (SPEC B.1: 64 KiB by default).
  limitWebSocketMessages(app.get(GraphQLModule), config.wsMaxMessageBytes);
  // From here a stop is graceful: a SIGTERM or SIGINT arriving while the banner below is written
  // (a supervisor, or a test that stops the service as soon as it prints its URL) is handled, not
  // met by the default action, which ends the process at once.
  const stop = async (signal: string) => {
    if (lifecycle.stopping) return;
    lifecycle.beginStop();
    log.log(`${signal} received: finishing ${lifecycle.requestsInFlight} requests in flight`);
    const timer = setTimeout(() => {
      log.error(`${lifecycle.requestsInFlight} requests did not finish in time; exiting`);
      process.exit(1);
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
    // 1. Readiness is already 503 and responses say "Connection: close". Stop accepting
    //    connections, drop idle keep-alive ones, and close subscriptions' sockets with 1001
    //    (going away): they never end by themselves.
    server.close();
    server.closeIdleConnections();
    webSockets.closeAll();
    // 2. Let every request in flight finish: each is answered, posted or refused, never cut.
    await lifecycle.whenIdle();
    server.closeAllConnections();
    // 3. Drain the posting queue, close the database.
    await app.close();
    await database.embedded?.stop();
    log.log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // What was compiled is written to the cache now (synchronously; a stop waits for it): the next
  // start finds it, whichever way this process ends.
  keepCompiledCode();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://localhost:${port}/graphql`;
  process.stdout.write(`\nSolidarity Ledger is running.\n  GraphQL:  ${url}\n`);
  if (config.explorer) process.stdout.write(`  Explorer: ${url} (open it in a browser)\n`);
  process.stdout.write(`  Health:   http://localhost:${port}/health\n`);
  // A generated key is printed once, when it is made: later starts say where it is kept, so the
  // secret does not land in every start's logs.
  if (admin?.created) process.stdout.write(`  Admin API key (generated now, kept in ${admin.file}):\n    ${admin.secret}\n`);
  else if (admin?.generated) process.stdout.write(`  Admin API key: the one generated at the first start, kept in ${admin.file}\n`);
  else if (admin) process.stdout.write('  Admin API key: the value of ADMIN_API_KEY\n');
  else process.stdout.write('  No ADMIN_API_KEY set: use an admin key issued earlier.\n');
  process.stdout.write(
    `\nTry:\n  curl -s ${url} -H 'content-type: application/json' -H "authorization: Bearer <admin key>" -d '{"query":"{ me { role } }"}'\n`,
  );
  if (!config.isProduction) {
    process.stdout.write(
      '  npm run seed:demo   (in another terminal: a demo network, and a key for each role; the README has a five-minute tour)\n',
    );
  }
  process.stdout.write('\n');
}

/**
 * Plain GraphQL POSTs are served without Apollo's per-request pipeline (graphql/direct-http.ts);
 * installed before the application starts, when Apollo's route is registered.
 */
function installDirectPath(app: NestFastifyApplication, logger: JsonLogger, config: AppConfig): void {
  const direct = installDirectGraphQL(app.getHttpAdapter().getInstance(), '/graphql', {
    schema: () => app.get(GraphQLSchemaHost).schema,
    limits: operationLimits(config),
    introspection: config.introspection,
    isProduction: config.isProduction,
    logger,
  });
  app
    .get(Metrics)
    .registerCounter(
      'ledger_graphql_direct_requests_total',
      "GraphQL requests served without Apollo's per-request pipeline (the others go through Apollo)",
      direct.served,
    );
}

/** A crash is logged as one JSON line before the process ends (a supervisor restarts it). */
function logFatalErrors(logger: JsonLogger): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`\nSolidarity Ledger could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
