import { DataSource, type QueryRunner } from 'typeorm';
import { withRetry } from '../common/retry';

/** What repositories need: run SQL, get rows. Both the pool and a transaction provide it. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/** SQLSTATEs after which the whole transaction may safely run again. */
const RETRYABLE_STATES = new Set(['40001', '40P01']);

export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const direct = (error as { code?: unknown }).code;
  if (typeof direct === 'string') return direct;
  const driver = (error as { driverError?: { code?: unknown } }).driverError;
  return typeof driver?.code === 'string' ? driver.code : undefined;
}

export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE_STATES.has(state);
}

class RunnerSql implements Sql {
  constructor(private readonly runner: QueryRunner) {}
  query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return this.runner.query(text, params as unknown[] | undefined) as Promise<T[]>;
  }
}

/**
 * The application's access to PostgreSQL, over TypeORM's data sources. Writes go to the
 * primary; `reports` goes to the read replica when one is configured.
 */
export class Database implements Sql {
  retries = 0;

  constructor(
    readonly primary: DataSource,
    private readonly replica?: DataSource,
  ) {}

  query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return this.primary.query(text, params as unknown[] | undefined);
  }

  /** Read-only reports: the replica when configured, else the primary. */
  get reports(): Sql {
    const source = this.replica ?? this.primary;
    return { query: (text, params) => source.query(text, params as unknown[] | undefined) };
  }

  /**
   * Runs `work` in one transaction, again from the start on a serialization failure or
   * deadlock (bounded, with jitter). `work` must therefore only touch the database through
   * `tx` and keep no side effects outside it until it returns.
   */
  transaction<T>(work: (tx: Sql) => Promise<T>, attempts = 8): Promise<T> {
    return withRetry(
      async () => {
        const runner = this.primary.createQueryRunner();
        await runner.connect();
        try {
          await runner.startTransaction();
          const result = await work(new RunnerSql(runner));
          await runner.commitTransaction();
          return result;
        } catch (error) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          throw error;
        } finally {
          await runner.release();
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

  async close(): Promise<void> {
    if (this.primary.isInitialized) await this.primary.destroy();
    if (this.replica?.isInitialized) await this.replica.destroy();
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
    extra: {
      application_name: applicationName,
      connectionTimeoutMillis: 5000,
      // Bound every statement: a stuck query must not hold the ledger head for ever.
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 60_000,
    },
  });
}
