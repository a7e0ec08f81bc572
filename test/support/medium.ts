import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createTestDatabase } from './database';

const ROOT = join(__dirname, '..', '..');

/** An error a service threw, with its SPEC code (DomainError) when it had one. */
export class ServiceError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
    readonly original: string,
  ) {
    super(message);
  }
}

/** A service's methods as the test calls them: every answer comes back as a promise (a method may also answer at once). */
type Remote<S> = { [K in keyof S]: S[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never };

export interface Medium {
  readonly databaseUrl: string;
  /** The service `name` exported by `module` (a path under src/, without .ts), built by Nest in the medium's modules. */
  service<S>(module: string, name: string): Remote<S>;
  /** A query on the test database (to read what the services wrote). */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** A named export of a built module, as data. */
  exported<T>(module: string, name: string): Promise<T>;
  close(): Promise<void>;
}

/** A class outside the medium's modules to provide as well (a repository a module would bring with more than the test wants). */
export interface MediumProvider {
  /** A path under src/, without .ts. */
  readonly module: string;
  readonly name: string;
}

/** Talks to test/support/medium-worker.js: one request, one answer. */
function channel(worker: Worker) {
  let next = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  worker.on(
    'message',
    (message: { id: number; ok: boolean; value?: unknown; error?: { code?: string; message: string; stack?: string } }) => {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(new ServiceError(message.error?.code, message.error?.message ?? 'failed', message.error?.stack ?? ''));
    },
  );
  worker.on('error', (error) => waiting.forEach((p) => p.reject(error)));
  return (kind: string, payload: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, kind, payload });
    });
}

/**
 * The medium test layer (Immich's newMediumService): the ledger's services and its posting
 * group, built by Nest in process against a fresh, migrated test database, with no HTTP and no
 * spawned service. Between the pure unit tests (money, rules) and the end-to-end tests that
 * start the built service. The modules run from dist/ (`npm test` builds first) in a worker
 * thread: see medium-worker.js for why.
 */
export async function newMedium(env: Record<string, string> = {}, providers: readonly MediumProvider[] = []): Promise<Medium> {
  const worker = new Worker(join(__dirname, 'medium-worker.js'), { workerData: { root: ROOT } });
  const send = channel(worker);
  const databaseUrl = await createTestDatabase({ migrated: true });
  try {
    await send('start', { databaseUrl, env, providers: providers.map((p) => ({ module: `src/${p.module}.js`, name: p.name })) });
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const distPath = (module: string) => `src/${module}.js`;
  return {
    databaseUrl,
    service<S>(module: string, name: string): Remote<S> {
      return new Proxy({} as Remote<S>, {
        get:
          (_target, method) =>
          (...args: unknown[]) =>
            send('call', { module: distPath(module), name, method, args }),
      });
    },
    sql: async <R>(text: string, params: unknown[] = []) => (await send('sql', { text, params })) as R[],
    exported: async <T>(module: string, name: string) => (await send('exported', { module: distPath(module), name })) as T,
    close: async () => {
      await send('close', {});
      await worker.terminate();
    },
  };
}
