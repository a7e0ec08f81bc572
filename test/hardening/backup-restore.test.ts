import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupWriter, checkBackupFile, parseJson, readFrames, type TableStart } from '../../src/database/backup/backup-file';
import type { BackupManifest } from '../../src/database/backup/manifest';
import { applyMigration, ensureMigrationTable, migrationFiles } from '../../src/database/migrator';
import { runScript, type ScriptRun } from '../newcomer/run-script';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import {
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  startLedger,
  type TestLedger,
  transfer,
  verifyLedger,
} from '../support/ledger';
import { type RunningService, startService } from '../support/service';

/**
 * The restore drill: the demo network, backed up while transfers keep being posted, restored into
 * a fresh database, and compared with the original as it stood at the backup's snapshot (heads,
 * trial balances, statements, API keys). Damaged, truncated and tampered files, and a database
 * that is not empty, are refused, and a refused restore leaves nothing behind.
 */
const SEED = 'dist/scripts/seed-demo.js';
const BACKUP = 'dist/scripts/backup.js';
const RESTORE = 'dist/scripts/restore.js';
const WORKERS = 4;
/** The network every ledger starts with (migration 0007); the drill posts in it. */
const DEFAULT_NETWORK = '00000000-0000-4000-8000-000000000001';

const dir = mkdtempSync(join(tmpdir(), 'ledger-backup-'));
let original: TestLedger;
let restored: RunningService;
let restoredUrl: string;
let backupRun: ScriptRun;
let restoreRun: ScriptRun;
let manifest: BackupManifest;
let head: { sequence: number; hash: string };
let memberKey: string;
let memberParty: string;
let drill: { a: string; b: string };
let load: { posted: number[]; failures: string[]; sequenceBeforeBackup: number; lastSequence: number };
const file = join(dir, 'drill.slbackup');

function restoreInto(url: string, path: string): Promise<ScriptRun> {
  return runScript(RESTORE, { DATABASE_URL: url }, { args: [path] });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Transfers from several clients at once until `stop` says so, recording each sequence posted. */
function postUntil(admin: GqlClient, stop: () => boolean, posted: number[], failures: string[]): Promise<void[]> {
  return Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = 0; !stop(); i++) {
        const result = await transfer(admin, drill.a, drill.b, '0.01', `drill-${worker}-${i}`);
        if (result.errors) failures.push(JSON.stringify(result.errors));
        else posted.push(Number(result.data?.transfer.sequence));
      }
    }),
  );
}

async function tablesIn(url: string): Promise<number> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM pg_tables WHERE schemaname = 'public'`);
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

async function trialBalance(client: GqlClient, currency: string): Promise<{ total: string; lines: string[] }> {
  const data = await client.ok<{ trialBalance: { total: string; lines: { balance: string; account: { id: string } }[] } }>(
    'query($c: String!) { trialBalance(currency: $c) { total lines { balance account { id } } } }',
    { c: currency },
  );
  return { total: data.trialBalance.total, lines: data.trialBalance.lines.map((line) => `${line.account.id} ${line.balance}`).sort() };
}

/** Every entry of an account's statement, page by page: sequence, hash, amount and running balance. */
async function statement(client: GqlClient, accountId: string): Promise<string[]> {
  const entries: string[] = [];
  let after: string | null = null;
  for (;;) {
    const data: {
      statement: {
        entries: {
          edges: { node: { amount: string; balance: string; transaction: { sequence: string; hash: string } } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    } = await client.ok(
      `query($id: ID!, $after: String) { statement(accountId: $id, first: 500, after: $after) {
         entries { edges { node { amount balance transaction { sequence hash } } } pageInfo { hasNextPage endCursor } } } }`,
      { id: accountId, after },
    );
    for (const { node } of data.statement.entries.edges)
      entries.push(`#${node.transaction.sequence} ${node.transaction.hash} ${node.amount} ${node.balance}`);
    if (!data.statement.entries.pageInfo.hasNextPage) return entries;
    after = data.statement.entries.pageInfo.endCursor;
  }
}

