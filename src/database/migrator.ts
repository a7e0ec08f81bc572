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
export const MIGRATION_LOCK = 72_100_001;

export interface MigrationResult {
  applied: string[];
  total: number;
}

/** One migration file as the database records it: its name and the SHA-256 of its text. */
export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export function migrationsDir(): string {
  return join(projectRoot(), 'migrations');
}

/** Every migration on disk, in the order they apply. */
export async function migrationFiles(dir = migrationsDir()): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(join(dir, name), 'utf8');
    files.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files;
}

export async function ensureMigrationTable(client: Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
}

/**
 * Runs one migration and records it, in the caller's transaction: `migrate` gives each its own,
 * a restore runs them all inside the one transaction that loads the data.
 */
export async function applyMigration(client: Client, file: MigrationFile): Promise<void> {
  try {
    await client.query(file.sql);
    await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
  } catch (error) {
    throw new Error(`Migration ${file.name} failed: ${(error as Error).message}`, { cause: error });
  }
}

export async function migrate(client: Client, dir = migrationsDir()): Promise<MigrationResult> {
  const files = await migrationFiles(dir);
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await ensureMigrationTable(client);
    const done = new Map<string, string>();
    for (const row of (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows) {
      done.set(row.name, row.checksum);
    }
    refuseOutOfOrder(
      files.map((file) => file.name),
      done,
    );
    const applied: string[] = [];
    for (const file of files) {
      const previous = done.get(file.name);
      if (previous !== undefined) {
        if (previous !== file.checksum) {
          throw new Error(`Migration ${file.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await applyMigration(client, file);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(file.name);
    }
    return { applied, total: files.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}

/**
 * Migrations run in name order, and a database records which ran. A migration that is not
 * applied yet but sorts before one that is was numbered against an older checkout (two branches
 * took the same free number, say): running it now would apply history out of order on this
 * database and in order on a fresh one, so the two would differ. Refused at start-up, saying
 * what to do (see migrations/README.md).
 */
export function refuseOutOfOrder(files: readonly string[], applied: ReadonlyMap<string, string>): void {
  const newest = [...applied.keys()].sort().at(-1);
  if (newest === undefined) return;
  const late = files.filter((name) => !applied.has(name) && name < newest);
  if (late.length === 0) return;
  throw new Error(
    `Migration ${late.join(', ')} is not applied but sorts before ${newest}, which is: it would run out of order. ` +
      `Rename it to sort after the newest migration (see migrations/README.md on numbering); ` +
      `if it is already on main and this database was made from a branch, restore the database from a backup or recreate it.`,
  );
}
