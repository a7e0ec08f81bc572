import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { migrate } from '../../src/database/migrator';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { transfer, verifyLedger } from '../support/ledger';
import { type RunningService, startService } from '../support/service';

/**
 * 0007_networks on a database made by the migrations before it and filled with a real ledger
 * (the rows `npm run seed:demo` wrote on that schema): every row moves into `default` with its
 * sequence and hash unchanged, the chain still verifies, the old ADMIN keys stay plain admins,
 * and posting carries on from the old head.
 */
const NETWORKS_MIGRATION = '0007_networks.sql';
const DEFAULT_NETWORK = '00000000-0000-4000-8000-000000000001';
const LEDGER_TABLES = [
  'parties',
  'party_memberships',
  'currencies',
  'accounts',
  'api_keys',
  'ledger_head',
  'transactions',
  'postings',
  'holds',
  'idempotency_keys',
  'listings',
  'exchanges',
];

let databaseUrl: string;
let db: Client;
let service: RunningService | undefined;
let before: { counts: Record<string, number>; chain: string; head: string; adminKeys: string[] };

async function chainDigest(client: Client): Promise<string> {
  const [row] = (
    await client.query<{ digest: string }>(
      "SELECT md5(string_agg(sequence || ':' || previous_hash || ':' || hash, ',' ORDER BY sequence)) AS digest FROM transactions",
    )
  ).rows;
  return row?.digest ?? '';
}

async function headText(client: Client): Promise<string> {
  const { rows } = await client.query<{ head: string }>("SELECT sequence || ':' || hash AS head FROM ledger_head");
  return rows.map((r) => r.head).join(',');
}

async function counts(client: Client): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of LEDGER_TABLES) {
    result[table] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  }
  return result;
}

/** The database as it stood before networks: migrations up to 0006, then the fixture's rows. */
async function oldLedger(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-old-migrations-'));
  try {
    const all = readdirSync('migrations').filter((name) => name.endsWith('.sql') && name < NETWORKS_MIGRATION);
    for (const name of all) copyFileSync(join('migrations', name), join(dir, name));
    const { applied } = await migrate(db, dir);
    expect(applied).toEqual(all);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await db.query('BEGIN');
  // Listings and exchanges refer to each other: load as a restore does, without triggers.
  await db.query('SET LOCAL session_replication_role = replica');
  await db.query(readFileSync('test/fixtures/pre-networks-ledger.sql', 'utf8'));
  await db.query("SELECT setval(pg_get_serial_sequence('listings', 'seq'), (SELECT max(seq) FROM listings))");
  await db.query("SELECT setval(pg_get_serial_sequence('exchanges', 'seq'), (SELECT max(seq) FROM exchanges))");
  await db.query('COMMIT');
}

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  db = await connect(databaseUrl);
  await oldLedger();
  before = {
    counts: await counts(db),
    chain: await chainDigest(db),
    head: await headText(db),
    adminKeys: (await db.query<{ id: string }>("SELECT id FROM api_keys WHERE role = 'ADMIN' ORDER BY id")).rows.map((r) => r.id),
  };
  // The service applies 0007 and whatever follows it, as an upgrade would.
  service = await startService(databaseUrl);
});

afterAll(async () => {
  await service?.stop();
  await db.end();
});

describe('moving an existing ledger into the network default', () => {
  it('started from a real ledger', () => {
    expect(before.counts.transactions).toBeGreaterThan(100);
    expect(before.counts.holds).toBeGreaterThan(0);
    expect(before.counts.exchanges).toBeGreaterThan(0);
    expect(before.counts.idempotency_keys).toBeGreaterThan(0);
    expect(before.adminKeys.length).toBeGreaterThan(0);
  });

  it('keeps every row, in default', async () => {
    const { rows } = await db.query<{ id: string; slug: string }>('SELECT id, slug FROM networks');
    expect(rows).toEqual([{ id: DEFAULT_NETWORK, slug: 'default' }]);
    const after = await counts(db);
    for (const table of LEDGER_TABLES) {
      // The service's own ADMIN_API_KEY is the one row added since.
      const added = table === 'api_keys' ? 1 : 0;
      expect({ table, rows: after[table] }).toEqual({ table, rows: (before.counts[table] ?? 0) + added });
      const outside = await db.query(`SELECT 1 FROM ${table} WHERE network_id <> $1`, [DEFAULT_NETWORK]);
      expect({ table, outside: outside.rowCount }).toEqual({ table, outside: 0 });
    }
  });

  it('keeps the chain and the head unchanged', async () => {
    expect(await chainDigest(db)).toBe(before.chain);
    expect(await headText(db)).toBe(before.head);
  });

  it('keeps the old ADMIN keys as admins of default, not deployment admins', async () => {
    const { rows } = await db.query<{ deployment_admin: boolean; network_id: string }>(
      'SELECT deployment_admin, network_id FROM api_keys WHERE id = ANY($1)',
      [before.adminKeys],
    );
    expect(rows).toHaveLength(before.adminKeys.length);
    for (const row of rows) expect(row).toEqual({ deployment_admin: false, network_id: DEFAULT_NETWORK });
  });

  it('verifies, and posts on from the old head', async () => {
    if (!service) throw new Error('no service');
    const admin = new GqlClient(service.url, service.adminKey);
    const verified = await verifyLedger(admin);
    expect(verified).toMatchObject({ ok: true, firstProblem: null, transactionsChecked: before.counts.transactions });

    const { rows } = await db.query<{ id: string }>(
      "SELECT a.id FROM accounts a JOIN currencies c ON c.code = a.currency_code WHERE c.kind = 'TIME' AND NOT a.unlimited AND a.status = 'OPEN' ORDER BY a.posted_minor DESC LIMIT 2",
    );
    const [from, to] = rows.map((r) => r.id);
    if (!from || !to) throw new Error('the fixture has no two open TIME accounts');
    const posted = await transfer(admin, from, to, '1.00', 'after-the-move');
    expect(posted.errors).toBeUndefined();
    const transactionsBefore = before.counts.transactions ?? 0;
    expect(posted.data?.transfer.sequence).toBe(String(transactionsBefore + 1));
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: transactionsBefore + 1 });
  });
});