/** The demo network's coordinator key (the seed puts the demo in a network of its own). */
function demoKey(): string {
  const file = JSON.parse(readFileSync(join(dir, 'seed', 'demo-networks.json'), 'utf8')) as Record<string, { admin: string }>;
  return file.riverside?.admin ?? '';
}

async function accountIds(client: GqlClient): Promise<string[]> {
  const data = await client.ok<{ accounts: { edges: { node: { id: string } }[] } }>('{ accounts(first: 500) { edges { node { id } } } }');
  return data.accounts.edges.map((edge) => edge.node.id).sort();
}

const sequenceOf = (entry: string) => Number(/^#(\d+)/.exec(entry)?.[1]);

/**
 * Rewrites a backup with one table's COPY text changed by `edit`, and every checksum made to
 * match: what someone who knows the format could do. Only the ledger's own checks can catch it.
 */
async function tamper(
  source: string,
  target: string,
  table: string,
  edit: (text: string, columns: readonly string[]) => string,
): Promise<void> {
  const writer = new BackupWriter(target);
  const tables: { start: TableStart; chunks: Buffer[] }[] = [];
  let old: BackupManifest | undefined;
  for await (const frame of readFrames(source)) {
    if (frame.kind === 'T') tables.push({ start: parseJson<TableStart>(frame.payload, 'table'), chunks: [] });
    else if (frame.kind === 'D') tables.at(-1)?.chunks.push(Buffer.from(frame.payload));
    else old = parseJson<BackupManifest>(frame.payload, 'manifest');
  }
  const entries = [];
  for (const { start, chunks } of tables) {
    let data = Buffer.concat(chunks);
    if (start.name === table) data = Buffer.from(edit(data.toString('utf8'), start.columns));
    await writer.table(start);
    await writer.frame('D', data);
    const rows = data.toString('utf8').split('\n').length - 1;
    entries.push({ ...start, rows, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  // finish() writes a new content checksum over the changed frames.
  await writer.finish({ ...(old as BackupManifest), tables: entries });
}

beforeAll(async () => {
  original = await startLedger();
  const seeded = await runScript(SEED, {
    LEDGER_URL: original.service.url,
    ADMIN_API_KEY: original.service.adminKey,
    DATA_DIR: join(dir, 'seed'),
    NODE_ENV: 'development',
  });
  if (seeded.code !== 0) throw new Error(`seed failed:\n${seeded.output}`);
  const { admin } = original;
  memberParty = await registerParty(admin, 'MEMBER', 'Drill member');
  memberKey = await createKey(admin, 'MEMBER', memberParty);
  await createCurrency(admin, 'DRILL', 'TIME', 2);
  drill = {
    a: await openAccount(admin, memberParty, 'DRILL', '100000'),
    b: await openAccount(admin, await registerParty(admin, 'MEMBER', 'Drill peer'), 'DRILL'),
  };

  // Transfers run before, during and after the backup.
  let stopping = false;
  load = { posted: [], failures: [], sequenceBeforeBackup: 0, lastSequence: 0 };
  const posting = postUntil(admin, () => stopping, load.posted, load.failures);
  await waitFor(() => load.posted.length >= 20, 'transfers before the backup');
  load.sequenceBeforeBackup = Math.max(...load.posted);
  backupRun = await runScript(BACKUP, { DATABASE_URL: original.databaseUrl }, { args: [file] });
  const countAtBackupEnd = load.posted.length;
  await waitFor(() => load.posted.length >= countAtBackupEnd + 20, 'transfers after the backup');
  stopping = true;
  await posting;
  load.lastSequence = Math.max(...load.posted);
  if (backupRun.code !== 0) throw new Error(`backup failed:\n${backupRun.output}`);
  manifest = await checkBackupFile(file);
  const drillHead = manifest.heads.find((entry) => entry.networkId === DEFAULT_NETWORK);
  head = { sequence: Number(drillHead?.sequence), hash: drillHead?.hash ?? '' };

  restoredUrl = await createTestDatabase();
  restoreRun = await restoreInto(restoredUrl, file);
  if (restoreRun.code !== 0) throw new Error(`restore failed:\n${restoreRun.output}`);
  restored = await startService(restoredUrl);
}, 300_000);

afterAll(async () => {
  await restored?.stop();
  await original?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run backup while transfers are posted, then npm run restore into a fresh database', () => {
  it('takes its snapshot in the middle of the posting: none of the transfers failed or was held back', () => {
    expect(load.failures).toEqual([]);
    expect(head.sequence).toBeGreaterThan(load.sequenceBeforeBackup);
    expect(head.sequence).toBeLessThan(load.lastSequence);
    expect(backupRun.output).toMatch(/\[\d+\/\d+\] transactions: \d+ rows/);
    expect(manifest.tables.map((table) => table.name)).toEqual(
      expect.arrayContaining(['transactions', 'postings', 'api_keys', 'ledger_head']),
    );
  });

  it('restores the head of the backup, whose hash is the original transaction at that sequence, and verifyLedger passes', async () => {
    const before = await connect(original.databaseUrl);
    const after = await connect(restoredUrl);
    try {
      const originalAt = await before.query<{ hash: string }>('SELECT hash FROM transactions WHERE network_id = $1 AND sequence = $2', [
        DEFAULT_NETWORK,
        head.sequence,
      ]);
      expect(originalAt.rows[0]?.hash).toBe(head.hash);
      const restoredHeads = await after.query<{ networkId: string; sequence: string; hash: string }>(
        'SELECT network_id::text AS "networkId", sequence::text, hash FROM ledger_head ORDER BY 1',
      );
      expect(restoredHeads.rows).toEqual(manifest.heads);
    } finally {
      await before.end();
      await after.end();
    }
    const admin = new GqlClient(restored.url, restored.adminKey);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: head.sequence, firstProblem: null });
    expect(restoreRun.output).toMatch(/verifyLedger: .* OK/);
  });

  it('gathers planner statistics once the data is committed, so the first transfers are not planned as if the tables were empty', async () => {
    const after = await connect(restoredUrl);
    try {
      const analysed = await after.query<{ relname: string }>(
        `SELECT relname FROM pg_stat_user_tables WHERE relname IN ('postings', 'transactions', 'accounts') AND last_analyze IS NOT NULL ORDER BY relname`,
      );
      expect(analysed.rows.map((r) => r.relname)).toEqual(['accounts', 'postings', 'transactions']);
    } finally {
      await after.end();
    }
    expect(restoreRun.output).toContain('Planner statistics gathered (ANALYZE)');
  });

  it("gives the demo currencies' trial balances exactly as the original's, and the drill currency's as they stood at the snapshot", async () => {
    const admin = new GqlClient(restored.url, restored.adminKey);
    const demoBefore = new GqlClient(original.service.url, demoKey());
    const demoAfter = new GqlClient(restored.url, demoKey());
    const demoCurrencies = (await demoBefore.ok<{ currencies: { code: string }[] }>('{ currencies { code } }')).currencies.map(
      (c) => c.code,
    );
    expect(demoCurrencies.length).toBeGreaterThan(0);
    for (const currency of demoCurrencies)
      expect(await trialBalance(demoAfter, currency)).toEqual(await trialBalance(demoBefore, currency));
    const drillBalances = await trialBalance(admin, 'DRILL');
    expect(drillBalances.total).toBe('0.00');
    for (const account of [drill.a, drill.b]) {
      const entries = (await statement(original.admin, account)).filter((entry) => sequenceOf(entry) <= head.sequence);
      const balanceAtSnapshot = entries.at(-1)?.split(' ').at(-1) ?? '0.00';
      expect(drillBalances.lines).toContain(`${account} ${balanceAtSnapshot}`);
    }
  });

  it("gives every account's statement as the original's up to the snapshot, in both networks", async () => {
    const admin = new GqlClient(restored.url, restored.adminKey);
    const accounts = await accountIds(admin);
    expect(accounts).toEqual(await accountIds(original.admin));
    for (const account of accounts) {
      const before = (await statement(original.admin, account)).filter((entry) => sequenceOf(entry) <= head.sequence);
      expect(await statement(admin, account)).toEqual(before);
    }
    // Nothing was posted in the demo's network during the backup: its statements are whole.
    const demoBefore = new GqlClient(original.service.url, demoKey());
    const demoAfter = new GqlClient(restored.url, demoKey());
    const demoAccounts = await accountIds(demoAfter);
    expect(demoAccounts).toEqual(await accountIds(demoBefore));
    expect(demoAccounts.length).toBeGreaterThan(10);
    for (const account of demoAccounts) expect(await statement(demoAfter, account)).toEqual(await statement(demoBefore, account));
  });

  it('accepts the API keys issued before the backup: a member key, the demo auditor key and the old admin key', async () => {
    const me = '{ me { role party { id } } }';
    expect(await new GqlClient(restored.url, memberKey).ok(me)).toEqual(await new GqlClient(original.service.url, memberKey).ok(me));
    expect((await new GqlClient(restored.url, memberKey).ok(me)).me).toEqual({ role: 'MEMBER', party: { id: memberParty } });
    expect((await new GqlClient(restored.url, original.service.adminKey).ok<{ me: { role: string } }>(me)).me.role).toBe('ADMIN');
    const demoKeys = JSON.parse(readFileSync(join(dir, 'seed', 'demo-keys.json'), 'utf8')) as { keys: Record<string, string> };
    const auditor = demoKeys.keys.auditor as string;
    expect((await new GqlClient(restored.url, auditor).ok<{ me: { role: string } }>(me)).me.role).toBe('AUDITOR');
  });

  it('goes on posting after the restore from where the backup left off', async () => {
    const admin = new GqlClient(restored.url, restored.adminKey);
    const result = await transfer(admin, drill.a, drill.b, '0.01', 'after-restore');
    expect(result.errors).toBeUndefined();
    expect(Number(result.data?.transfer.sequence)).toBe(head.sequence + 1);
  });
});

describe('npm run restore refuses', () => {
  it('a database where migrations have been applied, and changes nothing in it', async () => {
    const before = await verifyLedger(original.admin);
    const run = await restoreInto(original.databaseUrl, file);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/already has \d+ migrations applied .*new, empty database/);
    expect(await verifyLedger(original.admin)).toEqual(before);
  });

  it('a truncated file, with a clear message, leaving the database empty', async () => {
    const bytes = readFileSync(file);
    const truncated = join(dir, 'truncated.slbackup');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const url = await createTestDatabase();
    const run = await restoreInto(url, truncated);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/truncated\.slbackup is refused: it is truncated/);
    expect(await tablesIn(url)).toBe(0);
  });

  it('a file with a damaged byte, with a clear message, leaving the database empty', async () => {
    const bytes = Buffer.from(readFileSync(file));
    const at = Math.floor(bytes.length * 0.6);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    const damaged = join(dir, 'damaged.slbackup');
    writeFileSync(damaged, bytes);
    const url = await createTestDatabase();
    const run = await restoreInto(url, damaged);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/damaged\.slbackup is refused: (its contents are damaged|it is damaged|it is truncated)/);
    expect(await tablesIn(url)).toBe(0);
  });

  it('a table changed after the backup, though the file decompresses: its SHA-256 no longer matches', async () => {
    const changed = join(dir, 'changed.slbackup');
    const writer = new BackupWriter(changed);
    for await (const frame of readFrames(file)) {
      if (frame.kind === 'M') await writer.finish(parseJson<BackupManifest>(frame.payload, 'manifest'));
      else
        await writer.frame(
          frame.kind,
          frame.kind === 'D' ? Buffer.from(frame.payload.toString('utf8').replace('DEPOSIT', 'TRANSFER')) : frame.payload,
        );
    }
    const url = await createTestDatabase();
    const run = await restoreInto(url, changed);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/does not match its SHA-256 in the manifest/);
    expect(await tablesIn(url)).toBe(0);
  });

  it('a ledger whose checksums were rewritten after an account with postings was taken out: refused by the reference check, and nothing is left', async () => {
    const forged = join(dir, 'no-account.slbackup');
    await tamper(file, forged, 'accounts', (text, columns) => {
      const id = columns.indexOf('id');
      const lines = text.split('\n');
      const kept = lines.filter((line) => line.split('\t')[id] !== drill.b);
      expect(kept).toHaveLength(lines.length - 1);
      return kept.join('\n');
    });
    const url = await createTestDatabase();
    const run = await restoreInto(url, forged);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`the loaded ledger is inconsistent: a posting names an account its network does not have (${drill.b})`);
    expect(await tablesIn(url)).toBe(0);
  });

  it('a ledger whose checksums were rewritten to match a changed transaction: verifyLedger fails after loading, and nothing is left', async () => {
    const forged = join(dir, 'forged.slbackup');
    await tamper(file, forged, 'transactions', (text, columns) => {
      const memo = columns.indexOf('memo');
      const [first, ...rest] = text.split('\n');
      const fields = (first ?? '').split('\t');
      fields[memo] = 'a memo changed after the fact';
      return [fields.join('\t'), ...rest].join('\n');
    });
    const url = await createTestDatabase();
    const run = await restoreInto(url, forged);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/rows loaded/);
    expect(run.output).toMatch(/verifyLedger fails for (the ledger|network \S+) after loading: transaction #1 .* does not match its hash/);
    expect(await tablesIn(url)).toBe(0);
  });
});

