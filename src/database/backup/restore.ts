import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import { ClientSql, type Sql } from '../database';
import { applyMigration, ensureMigrationTable, MIGRATION_LOCK, type MigrationFile, migrationFiles } from '../migrator';
import { type BackupProgress, secondsSince } from './backup';
import { BackupFileError, checkBackupFile, parseJson, readFrames, TableDigest, type TableStart } from './backup-file';
import { type CatalogTable, foreignKeys, heads, ident, ledgerTables, qualified, setCopySession } from './catalog';
import type { BackupManifest, HeadEntry, TableEntry } from './manifest';

/**
 * Restore: with the posting module, the one writer of ledger rows (docs/architecture.md). It
 * writes them only into a database where no migration has been applied, and only as one
 * transaction that holds everything: the schema at the backup's version (the repository's
 * migrations, checked against the backup's checksums), the data, the sequences, the migrations
 * since, and the checks (row counts and heads against the manifest, verifyLedger for every
 * network). It commits only when all of them pass; any failure, or the process dying, leaves the
 * database as empty as it was.
 */

/** What the ledger's verification reports (src/ledger/query/verify.service.ts), passed in by the caller. */
export interface VerificationOutcome {
  readonly ok: boolean;
  readonly transactionsChecked: number;
  readonly firstProblem: string | null;
}

export type VerifyLedger = (tx: Sql, networkId: string | null) => Promise<VerificationOutcome>;

/** The database or the file is not one this restore may use; nothing was changed. */
export class RestoreRefused extends Error {}

export interface RestoreSummary {
  readonly manifest: BackupManifest;
  readonly rows: number;
  readonly migratedForward: readonly string[];
  readonly verified: readonly { networkId: string | null; transactionsChecked: number }[];
}

