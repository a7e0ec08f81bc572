import 'reflect-metadata';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../src/config/config';
import { checkBackupFile } from '../src/database/backup/backup-file';
import { restoreBackup, type VerifyLedger } from '../src/database/backup/restore';
import { createDataSource, Database } from '../src/database/database';
import { VerifyService } from '../src/ledger/query/verify.service';
import { consoleProgress, openDatabaseTarget, takeOption } from './lib/database-target';

/**
 * `npm run restore -- FILE [--data-dir DIR]`: loads a backup made by `npm run backup` into a
 * database where no migration has been applied, verifies it, and commits only if everything
 * agrees (src/database/backup/restore.ts). `--check FILE` only checks the file.
 */
const USAGE = `usage: npm run restore -- FILE [--data-dir DIR]
       npm run restore -- --check FILE

Restores into a new, empty database: DATABASE_URL (createdb one first), or a new embedded
database in --data-dir DIR (a directory that does not hold one yet; then start the service on
it with DATA_DIR=DIR npm start). The file is checked against its manifest first; the schema is
created at the backup's version, the data loaded, later migrations applied, and verifyLedger run
for every network, all in one transaction: on any failure nothing is left behind.
--check reads the whole file and checks it against its manifest, without any database.`;

const out = (line: string) => process.stdout.write(`${line}\n`);

async function check(file: string): Promise<number> {
  const manifest = await checkBackupFile(file);
  const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
  out(`${file}: OK, taken ${manifest.takenAt} (${manifest.application}, PostgreSQL ${manifest.serverVersion})`);
  out(
    `  schema version ${manifest.migrations.at(-1)?.name ?? '(none)'}; ${manifest.tables.length} tables, ${rows} rows; every table's SHA-256 matches`,
  );
  for (const head of manifest.heads)
    out(`  ledger head${head.networkId ? ` of network ${head.networkId}` : ''}: #${head.sequence} ${head.hash}`);
  return 0;
}

/** verifyLedger as the service runs it (VerifyService), inside the restore's transaction. */
async function verifierFor(url: string): Promise<{ verify: VerifyLedger; close(): Promise<void> }> {
  const source = createDataSource(url, 2, 'solidarity-ledger-restore');
  await source.initialize();
  const db = new Database(source);
  const service = new VerifyService(db);
  // Each head is verified on its own network (a backup from before networks: the whole ledger).
  return { verify: (tx, network) => service.verifyWithin(tx, {}, network ? [network] : undefined), close: () => db.close() };
}

async function restore(file: string, dataDir: string | undefined): Promise<number> {
  const started = Date.now();
  const target = await openDatabaseTarget(loadConfig(), { dataDir, create: true }, (line) => out(`  ${line}`));
  const client = new Client({ connectionString: target.url, application_name: 'solidarity-ledger-restore' });
  let verifier: Awaited<ReturnType<typeof verifierFor>> | undefined;
  try {
    out(`Restoring ${file} into ${target.where}`);
    await client.connect();
    verifier = await verifierFor(target.url);
    const summary = await restoreBackup(client, file, verifier.verify, consoleProgress());
    out(
      `\nRestore complete in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary.rows} rows in ${summary.manifest.tables.length} tables.`,
    );
    out(`  Heads and row counts equal the manifest's; verifyLedger passed for ${summary.verified.length} network(s).`);
    out(
      dataDir ? `  Start the ledger on it with: DATA_DIR=${dataDir} npm start` : '  Point the service at it (DATABASE_URL) and start it.',
    );
    out('  Use the same admin key as before (copy admin-api-key into the new data directory, or set ADMIN_API_KEY):');
    out('  webhook secrets open only with the same WEBHOOK_SECRET_KEY or admin key (docs/operations.md).');
    return 0;
  } finally {
    await verifier?.close();
    await client.end().catch(() => undefined);
    await target.stop();
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    out(USAGE);
    return 0;
  }
  const checkOnly = takeOption(args, '--check');
  const dataDir = takeOption(args, '--data-dir');
  if (checkOnly !== undefined && args.length === 0 && dataDir === undefined) return check(resolve(checkOnly));
  if (checkOnly !== undefined || args.length !== 1 || args[0]?.startsWith('--')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  return restore(resolve(args[0] as string), dataDir);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      process.argv.includes('--check')
        ? `\n${message}\n`
        : `\nThe restore was refused or failed: ${message}\nNothing was restored: the database is as it was.\n`,
    );
    process.exitCode = 1;
  },
);
