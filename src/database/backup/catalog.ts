import type { Client } from 'pg';
import type { HeadEntry, SequenceEntry } from './manifest';

/**
 * What a backup needs to know about the schema, read from PostgreSQL's catalog rather than from a
 * list kept here: every table the migrations made (whoever added it, whenever), its columns, the
 * foreign keys between them, the sequences, and the ledger head.
 */
export interface CatalogTable {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
}

export interface ForeignKey {
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

/** Kept by the migrator: a restore re-creates it by applying the migrations, so it is not copied. */
const MIGRATIONS_TABLE = 'schema_migrations';
/** One row per network (one row before networks): sequence and hash of the last transaction. */
export const HEAD_TABLE = 'ledger_head';

/** Schemas of the database itself and of extensions are not the ledger's. */
const USER_RELATION = `
  n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(table: { schema: string; name: string }): string {
  return `${ident(table.schema)}.${ident(table.name)}`;
}

/**
 * Settings that make COPY text read back exactly as it was written, whatever the server's or
 * the role's defaults (the same ones pg_dump sets). Timeouts are off: a large table may take long.
 */
export async function setCopySession(client: Client): Promise<void> {
  await client.query(`SET client_encoding = 'UTF8'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC';
    SET extra_float_digits = 3; SET bytea_output = 'hex'; SET standard_conforming_strings = on;
    SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0`);
}

/** Every table the migrations own, in dependency order: a table comes after the tables it refers to. */
export async function ledgerTables(client: Client): Promise<CatalogTable[]> {
  const tables = (
    await client.query<{ oid: number; schema: string; name: string; columns: string[] }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name,
              array(SELECT a.attname::text FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                     ORDER BY a.attnum) AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_RELATION}
          AND NOT (c.relname = $1 AND n.nspname = current_schema())
        ORDER BY n.nspname, c.relname`,
      [MIGRATIONS_TABLE],
    )
  ).rows;
  const edges = (
    await client.query<{ from: number; to: number }>(
      `SELECT conrelid::int AS from, confrelid::int AS to FROM pg_constraint WHERE contype = 'f'`,
    )
  ).rows;
  return dependencyOrder(tables, edges);
}

/**
 * Kahn's algorithm, with the catalog's name order among tables that are ready together, so the
 * order is the same on every run. A cycle of references (listings and exchanges refer to each
 * other) is broken at its first table by name; the restore drops the foreign keys while it loads,
 * so the order is for readers of the file, not a condition of loading it.
 */
export function dependencyOrder<T extends { oid: number }>(tables: readonly T[], edges: readonly { from: number; to: number }[]): T[] {
  const waitingOn = new Map<number, Set<number>>(tables.map((t) => [t.oid, new Set<number>()]));
  for (const edge of edges) {
    if (edge.from !== edge.to && waitingOn.has(edge.from) && waitingOn.has(edge.to)) waitingOn.get(edge.from)?.add(edge.to);
  }
  const ordered: T[] = [];
  const remaining = [...tables];
  while (remaining.length > 0) {
    const index = Math.max(
      0,
      remaining.findIndex((t) => waitingOn.get(t.oid)?.size === 0),
    );
    const [next] = remaining.splice(index, 1) as [T];
    ordered.push(next);
    for (const deps of waitingOn.values()) deps.delete(next.oid);
  }
  return ordered;
}

/** The foreign keys of these tables, as `ALTER TABLE ... ADD CONSTRAINT` needs them. */
export async function foreignKeys(client: Client, oids: readonly number[]): Promise<ForeignKey[]> {
  const rows = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND k.conrelid = ANY($1::oid[]) AND k.conparentid = 0
      ORDER BY 1, 2`,
    [oids],
  );
  return rows.rows;
}

/**
 * Every sequence (serial and identity columns included) with its current value. Sequences are
 * not transactional: the value read may be ahead of the snapshot, which only leaves a gap.
 */
export async function sequences(client: Client): Promise<SequenceEntry[]> {
  const found = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND ${USER_RELATION} ORDER BY 1, 2`,
  );
  const entries: SequenceEntry[] = [];
  for (const sequence of found.rows) {
    const [row] = (
      await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${qualified(sequence)}`)
    ).rows;
    if (row) entries.push({ ...sequence, lastValue: row.last_value, isCalled: row.is_called });
  }
  return entries;
}

/** Every row of the ledger head, with its network when the table has one, in a stable order. */
export async function heads(client: Client): Promise<HeadEntry[]> {
  const columns = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'network_id' AND NOT attisdropped`,
    [HEAD_TABLE],
  );
  const network = columns.rows.length > 0 ? 'network_id::text' : 'NULL::text';
  const rows = await client.query<{ network_id: string | null; sequence: string; hash: string }>(
    `SELECT ${network} AS network_id, sequence::text AS sequence, hash FROM ${ident(HEAD_TABLE)} ORDER BY 1, 2`,
  );
  return rows.rows.map((row) => ({ networkId: row.network_id, sequence: row.sequence, hash: row.hash }));
}
