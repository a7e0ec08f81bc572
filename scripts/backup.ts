import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../src/common/project-root';
import { loadConfig } from '../src/config/config';
import { formatBytes, takeBackup } from '../src/database/backup/backup';
import { consoleProgress, openDatabaseTarget, takeOption } from './lib/database-target';

/**
 * `npm run backup -- [FILE] [--data-dir DIR]`: a consistent logical backup of the whole ledger
 * (src/database/backup/), taken while the service runs. Without FILE it writes
 * backups/ledger-<UTC time>.slbackup. See docs/operations.md.
 */
const USAGE = `usage: npm run backup -- [FILE] [--data-dir DIR]

Writes one file (gzip; it holds API key hashes and webhook secrets: keep it private) with every
table of the ledger, read in one snapshot, and a manifest: schema version, row counts, each
network's head and a SHA-256 of every table. The database is DATABASE_URL when set, else the
embedded one in DATA_DIR (default .data) or --data-dir. Restore with npm run restore -- FILE.`;

const out = (line: string) => process.stdout.write(`${line}\n`);

function defaultFile(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `backups/ledger-${stamp}.slbackup`;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    out(USAGE);
    return 0;
  }
  const dataDir = takeOption(args, '--data-dir');
  if (args.length > 1 || args.some((arg) => arg.startsWith('--'))) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = resolve(args[0] ?? defaultFile());
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const started = Date.now();
  const target = await openDatabaseTarget(loadConfig(), { dataDir, create: false }, (line) => out(`  ${line}`));
  const client = new Client({ connectionString: target.url, application_name: 'solidarity-ledger-backup' });
  try {
    out(`Backing up ${target.where} to ${file}`);
    await client.connect();
    const { version } = JSON.parse(await readFile(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    const manifest = await takeBackup(client, file, `solidarity-ledger ${version}`, consoleProgress());
    const size = (await stat(file)).size;
    const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    out(`\nBackup complete in ${((Date.now() - started) / 1000).toFixed(1)} s: ${file}`);
    out(`  ${manifest.tables.length} tables, ${rows} rows, ${formatBytes(size)} compressed`);
    out(`  schema version: ${manifest.migrations.at(-1)?.name ?? '(none)'} (${manifest.migrations.length} migrations)`);
    for (const head of manifest.heads) {
      out(`  ledger head${head.networkId ? ` of network ${head.networkId}` : ''}: #${head.sequence} ${head.hash}`);
    }
    out(`  SHA-256 of the file: ${await sha256Of(file)}`);
    out('  Keep it private (it holds key hashes and webhook secrets) and somewhere other than this machine.');
    return 0;
  } finally {
    await client.end().catch(() => undefined);
    await target.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`\nThe backup failed: ${error instanceof Error ? error.message : String(error)}\nNo backup file was written.\n`);
    process.exitCode = 1;
  },
);
