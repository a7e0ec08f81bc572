import { type AppConfig } from '../../src/config/config';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded-postgres';
import { adminSecret } from '../../src/identity/admin-secret';
import { GqlClient } from '../lib/gql-client';
import { type RunningService, startService } from '../lib/service-process';

/**
 * Where the seed finds the ledger, so that `npm run seed:demo` works whether or not `npm start`
 * is running:
 * - LEDGER_URL set: the service at that address (the admin key from ADMIN_API_KEY);
 * - else a service answering on http://localhost:PORT (default 4000), as `npm start` serves it;
 * - else the seed starts the service itself for the time of the seed, on the same database
 *   `npm start` uses (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR), and stops it after.
 * The admin key is ADMIN_API_KEY, else the one `npm start` keeps in DATA_DIR/admin-api-key.
 */
export interface Ledger {
  readonly url: string;
  readonly admin: GqlClient;
  /** How the seed reached the ledger, in words. */
  readonly how: string;
  /** True when the seed started the service itself (it stops when the seed ends). */
  readonly started: boolean;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/health/live', url), { signal: AbortSignal.timeout(2000) });
    return response.ok && ((await response.json()) as { status?: string }).status === 'ok';
  } catch {
    return false;
  }
}

async function checkAdmin(admin: GqlClient, where: string): Promise<void> {
  const me = await admin.request<{ me: { role: string } }>('{ me { role } }');
  if (me.data?.me.role === 'ADMIN') return;
  const why = me.errors?.[0]?.message ?? `the key is a ${me.data?.me.role} key`;
  throw new Error(
    `${where} refused the admin key (${why}). Run the seed with ADMIN_API_KEY set to the admin key that \`npm start\` printed (or the one in .data/admin-api-key).`,
  );
}

async function running(url: string, secret: string, how: string): Promise<Ledger> {
  const admin = new GqlClient(url, secret);
  await checkAdmin(admin, `The ledger at ${url}`);
  return { url, admin, how, started: false, stop: () => Promise.resolve() };
}

export async function connectToLedger(config: AppConfig, say: (line: string) => void): Promise<Ledger> {
  const admin = await adminSecret(config);
  const explicitUrl = process.env.LEDGER_URL;
  if (explicitUrl) {
    if (!admin) throw new Error('Set ADMIN_API_KEY to an admin key of the ledger at LEDGER_URL.');
    if (!(await answers(explicitUrl))) {
      throw new Error(
        `No ledger answers at LEDGER_URL=${explicitUrl}. Start it (\`npm start\`), or unset LEDGER_URL to let the seed start one itself.`,
      );
    }
    return running(explicitUrl, admin.secret, `the ledger at ${explicitUrl}`);
  }
  if (!admin) throw new Error('NODE_ENV=production has no generated admin key: set ADMIN_API_KEY to an admin key.');
  const localUrl = `http://localhost:${config.port || 4000}/graphql`;
  if (await answers(localUrl)) return running(localUrl, admin.secret, `the running service at ${localUrl}`);
  return startOwnService(config, admin.secret, say);
}

async function startOwnService(config: AppConfig, secret: string, say: (line: string) => void): Promise<Ledger> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, onProgress: say });
    databaseUrl = embedded.url;
  }
  let service: RunningService;
  try {
    say('Starting the ledger service for the time of the seed (no `npm start` is running)');
    service = await startService(databaseUrl, { NODE_ENV: config.nodeEnv, LOG_LEVEL: 'warn', DATA_DIR: config.dataDir }, secret);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const admin = new GqlClient(service.url, secret);
  await checkAdmin(admin, 'The ledger service started by the seed');
  return {
    url: service.url,
    admin,
    how: `a ledger service started for the seed, on ${config.databaseUrl ? 'DATABASE_URL' : `the embedded database in ${config.dataDir}`}`,
    started: true,
    stop: async () => {
      await service.stop();
      await embedded?.stop();
    },
  };
}
