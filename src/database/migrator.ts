import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import { projectRoot } from '../common/project-root';

/**
 * Applies `migrations/*.sql` in name order, each in its own transaction, once. An advisory
 * lock lets several instances start together; a checksum refuses a migration edited after it
 * was applied, because forward-only means the history on disk must match the database.
 */
const MIGRATION_LOCK = 72_100_001;

export interface MigrationResult {
  applied: string[];
  total: number;
}

export async function migrate(client: Client, dir = join(projectRoot(), 'migrations')): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map<string, string>();
    for (const row of (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows) {
      done.set(row.name, row.checksum);
    }
    const applied: string[] = [];
    for (const name of files) {
      const sql = await readFile(join(dir, name), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(name);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(`Migration ${name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [name, checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(name);
    }
    return { applied, total: files.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
