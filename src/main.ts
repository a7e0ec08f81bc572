import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import { AppModule } from './app.module';
import { type AppConfig, loadConfig } from './config/config';
import { type EmbeddedDatabase, isPortFree, startEmbeddedDatabase } from './database/embedded-postgres';
import { migrate } from './database/migrator';
import { bodyParserErrors } from './graphql/http-errors';
import { ApiKeyService, newSecret } from './identity/api-key.service';
import { trackWebSockets } from './ledger/live/websocket-closer';

const log = new Logger('Ledger');
/** In-flight requests get this long to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 15_000;

async function resolveDatabase(config: AppConfig): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, onProgress: (m) => log.log(m) });
  return { url: embedded.url, embedded };
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

/** The first admin key: ADMIN_API_KEY, else (outside production) one kept under the data folder. */
async function adminSecret(config: AppConfig): Promise<{ secret: string; generated: boolean } | undefined> {
  if (config.adminApiKey) return { secret: config.adminApiKey, generated: false };
  if (config.isProduction) return undefined;
  const file = join(config.dataDir, 'admin-api-key');
  if (existsSync(file)) return { secret: (await readFile(file, 'utf8')).trim(), generated: true };
  await mkdir(config.dataDir, { recursive: true });
  const secret = newSecret();
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return { secret, generated: true };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.port !== 0 && !(await isPortFree(config.port, config.host === '0.0.0.0' ? '0.0.0.0' : config.host))) {
    throw new Error(`Port ${config.port} is already in use. Stop the other program or start with PORT=<another port> npm start.`);
  }
  const database = await resolveDatabase(config);
  await runMigrations(database.url);

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, databaseUrl: database.url }), {
    bodyParser: false,
    logger: config.logLevel === 'warn' ? ['error', 'warn'] : ['error', 'warn', 'log'],
  });
  app.useBodyParser('json', { limit: config.maxBodyBytes });
  app.use(bodyParserErrors(config.maxBodyBytes));
  app.disable('x-powered-by');

  const admin = await adminSecret(config);
  if (admin) await app.get(ApiKeyService).ensureAdmin(admin.secret);

  await app.listen(config.port, config.host);
  const server: Server = app.getHttpServer();
  const webSockets = trackWebSockets(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://localhost:${port}/graphql`;
  process.stdout.write(`\nSolidarity Ledger is running.\n  GraphQL:  ${url}\n`);
  if (config.explorer) process.stdout.write(`  Explorer: ${url} (open it in a browser)\n`);
  process.stdout.write(`  Health:   http://localhost:${port}/health\n`);
  if (admin?.generated) process.stdout.write(`  Admin API key (kept in ${join(config.dataDir, 'admin-api-key')}):\n    ${admin.secret}\n`);
  else if (admin) process.stdout.write('  Admin API key: the value of ADMIN_API_KEY\n');
  else process.stdout.write('  No ADMIN_API_KEY set: use an admin key issued earlier.\n');
  process.stdout.write(
    `\nTry:\n  curl -s ${url} -H 'content-type: application/json' -H "authorization: Bearer <admin key>" -d '{"query":"{ me { role } }"}'\n\n`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal} received: finishing in-flight requests`);
    const timer = setTimeout(() => {
      log.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
    // Stop accepting connections, let in-flight requests finish, close subscriptions' sockets
    // (they never finish by themselves), then drain the posting queue.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      webSockets.closeAll();
    });
    await app.close();
    await database.embedded?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`\nSolidarity Ledger could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
