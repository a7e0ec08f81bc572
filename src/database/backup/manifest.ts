/**
 * What a backup says about itself, written last in the file (see backup-file.ts) and checked
 * before a restore loads anything.
 */
export interface MigrationEntry {
  readonly name: string;
  readonly checksum: string;
}

export interface TableEntry {
  readonly schema: string;
  readonly name: string;
  /** Columns in the order of the COPY text (generated columns are left out: they are recomputed). */
  readonly columns: readonly string[];
  readonly rows: number;
  readonly bytes: number;
  /** SHA-256 of the table's COPY text, exactly as stored in the file. */
  readonly sha256: string;
}

export interface SequenceEntry {
  readonly schema: string;
  readonly name: string;
  /** bigint as text. */
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** One row of the ledger head: a network's last sequence and hash (networkId null before networks existed). */
export interface HeadEntry {
  readonly networkId: string | null;
  readonly sequence: string;
  readonly hash: string;
}

export interface BackupManifest {
  readonly format: 1;
  /** When the snapshot was taken, by the database's clock. */
  readonly takenAt: string;
  readonly serverVersion: string;
  readonly application: string;
  /** The schema version: every migration applied, in order, with its checksum. */
  readonly migrations: readonly MigrationEntry[];
  /** In dependency order (a table after those it refers to, cycles broken by name). */
  readonly tables: readonly TableEntry[];
  readonly sequences: readonly SequenceEntry[];
  readonly heads: readonly HeadEntry[];
  /** SHA-256 of every byte of the (uncompressed) file before the manifest. */
  readonly contentSha256: string;
}