describe('npm run restore of a backup taken at an older schema version', () => {
  it("creates the schema at the backup's version, loads it, then applies every later migration, and keys issued then still work", async () => {
    // A ledger at the version before networks (0006), written as that version wrote its rows.
    const files = await migrationFiles();
    const oldVersion = files.findIndex((migration) => migration.name.startsWith('0006_')) + 1;
    expect(oldVersion).toBeGreaterThan(0);
    const oldUrl = await createTestDatabase();
    const secret = `sl_${randomBytes(32).toString('base64url')}`;
    const party = randomUUID();
    const old = await connect(oldUrl);
    try {
      await ensureMigrationTable(old);
      for (const migration of files.slice(0, oldVersion)) await applyMigration(old, migration);
      await old.query(`INSERT INTO parties (id, kind, name) VALUES ($1, 'MEMBER', 'Member before networks')`, [party]);
      await old.query(`INSERT INTO api_keys (id, key_hash, role, party_id) VALUES ($1, $2, 'MEMBER', $3)`, [
        randomUUID(),
        createHash('sha256').update(secret).digest(),
        party,
      ]);
    } finally {
      await old.end();
    }
    const oldFile = join(dir, 'old-version.slbackup');
    const backedUp = await runScript(BACKUP, { DATABASE_URL: oldUrl }, { args: [oldFile] });
    expect(backedUp.code).toBe(0);
    expect((await checkBackupFile(oldFile)).migrations.map((migration) => migration.name)).toEqual(
      files.slice(0, oldVersion).map((f) => f.name),
    );

    const url = await createTestDatabase();
    const run = await restoreInto(url, oldFile);
    expect(run.code).toBe(0);
    expect(run.output).toContain(
      `Migrated forward: ${files
        .slice(oldVersion)
        .map((f) => f.name)
        .join(', ')}`,
    );
    const service = await startService(url);
    try {
      const me = await new GqlClient(service.url, secret).ok<{ me: { role: string; party: { id: string } } }>(
        '{ me { role party { id } } }',
      );
      expect(me.me).toEqual({ role: 'MEMBER', party: { id: party } });
      expect(await verifyLedger(new GqlClient(service.url, service.adminKey))).toMatchObject({ ok: true, transactionsChecked: 0 });
    } finally {
      await service.stop();
    }
    const restoredDb = await connect(url);
    try {
      const applied = await restoredDb.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      expect(applied.rows.map((row) => row.name)).toEqual(files.map((f) => f.name));
    } finally {
      await restoredDb.end();
    }
  });
});