export async function restoreBackup(
  client: Client,
  path: string,
  verifyLedger: VerifyLedger,
  progress: BackupProgress,
): Promise<RestoreSummary> {
  progress.line(`Checking ${path} against its manifest …`);
  const manifest = await checkBackupFile(path);
  const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
  progress.line(
    `The file is intact: taken ${manifest.takenAt}, ${manifest.tables.length} tables, ${rows} rows, ${manifest.heads.length} ledger head(s)`,
  );
  const { atBackup, forward } = planMigrations(manifest, await migrationFiles());

  await client.query('BEGIN');
  try {
    // The migrator's lock: a service started against this database meanwhile waits for the commit.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await setCopySession(client);
    await refuseUnlessFresh(client);
    await ensureMigrationTable(client);
    for (const file of atBackup) await applyMigration(client, file);
    progress.line(`Schema created at the backup's version (${atBackup.length} migrations, up to ${atBackup.at(-1)?.name ?? 'none'})`);
    const tables = await matchSchema(client, manifest);
    await loadTables(client, path, manifest, tables, progress);
    await restoreSequences(client, manifest);
    await checkCounts(client, manifest.tables);
    compareHeads(manifest.heads, await heads(client), false);
    for (const file of forward) await applyMigration(client, file);
    if (forward.length > 0) progress.line(`Migrated forward: ${forward.map((file) => file.name).join(', ')}`);
    await checkLedgerReferences(client, progress);
    const after = await heads(client);
    compareHeads(manifest.heads, after, true);
    const verified = await verifyEveryNetwork(client, after, verifyLedger, progress);
    await client.query('COMMIT');
    await gatherStatistics(client, progress);
    return { manifest, rows, migratedForward: forward.map((file) => file.name), verified };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A restored database has no planner statistics until autovacuum gets to it, and until then
 * PostgreSQL plans the posting group and the reads as if the tables were empty (several times
 * the work per transfer). ANALYZE samples each table, so it takes seconds even for a large
 * ledger. The data is committed already: a failure here is reported, not a failed restore.
 */
async function gatherStatistics(client: Client, progress: BackupProgress): Promise<void> {
  try {
    await client.query('ANALYZE');
    progress.line('Planner statistics gathered (ANALYZE)');
  } catch (error) {
    progress.line(`ANALYZE failed (${(error as Error).message}); autovacuum will gather the statistics later`);
  }
}

/**
 * The ledger's own rows name accounts, transactions, API keys and networks through references the
 * database checks once per inserting statement (migrations 0016 and 0022), by triggers, not foreign keys:
 * the load runs with triggers off, so re-adding the foreign keys does not check them. They are
 * checked here instead, over the whole tables, once the schema is at this version.
 */
const LEDGER_REFERENCES: readonly { what: string; sql: string }[] = [
  {
    what: 'a posting names an account its network does not have',
    sql: 'SELECT p.account_id::text AS id FROM postings p WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.network_id = p.network_id AND a.id = p.account_id) LIMIT 1',
  },
  {
    what: 'a posting names a transaction its network does not have',
    sql: 'SELECT p.transaction_id::text AS id FROM postings p WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.network_id = p.network_id AND t.id = p.transaction_id) LIMIT 1',
  },
  {
    what: 'a transaction names an API key its network does not have',
    sql: 'SELECT t.api_key_id::text AS id FROM transactions t WHERE t.api_key_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.network_id = t.network_id AND k.id = t.api_key_id) LIMIT 1',
  },
  {
    what: 'a transaction reverses a transaction its network does not have',
    sql: 'SELECT t.reverses_id::text AS id FROM transactions t WHERE t.reverses_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.network_id = t.network_id AND r.id = t.reverses_id) LIMIT 1',
  },
  {
    what: 'a transaction names a network that does not exist',
    sql: 'SELECT t.network_id::text AS id FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM networks n WHERE n.id = t.network_id) LIMIT 1',
  },
  {
    what: 'an idempotency record names a network that does not exist',
    sql: 'SELECT i.network_id::text AS id FROM idempotency_keys i WHERE NOT EXISTS (SELECT 1 FROM networks n WHERE n.id = i.network_id) LIMIT 1',
  },
];

async function checkLedgerReferences(client: Client, progress: BackupProgress): Promise<void> {
  for (const { what, sql } of LEDGER_REFERENCES) {
    const found = await client.query<{ id: string }>(sql);
    const id = found.rows[0]?.id;
    if (id !== undefined) throw new RestoreRefused(`the loaded ledger is inconsistent: ${what} (${id})`);
  }
  progress.line(`Ledger references checked (${LEDGER_REFERENCES.length} kinds)`);
}

/**
 * The backup's migrations must be the first of the repository's, in order and byte for byte
 * (checksums): the schema is re-created by running them, so different text would make a
 * different schema under the same name.
 */
export function planMigrations(
  manifest: BackupManifest,
  files: readonly MigrationFile[],
): { atBackup: MigrationFile[]; forward: MigrationFile[] } {
  manifest.migrations.forEach((entry, i) => {
    const file = files[i];
    if (!file || file.name !== entry.name) {
      throw new RestoreRefused(
        `the backup was taken at schema version ${manifest.migrations.at(-1)?.name ?? '(none)'}, but this version of Solidarity Ledger has no migration ${entry.name} at that place: restore with the version that made the backup, or a later one`,
      );
    }
    if (file.checksum !== entry.checksum) {
      throw new RestoreRefused(
        `migration ${entry.name} differs from the one the backed-up database applied (checksum ${file.checksum.slice(0, 12)}… here, ${entry.checksum.slice(0, 12)}… in the backup): restore with the version that made the backup`,
      );
    }
  });
  return { atBackup: files.slice(0, manifest.migrations.length), forward: files.slice(manifest.migrations.length) };
}

async function refuseUnlessFresh(client: Client): Promise<void> {
  const found = await client.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (found.rows[0]?.present) {
    const applied = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    if (applied.rows.length > 0) {
      throw new RestoreRefused(
        `this database already has ${applied.rows.length} migrations applied (the latest ${applied.rows.at(-1)?.name}): a restore goes only into a new, empty database (createdb a new one, or give --data-dir a new directory)`,
      );
    }
  }
  const tables = await ledgerTables(client);
  if (tables.length > 0) {
    const names = tables.slice(0, 5).map((table) => table.name);
    throw new RestoreRefused(
      `this database already holds tables (${names.join(', ')}${tables.length > 5 ? ', …' : ''}): a restore goes only into a new, empty database`,
    );
  }
}

/** The schema the migrations made must be the one the backup was read from: same tables, same columns. */
async function matchSchema(client: Client, manifest: BackupManifest): Promise<CatalogTable[]> {
  const made = new Map((await ledgerTables(client)).map((table) => [`${table.schema}.${table.name}`, table]));
  const tables = manifest.tables.map((entry) => {
    const key = `${entry.schema}.${entry.name}`;
    const table = made.get(key);
    if (!table) throw new RestoreRefused(`the backup holds table ${key}, which the migrations up to its version do not create`);
    if (table.columns.join(',') !== entry.columns.join(',')) {
      throw new RestoreRefused(
        `table ${key} has columns (${table.columns.join(', ')}) here but (${entry.columns.join(', ')}) in the backup`,
      );
    }
    made.delete(key);
    return table;
  });
  if (made.size > 0)
    throw new RestoreRefused(`the backup has no data for table(s) ${[...made.keys()].join(', ')}, which its schema version has`);
  return tables;
}

/**
 * The rows go in as they were: the triggers of the migrations (append-only refusals, and any that
 * react to new rows) already ran when the rows were first written, so they are disabled for the
 * load and enabled again before the transaction goes on (ALTER TABLE is transactional: no other
 * session ever sees them off, and the lock it takes keeps everyone out until the commit). Foreign
 * keys are dropped and added back after the load, as pg_dump does: adding them back checks every
 * row, and it lets tables that refer to each other load in any order. The rows the migrations
 * themselves inserted (the genesis head, the default network) are cleared first, since the
 * backup holds them as they later became.
 */
async function loadTables(
  client: Client,
  path: string,
  manifest: BackupManifest,
  tables: readonly CatalogTable[],
  progress: BackupProgress,
): Promise<void> {
  const all = tables.map(qualified);
  const keys = await foreignKeys(
    client,
    tables.map((table) => table.oid),
  );
  for (const table of all) await client.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
  for (const key of keys) await client.query(`ALTER TABLE ${key.table} DROP CONSTRAINT ${ident(key.name)}`);
  if (all.length > 0) await client.query(`TRUNCATE ${all.join(', ')}`);
  await copyIn(client, path, manifest.tables, progress);
  progress.line(`Checking ${keys.length} foreign keys …`);
  for (const key of keys) await client.query(`ALTER TABLE ${key.table} ADD CONSTRAINT ${ident(key.name)} ${key.definition}`);
  for (const table of all) await client.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
}

/** Streams each table's COPY text from the file into COPY FROM STDIN, checking it again against the manifest. */
async function copyIn(client: Client, path: string, entries: readonly TableEntry[], progress: BackupProgress): Promise<void> {
  let index = -1;
  let current: { entry: TableEntry; stream: CopyStreamQuery; digest: TableDigest; started: number } | undefined;
  const end = async () => {
    if (!current) return;
    const { entry, stream, digest, started } = current;
    current = undefined;
    stream.end();
    await finished(stream);
    // The file was checked before the transaction began; this catches a file changed since.
    if (digest.sha256() !== entry.sha256 || digest.rows !== entry.rows)
      throw new BackupFileError(`the data of table ${entry.name} changed while it was being restored`);
    progress.line(`[${index + 1}/${entries.length}] ${entry.name}: ${entry.rows} rows loaded (${secondsSince(started)} s)`);
  };
  try {
    for await (const frame of readFrames(path)) {
      if (frame.kind === 'D') {
        if (!current) throw new BackupFileError('its contents are damaged (data before any table)');
        current.digest.add(frame.payload);
        await write(current.stream, frame.payload);
        continue;
      }
      await end();
      if (frame.kind === 'M') break;
      const start = parseJson<TableStart>(frame.payload, 'table header');
      const entry = entries[++index];
      if (!entry || entry.name !== start.name || entry.schema !== start.schema)
        throw new BackupFileError(`table ${start.name} is out of place`);
      const stream = client.query(copyFrom(`COPY ${qualified(entry)} (${entry.columns.map(ident).join(', ')}) FROM STDIN`));
      // Errors are read from the stream where it is awaited (write, finished); never unhandled.
      stream.on('error', () => undefined);
      current = { entry, stream, digest: new TableDigest(), started: Date.now() };
    }
  } catch (error) {
    // A COPY left open would keep the connection from running the ROLLBACK: destroying the
    // stream sends CopyFail, which ends it.
    if (current) {
      current.stream.destroy(error as Error);
      await finished(current.stream).catch(() => undefined);
    }
    throw error;
  }
}

async function write(stream: CopyStreamQuery, chunk: Buffer): Promise<void> {
  if (stream.errored) throw stream.errored;
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function restoreSequences(client: Client, manifest: BackupManifest): Promise<void> {
  for (const sequence of manifest.sequences) {
    const name = qualified(sequence);
    const found = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
    if (!found.rows[0]?.present)
      throw new RestoreRefused(`the backup holds sequence ${sequence.schema}.${sequence.name}, which the migrations do not create`);
    await client.query('SELECT setval($1::regclass, $2::bigint, $3)', [name, sequence.lastValue, sequence.isCalled]);
  }
}

async function checkCounts(client: Client, tables: readonly TableEntry[]): Promise<void> {
  for (const table of tables) {
    const [row] = (await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${qualified(table)}`)).rows;
    if (Number(row?.count) !== table.rows)
      throw new Error(`table ${table.name} holds ${row?.count} rows after loading; the manifest says ${table.rows}`);
  }
}

/**
 * Heads must be those of the manifest. After later migrations, a head may have gained a network
 * (a backup from before networks restores into `default`): then sequences and hashes must still
 * be the manifest's, one for one.
 */
export function compareHeads(expected: readonly HeadEntry[], found: readonly HeadEntry[], afterMigrations: boolean): void {
  const key = (head: HeadEntry, withNetwork: boolean) => `${withNetwork ? `${head.networkId}:` : ''}#${head.sequence}:${head.hash}`;
  const withNetwork = !afterMigrations || expected.every((head) => head.networkId !== null);
  const want = expected.map((head) => key(head, withNetwork)).sort();
  const have = found.map((head) => key(head, withNetwork)).sort();
  if (want.join('|') !== have.join('|')) {
    throw new Error(`the ledger head(s) after loading (${have.join(', ')}) differ from the manifest's (${want.join(', ')})`);
  }
}

async function verifyEveryNetwork(
  client: Client,
  found: readonly HeadEntry[],
  verifyLedger: VerifyLedger,
  progress: BackupProgress,
): Promise<{ networkId: string | null; transactionsChecked: number }[]> {
  const tx = new ClientSql(client);
  const verified: { networkId: string | null; transactionsChecked: number }[] = [];
  for (const head of found) {
    const outcome = await verifyLedger(tx, head.networkId);
    const which = head.networkId ? `network ${head.networkId}` : 'the ledger';
    if (!outcome.ok) throw new Error(`verifyLedger fails for ${which} after loading: ${outcome.firstProblem ?? 'no reason given'}`);
    progress.line(`verifyLedger: ${which} OK (${outcome.transactionsChecked} transactions, head #${head.sequence})`);
    verified.push({ networkId: head.networkId, transactionsChecked: outcome.transactionsChecked });
  }
  return verified;
}
