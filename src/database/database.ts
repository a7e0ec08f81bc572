import { type Pool, type PoolClient, type QueryResult, types } from 'pg';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { parseInstant } from '../common/instant';
import { withRetry } from '../common/retry';
import { inlineParameters } from './sql-literal';

// Every timestamptz keeps its microseconds (posting times are ordered and hashed at that precision).
const parseTimestamptzMs = types.getTypeParser(types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;
types.setTypeParser(types.builtins.TIMESTAMPTZ, (text: string) => parseInstant(text, parseTimestamptzMs));

/** What repositories need: run SQL, get rows. Both the pool and a transaction provide it. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/** SQLSTATEs after which the whole transaction may safely run again. */
const RETRYABLE_STATES = new Set(['40001', '40P01']);

export function sqlState(error: unknown): string | undefined {
  return driverField(error, 'code');
}

/** The constraint or unique index a failed statement violated, as the driver reports it. */
export function violatedConstraint(error: unknown): string | undefined {
  return driverField(error, 'constraint');
}

/** A text field of a driver error, on the error itself or on the driver error TypeORM wraps. */
function driverField(error: unknown, field: 'code' | 'constraint'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const direct = (error as Record<string, unknown>)[field];
  if (typeof direct === 'string') return direct;
  const driver = (error as { driverError?: Record<string, unknown> }).driverError?.[field];
  return typeof driver === 'string' ? driver : undefined;
}

/**
 * The COMMIT was sent but its answer never came back (the connection dropped, the server was
 * shut down): the work may or may not be committed. Carries what the work returned, for a
 * caller that can find out which it was (see PostingService).
 */
export class CommitUnacknowledged extends Error {
  constructor(
    override readonly cause: unknown,
    readonly result: unknown,
  ) {
    super(`the database did not acknowledge COMMIT: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'CommitUnacknowledged';
  }
}

/**
 * Whether a failed COMMIT leaves its outcome open: no SQLSTATE at all (the socket closed), a
 * connection failure (class 08), or the server shutting the session down (57P01 to 57P03). Any
 * other SQL error from COMMIT means the transaction was rolled back.
 */
function commitOutcomeOpen(error: unknown): boolean {
  const state = sqlState(error);
  if (state === undefined || !/^[0-9A-Z]{5}$/.test(state)) return true;
  return state.startsWith('08') || /^57P0[123]$/.test(state);
}

export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE_STATES.has(state);
}

export interface TransactionOptions {
  /**
   * Send BEGIN in one message with the work's first statement (its parameters written into the
   * text: only for statements whose parameters are text, arrays, numbers or booleans), which saves
   * a round trip before it (the posting group's load).
   */
  readonly beginWithFirstQuery?: boolean;
}

/** One connection as `Sql`: a pooled one in `transaction`, a restore's own client. */
export class ClientSql implements Sql {
  constructor(private readonly client: Pick<PoolClient, 'query'>) {}
  async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.client.query(text, params as unknown[] | undefined)).rows as T[];
  }
}

/**
 * The connection of a `Database.transaction`. `queryThenCommit` sends the transaction's last
 * statement and its COMMIT in one message, for work that holds a lock others wait on (the
 * posting group's head): the lock is released one round trip sooner, without the answer's trip
 * back to this process and its wait in the event loop before COMMIT could be sent.
 */
export interface TransactionSql extends Sql {
  queryThenCommit<T>(text: string, params: readonly unknown[]): Promise<T[]>;
}

class TransactionClient extends ClientSql implements TransactionSql {
  /** Whether `queryThenCommit` committed: `transaction` then sends no COMMIT of its own. */
  committed = false;

  constructor(
    private readonly connection: Pick<PoolClient, 'query'>,
    /** BEGIN not yet sent: it goes out with the first statement (`beginWithFirstQuery`). */
    private beginPending: boolean,
  ) {
    super(connection);
  }

  override async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    if (!this.beginPending) return super.query<T>(text, params);
    this.beginPending = false;
    const results = (await this.connection.query(`BEGIN;\n${inlineParameters(text, params ?? [])}`)) as unknown as QueryResult[];
    return (results[1]?.rows ?? []) as T[];
  }

  /**
   * Runs `text` (parameters as `$1`, `$2`...) then COMMIT, as one simple-protocol message: if the
   * statement fails, PostgreSQL skips the COMMIT and the transaction rolls back as usual. When
   * the answer is lost (the connection dropped), throws `CommitUnacknowledged` with no result:
   * the caller, who knows what the work decided, adds it.
   */
  async queryThenCommit<T>(text: string, params: readonly unknown[]): Promise<T[]> {
    if (this.beginPending) throw new Error('queryThenCommit before any statement of the transaction');
    const sql = `${inlineParameters(text, params)};\nCOMMIT`;
    let results: QueryResult[];
    try {
      results = (await this.connection.query(sql)) as unknown as QueryResult[];
    } catch (error) {
      if (commitOutcomeOpen(error)) throw new CommitUnacknowledged(error, undefined);
      throw error;
    }
    this.committed = true;
    return (results[0]?.rows ?? []) as T[];
  }
}

/** How long closing waits for the pools' connections to end before it goes on regardless. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Resolves once every connection `pool` has now has ended (the pool emits 'remove' for each once
 * its end is done), or after `timeoutMs`. Called before the pool is told to end.
 */
function allEnded(pool: Pool, timeoutMs: number): Promise<void> {
  let open = pool.totalCount;
  if (open === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pool.off('remove', removed);
      resolve();
    };
    const removed = () => {
      if (--open <= 0) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pool.on('remove', removed);
  });
}

/** The node-postgres pool behind a TypeORM data source. */
function poolOf(source: DataSource): Pool {
  const pool = (source.driver as unknown as { master?: Pool }).master;
  if (!pool || typeof pool.connect !== 'function') throw new Error('the data source has no PostgreSQL pool: is it initialised?');
  return pool;
}

/**
 * The application's access to PostgreSQL. TypeORM's data sources own configuration and the
 * connection pools; queries go straight to node-postgres, which always returns plain rows (even
 * for UPDATE ... RETURNING) and keeps the posting path short. Writes go to the primary; `reports`
 * goes to the read replica when one is configured.
 */
export class Database implements Sql {
  retries = 0;
  /** Errors raised by pooled connections, counted for /metrics (a database restart raises one per connection). */
  poolErrors = 0;
  private readonly pool: Pool;
  private readonly reportPool: Pool;
  private readonly logger = new Logger('Database');

  constructor(
    readonly primary: DataSource,
    private readonly replica?: DataSource,
    private readonly directUrl?: string,
  ) {
    this.pool = poolOf(primary);
    this.reportPool = replica ? poolOf(replica) : this.pool;
    for (const pool of new Set([this.pool, this.reportPool])) this.survivePoolErrors(pool);
  }

  /**
   * A connection that dies (the database restarts, a proxy drops it) emits 'error'. node-postgres
   * only listens for it while the connection is idle in the pool; a connection checked out at
   * that moment would raise an unhandled 'error' event and end the process. Every connection
   * therefore gets a listener of its own: the query in progress fails (its caller gets a
   * retryable error), the broken connection is discarded, and the pool opens fresh ones once the
   * database is back.
   */
  private survivePoolErrors(pool: Pool): void {
    // An idle connection's error reaches both listeners; it is counted once.
    const seen = new WeakSet<Error>();
    const noted = (error: Error) => {
      if (seen.has(error)) return;
      seen.add(error);
      this.poolErrors++;
      this.logger.warn(`database connection lost: ${error.message}`);
    };
    pool.on('error', noted);
    // 'acquire' as well as 'connect': the connection TypeORM opened while initialising predates
    // this listener, and would otherwise be unguarded whenever it is checked out.
    const guarded = new WeakSet<PoolClient>();
    const guard = (client: PoolClient) => {
      if (guarded.has(client)) return;
      guarded.add(client);
      client.on('error', noted);
    };
    pool.on('connect', guard);
    pool.on('acquire', guard);
  }

  async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.pool.query(text, params as unknown[] | undefined)).rows as T[];
  }

  /**
   * The primary's connection string for connections outside the pool (LISTEN): DATABASE_DIRECT_URL
   * when the pool goes through a pooler in transaction mode, else the pool's own.
   */
  get primaryUrl(): string {
    const url = this.directUrl ?? (this.primary.options as { url?: string }).url;
    if (!url) throw new Error('the primary data source has no url');
    return url;
  }

  /** Read-only reports: the replica when configured, else the primary. */
  get reports(): Sql {
    return {
      query: async <T>(text: string, params?: readonly unknown[]) =>
        (await this.reportPool.query(text, params as unknown[] | undefined)).rows as T[],
    };
  }

  /** Pool statistics for /metrics. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /**
   * Runs `work` in one transaction, again from the start on a serialization failure or
   * deadlock (bounded, with jitter). `work` must therefore only touch the database through
   * `tx` and keep no side effects outside it until it returns.
   */
  transaction<T>(work: (tx: TransactionSql) => Promise<T>, attempts = 8, options: TransactionOptions = {}): Promise<T> {
    return withRetry(
      async () => {
        const client = await this.pool.connect();
        let broken = false;
        try {
          const beginWithFirstQuery = options.beginWithFirstQuery === true;
          if (!beginWithFirstQuery) await client.query('BEGIN');
          const tx = new TransactionClient(client, beginWithFirstQuery);
          const result = await work(tx);
          if (tx.committed) return result;
          try {
            await client.query('COMMIT');
          } catch (error) {
            if (commitOutcomeOpen(error)) {
              broken = true;
              throw new CommitUnacknowledged(error, result);
            }
            throw error;
          }
          return result;
        } catch (error) {
          // The work's own COMMIT (queryThenCommit) went unanswered: the connection is gone.
          if (error instanceof CommitUnacknowledged) broken = true;
          if (!broken) {
            await client.query('ROLLBACK').catch(() => {
              broken = true;
            });
          }
          throw error;
        } finally {
          // A connection that could not even roll back is discarded rather than reused.
          client.release(broken);
        }
      },
      {
        attempts,
        baseDelayMs: 2,
        maxDelayMs: 100,
        shouldRetry: isRetryable,
        onRetry: () => {
          this.retries++;
        },
      },
    );
  }

  /**
   * Closes the pools, and waits until each of their connections has ended: node-postgres's pool
   * `end` resolves once it has told every connection to end, not once each has. A database stopped
   * right after (the embedded one, at the end of a graceful stop) would otherwise still find some
   * of them open, and end them itself ("terminating connection due to administrator command").
   */
  async close(): Promise<void> {
    const ended = [...new Set([this.pool, this.reportPool])].map((pool) => allEnded(pool, CLOSE_WAIT_MS));
    if (this.primary.isInitialized) await this.primary.destroy();
    if (this.replica?.isInitialized) await this.replica.destroy();
    await Promise.all(ended);
  }
}

export function createDataSource(url: string, poolSize: number, applicationName: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    entities: [],
    poolSize,
    // Database logs pool errors itself (see survivePoolErrors); TypeORM's default prints to the console.
    poolErrorHandler: () => undefined,
    extra: {
      application_name: applicationName,
      connectionTimeoutMillis: 5000,
      // Bound every statement: a stuck query must not hold the ledger head for ever.
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 60_000,
    },
  });
}
