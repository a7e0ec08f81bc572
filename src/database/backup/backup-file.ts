import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { BackupManifest, TableEntry } from './manifest';

/**
 * The backup file: gzip around a sequence of frames, after a magic line.
 *
 *   SOLIDARITY-LEDGER-BACKUP 1\n
 *   frame*   where frame = kind (1 byte) | payload length (4 bytes, big-endian) | payload
 *
 * Frame kinds: `T` starts a table (JSON: schema, name, columns), `D` carries a chunk of that
 * table's `COPY ... TO STDOUT` text, `M` is the manifest (JSON), always last. The manifest is
 * written last because row counts and checksums are known only once the data has streamed; its
 * `contentSha256` covers every byte before it, so a reader checks the whole file before it
 * trusts the manifest (and a restore before it loads anything). gzip adds its own CRC and length,
 * so a truncated or damaged file fails to decompress, with a message that says so.
 */
export const MAGIC = Buffer.from('SOLIDARITY-LEDGER-BACKUP 1\n');
const HEADER_BYTES = 5;
/** The largest frame a reader accepts: a damaged length must not make it allocate gigabytes. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

export type FrameKind = 'T' | 'D' | 'M';

export interface TableStart {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
}

/** A backup file that cannot be trusted: damaged, truncated, or not a backup at all. */
export class BackupFileError extends Error {}

/** Rows in COPY text: one newline ends each row (newlines inside values are escaped as \n). */
export function countRows(chunk: Buffer): number {
  let rows = 0;
  for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) rows++;
  return rows;
}

/** Checksum and size of one table's data as it streams. */
export class TableDigest {
  private readonly hash: Hash = createHash('sha256');
  rows = 0;
  bytes = 0;

  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.rows += countRows(chunk);
    this.bytes += chunk.length;
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}

export class BackupWriter {
  private readonly gzip: Gzip = createGzip({ level: 6 });
  private readonly content: Hash = createHash('sha256');
  private readonly written: Promise<void>;

  /** `wx`: never overwrites a file; 0600: the file holds key hashes and webhook secrets. */
  constructor(path: string) {
    this.written = pipeline(this.gzip, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    // A write error surfaces when `finish` awaits; until then it must not be unhandled.
    this.written.catch(() => undefined);
    this.content.update(MAGIC);
    this.gzip.write(MAGIC);
  }

  async frame(kind: FrameKind, payload: Buffer): Promise<void> {
    if (payload.length > MAX_FRAME_BYTES) {
      for (let start = 0; start < payload.length; start += MAX_FRAME_BYTES)
        await this.frame(kind, payload.subarray(start, start + MAX_FRAME_BYTES));
      return;
    }
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(kind, 0, 'latin1');
    header.writeUInt32BE(payload.length, 1);
    this.content.update(header);
    this.content.update(payload);
    this.gzip.write(header);
    if (!this.gzip.write(payload)) await once(this.gzip, 'drain');
  }

  async table(start: TableStart): Promise<void> {
    await this.frame('T', Buffer.from(JSON.stringify(start)));
  }

  async finish(manifest: Omit<BackupManifest, 'contentSha256'>): Promise<BackupManifest> {
    const complete: BackupManifest = { ...manifest, contentSha256: this.content.digest('hex') };
    const payload = Buffer.from(JSON.stringify(complete));
    const header = Buffer.alloc(HEADER_BYTES);
    header.write('M', 0, 'latin1');
    header.writeUInt32BE(payload.length, 1);
    this.gzip.end(Buffer.concat([header, payload]));
    await this.written;
    return complete;
  }

  /** Ends the file after a failure (the caller removes it). */
  async abandon(): Promise<void> {
    this.gzip.end();
    await this.written.catch(() => undefined);
  }
}

export interface Frame {
  readonly kind: FrameKind;
  readonly payload: Buffer;
}

/** The frames of a backup file, in order; the manifest frame last. Throws BackupFileError. */
export async function* readFrames(path: string, content?: Hash): AsyncGenerator<Frame> {
  let buffer: Buffer = Buffer.alloc(0);
  let sawMagic = false;
  let sawManifest = false;
  const source = createGunzip();
  // A read error of the file itself (missing, unreadable) ends the stream this loop reads.
  createReadStream(path)
    .on('error', (error) => source.destroy(error))
    .pipe(source);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      if (!sawMagic) {
        if (buffer.length < MAGIC.length) continue;
        if (!buffer.subarray(0, MAGIC.length).equals(MAGIC))
          throw new BackupFileError('it is not a Solidarity Ledger backup (wrong header)');
        content?.update(MAGIC);
        buffer = buffer.subarray(MAGIC.length);
        sawMagic = true;
      }
      for (;;) {
        if (buffer.length < HEADER_BYTES) break;
        if (sawManifest) throw new BackupFileError('it has data after its manifest');
        const kind = String.fromCharCode(buffer[0] ?? 0);
        const length = buffer.readUInt32BE(1);
        if ((kind !== 'T' && kind !== 'D' && kind !== 'M') || length > MAX_FRAME_BYTES) {
          throw new BackupFileError('its contents are damaged (a frame header is not valid)');
        }
        if (buffer.length < HEADER_BYTES + length) break;
        const frame = buffer.subarray(HEADER_BYTES, HEADER_BYTES + length);
        if (kind !== 'M') content?.update(buffer.subarray(0, HEADER_BYTES + length));
        buffer = buffer.subarray(HEADER_BYTES + length);
        if (kind === 'M') sawManifest = true;
        yield { kind, payload: frame };
      }
    }
  } catch (error) {
    throw asFileError(error);
  }
  if (!sawMagic) throw new BackupFileError('it is empty or not a Solidarity Ledger backup');
  if (!sawManifest || buffer.length > 0) throw new BackupFileError('it is truncated (it ends before its manifest)');
}

