/**
 * Per-request batching: every `load` made in the same tick becomes one call of `batch`, and a
 * key is fetched at most once per request. Keeps nested fields (a transaction's accounts, an
 * account's party) from costing one query each.
 */
export class BatchLoader<K, V> {
  private readonly cache = new Map<K, Promise<V | undefined>>();
  private queue: { key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly batch: (keys: K[]) => Promise<Map<K, V>>) {}

  load(key: K): Promise<V | undefined> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const promise = new Promise<V | undefined>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(() => void this.flush());
      this.queue.push({ key, resolve, reject });
    });
    this.cache.set(key, promise);
    return promise;
  }

  private async flush(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    try {
      const found = await this.batch([...new Set(queue.map((q) => q.key))]);
      queue.forEach((q) => q.resolve(found.get(q.key)));
    } catch (error) {
      queue.forEach((q) => q.reject(error));
    }
  }
}

const loaders = new WeakMap<object, Map<string, BatchLoader<unknown, unknown>>>();

/** The loader named `name` for this request context, made on first use. */
export function loaderFor<K, V>(context: object, name: string, batch: (keys: K[]) => Promise<Map<K, V>>): BatchLoader<K, V> {
  let byName = loaders.get(context);
  if (!byName) {
    byName = new Map();
    loaders.set(context, byName);
  }
  let loader = byName.get(name) as BatchLoader<K, V> | undefined;
  if (!loader) {
    loader = new BatchLoader(batch);
    byName.set(name, loader as BatchLoader<unknown, unknown>);
  }
  return loader;
}

/**
 * Forgets the loaders of a context. A subscription executes every event with the one context
 * of its operation, so each event starts afresh: balances read for one event are not served
 * again for the next.
 */
export function clearLoaders(context: object): void {
  loaders.delete(context);
}
