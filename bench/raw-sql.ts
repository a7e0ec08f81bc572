import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * The baseline: the same two-row transfer in raw SQL (BEGIN; UPDATE; UPDATE; INSERT; COMMIT),
 * 32 clients, with pgbench when installed, else with node-postgres.
 */
export interface RawResult {
  readonly label: string;
  readonly tool: 'pgbench' | 'node-postgres';
  readonly perSecond: number;
}

export async function prepareRawSchema(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS raw_transfers, raw_accounts;
      CREATE TABLE raw_accounts (id int PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE raw_transfers (id bigserial PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO raw_accounts SELECT g, 0 FROM generate_series(0, 200) g;`);
  } finally {
    await client.end();
  }
}

function script(hot: boolean): string {
  return [
    '\\set src 2 * :client_id + 1',
    hot ? '\\set dst 0' : '\\set dst 2 * :client_id + 2',
    'BEGIN;',
    'UPDATE raw_accounts SET balance = balance - 1 WHERE id = :src;',
    'UPDATE raw_accounts SET balance = balance + 1 WHERE id = :dst;',
    'INSERT INTO raw_transfers (from_id, to_id, amount) VALUES (:src, :dst, 1);',
    'END;',
    '',
  ].join('\n');
}

function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version'], { encoding: 'utf8' }).status === 0;
}

export async function runRawSql(url: string, hot: boolean, clients: number, seconds: number): Promise<RawResult> {
  const label = hot ? 'raw SQL, one hot account' : 'raw SQL, distinct accounts';
  if (hasPgbench()) {
    const file = join(tmpdir(), `ledger-bench-${hot ? 'hot' : 'distinct'}-${process.pid}.sql`);
    writeFileSync(file, script(hot));
    const run = spawnSync('pgbench', ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', file, url], {
      encoding: 'utf8',
    });
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout);
    if (!match?.[1]) throw new Error(`pgbench failed: ${run.stderr || run.stdout}`);
    return { label, tool: 'pgbench', perSecond: Math.round(Number(match[1])) };
  }
  return runWithNodePostgres(url, hot, clients, seconds, label);
}

async function runWithNodePostgres(url: string, hot: boolean, clients: number, seconds: number, label: string): Promise<RawResult> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      const src = 2 * i + 1;
      const dst = hot ? 0 : 2 * i + 2;
      while (Date.now() < deadline) {
        await client.query('BEGIN');
        await client.query({ name: 'debit', text: 'UPDATE raw_accounts SET balance = balance - 1 WHERE id = $1', values: [src] });
        await client.query({ name: 'credit', text: 'UPDATE raw_accounts SET balance = balance + 1 WHERE id = $1', values: [dst] });
        await client.query({
          name: 'record',
          text: 'INSERT INTO raw_transfers (from_id, to_id, amount) VALUES ($1, $2, 1)',
          values: [src, dst],
        });
        await client.query('COMMIT');
        done++;
      }
      await client.end();
    }),
  );
  return { label, tool: 'node-postgres', perSecond: Math.round(done / seconds) };
}
