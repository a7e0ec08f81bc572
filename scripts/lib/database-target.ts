import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from '../../src/config/config';
import type { BackupProgress } from '../../src/database/backup/backup';
import { startEmbeddedDatabase } from '../../src/database/embedded-postgres';

/**
 * The database a maintenance command (backup, restore) works on, found as `npm start` finds it:
 * DATABASE_URL (DATABASE_DIRECT_URL when set, since a pooler in transaction mode is no place for
 * a long COPY), else the embedded PostgreSQL under DATA_DIR (default .data), or under the
 * directory given with --data-dir. An embedded server already running (`npm start`) is used as
 * it is; one this command starts is stopped when it ends.
 */
export interface DatabaseTarget {
  readonly url: string;
  /** In words, for the person running the command. */
  readonly where: string;
  stop(): Promise<void>;
}

export async function openDatabaseTarget(
  config: AppConfig,
  options: { dataDir?: string; create: boolean },
  say: (line: string) => void,
): Promise<DatabaseTarget> {
  if (config.databaseUrl && options.dataDir) {
    throw new Error('Give either --data-dir or DATABASE_URL, not both.');
  }
  if (config.databaseUrl && !options.dataDir) {
    const url = config.databaseDirectUrl ?? config.databaseUrl;
    return {
      url,
      where: `the database at ${config.databaseDirectUrl ? 'DATABASE_DIRECT_URL' : 'DATABASE_URL'}`,
      stop: () => Promise.resolve(),
    };
  }
  const dataDir = resolve(options.dataDir ?? config.dataDir);
  if (!options.create && !existsSync(join(dataDir, 'pg', 'PG_VERSION'))) {
    throw new Error(
      `There is no embedded database in ${dataDir}. Start the ledger once (npm start), or set DATABASE_URL, or give --data-dir.`,
    );
  }
  const embedded = await startEmbeddedDatabase({ dataDir, onProgress: say });
  return { url: embedded.url, where: `the embedded database in ${dataDir}`, stop: () => embedded.stop() };
}

/** Progress lines on standard output; running counts only on a terminal, redrawn in place. */
export function consoleProgress(out: NodeJS.WriteStream = process.stdout): BackupProgress & { clear(): void } {
  let counting = false;
  const clear = () => {
    if (counting) out.write('\r\x1b[K');
    counting = false;
  };
  return {
    line: (text) => {
      clear();
      out.write(`  ${text}\n`);
    },
    count: (text) => {
      if (!out.isTTY) return;
      out.write(`\r  ${text}\x1b[K`);
      counting = true;
    },
    clear,
  };
}

/** `--name value` from the arguments, removed from them. */
export function takeOption(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}