function asFileError(error: unknown): Error {
  if (error instanceof BackupFileError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
    return new BackupFileError(`it cannot be read (${(error as Error).message})`);
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end/i.test((error as Error).message);
    return new BackupFileError(
      truncated
        ? 'it is truncated (the compressed data ends early)'
        : `it is damaged (the compressed data does not check out: ${(error as Error).message})`,
    );
  }
  return error as Error;
}

export function parseJson<T>(payload: Buffer, what: string): T {
  try {
    return JSON.parse(payload.toString('utf8')) as T;
  } catch {
    throw new BackupFileError(`its ${what} is not valid JSON`);
  }
}

/**
 * Reads the whole file once without touching any database: every frame, every table's rows and
 * SHA-256 against the manifest, and the manifest's checksum of everything before it. Returns the
 * manifest only when all of it agrees.
 */
export async function checkBackupFile(path: string): Promise<BackupManifest> {
  try {
    return await checkFrames(path);
  } catch (error) {
    if (error instanceof BackupFileError) throw new BackupFileError(`${path} is refused: ${error.message}`);
    throw error;
  }
}

async function checkFrames(path: string): Promise<BackupManifest> {
  const content = createHash('sha256');
  const seen: TableEntry[] = [];
  let current: { start: TableStart; digest: TableDigest } | undefined;
  const close = () => {
    if (current) seen.push({ ...current.start, rows: current.digest.rows, bytes: current.digest.bytes, sha256: current.digest.sha256() });
    current = undefined;
  };
  let manifest: BackupManifest | undefined;
  for await (const frame of readFrames(path, content)) {
    if (frame.kind === 'D') {
      if (!current) throw new BackupFileError('its contents are damaged (data before any table)');
      current.digest.add(frame.payload);
    } else if (frame.kind === 'T') {
      close();
      current = { start: parseJson<TableStart>(frame.payload, 'table header'), digest: new TableDigest() };
    } else {
      close();
      manifest = parseJson<BackupManifest>(frame.payload, 'manifest');
    }
  }
  if (!manifest) throw new BackupFileError('it is truncated (it ends before its manifest)');
  if (manifest.format !== 1) throw new BackupFileError(`it is of format ${String(manifest.format)}, which this version cannot read`);
  if (manifest.contentSha256 !== content.digest('hex'))
    throw new BackupFileError('it is damaged (its contents do not match the manifest checksum)');
  compareTables(manifest.tables, seen);
  return manifest;
}

function compareTables(expected: readonly TableEntry[], seen: readonly TableEntry[]): void {
  if (expected.length !== seen.length)
    throw new BackupFileError(`it holds ${seen.length} tables but its manifest lists ${expected.length}`);
  expected.forEach((table, i) => {
    const found = seen[i];
    const name = `${table.schema}.${table.name}`;
    if (!found || found.schema !== table.schema || found.name !== table.name)
      throw new BackupFileError(`table ${name} is missing or out of place`);
    if (found.rows !== table.rows) throw new BackupFileError(`table ${name} holds ${found.rows} rows; the manifest says ${table.rows}`);
    if (found.sha256 !== table.sha256) throw new BackupFileError(`the data of table ${name} does not match its SHA-256 in the manifest`);
  });
}
