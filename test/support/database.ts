import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL server of this test run (set by global-setup). */
export function serverUrl(): string {
  const url = process.env.TEST_SERVER_URL;
  if (!url) throw new Error('TEST_SERVER_URL is not set: run the tests with `npm test`');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A fresh database for one test file: empty (the service migrates it when it starts, as on a new
 * deployment), or with `migrated` a copy of the run's template, every migration already applied
 * (global-setup.ts).
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<string> {
  const name = `ledger_test_${randomBytes(6).toString('hex')}`;
  const template = options.migrated ? process.env.TEST_TEMPLATE_DATABASE : undefined;
  if (options.migrated && !template) throw new Error('TEST_TEMPLATE_DATABASE is not set: run the tests with `npm test`');
  await asAdmin((admin) => admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`));
  return withDatabase(serverUrl(), name);
}

/** Makes and migrates the run's template database (global-setup.ts); returns its name. */
export async function createMigratedTemplate(name: string): Promise<string> {
  await asAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const client = await connect(withDatabase(serverUrl(), name));
  try {
    // The built migrator, as the service runs it (`npm test` builds first).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { migrate } = require('../../dist/src/database/migrator.js') as typeof import('../../src/database/migrator');
    await migrate(client);
  } finally {
    // A database is copied only while no session is connected to it.
    await client.end();
  }
  return name;
}

export async function dropTemplate(name: string): Promise<void> {
  await asAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name}`));
}

async function asAdmin(work: (admin: Client) => Promise<unknown>): Promise<void> {
  const admin = new Client({ connectionString: withDatabase(serverUrl(), 'postgres') });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** A direct connection, for checks the API cannot make (and for tampering tests). */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}
