import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { BackupWriter, TableDigest } from './backup-file';
import { type CatalogTable, heads, ledgerTables, qualified, sequences, setCopySession, ident } from './catalog';
import type { BackupManifest, MigrationEntry, TableEntry } from './manifest';

/** What a backup or restore tells the person running it, as it goes. */
export interface BackupProgress {
  /** A line of its own. */
  line(text: string): void;
  /** A running count within the current table (redrawn in place on a terminal). */
  count(text: string): void;
}

/** A running count is shown at most this often. */
const COUNT_EVERY_MS = 500;

/**
 * Writes a consistent logical backup of the whole database to `path`. One REPEATABLE READ, READ
 * ONLY transaction reads everything, so every table is seen at the same instant. It takes only
 * ACCESS SHARE locks, which no posting waits for: postings carry on while it runs, and the backup
 * holds the ledger as it stood when its snapshot was taken. The file is written beside `path`
 * under a temporary name and renamed when complete, so a backup that stops half-way never looks
 * like a finished one.
 */
export async function takeBackup(client: Client, path: string, application: string, progress: BackupProgress): Promise<BackupManifest> {
  if (existsSync(path)) throw new Error(`${path} already exists: choose another file name`);
  const partial = `${path}.partial`;
  await rm(partial, { force: true });
  const writer = new BackupWriter(partial);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await setCopySession(client);
    const [snapshot] = (
      await client.query<{ taken_at: Date; version: string }>(`SELECT now() AS taken_at, current_setting('server_version') AS version`)
    ).rows as [{ taken_at: Date; version: string }];
    const migrations = await appliedMigrations(client);
    const tables = await ledgerTables(client);
    progress.line(
      `Snapshot taken at ${snapshot.taken_at.toISOString()}: ${tables.length} tables, schema at ${migrations.at(-1)?.name ?? '(none)'}`,
    );
    const entries: TableEntry[] = [];
    for (const [i, table] of tables.entries())
      entries.push(await copyTable(client, writer, table, `[${i + 1}/${tables.length}]`, progress));
    const manifest = await writer.finish({
      format: 1,
      takenAt: snapshot.taken_at.toISOString(),
      serverVersion: snapshot.version,
      application,
      migrations,
      tables: entries,
      sequences: await sequences(client),
      heads: await heads(client),
    });
    await client.query('COMMIT');
    await rename(partial, path);
    return manifest;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    await writer.abandon();
    await rm(partial, { force: true });
    throw error;
  }
}

async function appliedMigrations(client: Client): Promise<MigrationEntry[]> {
  const found = await client.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!found.rows[0]?.present) throw new Error('this database has no schema_migrations table: it is not a Solidarity Ledger database');
  return (await client.query<MigrationEntry>('SELECT name, checksum FROM schema_migrations ORDER BY name')).rows;
}

async function copyTable(
  client: Client,
  writer: BackupWriter,
  table: CatalogTable,
  label: string,
  progress: BackupProgress,
): Promise<TableEntry> {
  const started = Date.now();
  const columns = table.columns.map(ident).join(', ');
  await writer.table({ schema: table.schema, name: table.name, columns: table.columns });
  const digest = new TableDigest();
  let shown = started;
  const stream = client.query(copyTo(`COPY ${qualified(table)} (${columns}) TO STDOUT`));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    digest.add(chunk);
    await writer.frame('D', chunk);
    if (Date.now() - shown >= COUNT_EVERY_MS) {
      shown = Date.now();
      progress.count(`${label} ${table.name}: ${digest.rows} rows …`);
    }
  }
  progress.line(`${label} ${table.name}: ${digest.rows} rows, ${formatBytes(digest.bytes)} (${secondsSince(started)} s)`);
  return {
    schema: table.schema,
    name: table.name,
    columns: table.columns,
    rows: digest.rows,
    bytes: digest.bytes,
    sha256: digest.sha256(),
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${oneDecimal(bytes, 1024)} KiB`;
  return `${oneDecimal(bytes, 1024 * 1024)} MiB`;
}

/** Time since `startedMs` in seconds to one decimal ("12.3"), for progress lines. */
export function secondsSince(startedMs: number): string {
  return oneDecimal(Date.now() - startedMs, 1000);
}

/** A count of whole units (bytes, milliseconds) in larger ones, to one decimal, rounded half up in integer arithmetic. */
function oneDecimal(count: number, unit: number): string {
  const tenths = Math.floor((count * 10 + Math.floor(unit / 2)) / unit);
  return `${Math.floor(tenths / 10)}.${tenths % 10}`;
}
