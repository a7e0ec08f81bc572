import autocannon from 'autocannon';

/**
 * The load generator, run as its own process so it does not share an event loop with the
 * service. Each connection owns one pair of accounts and sends `transfer` mutations, each with
 * a fresh idempotency key, alternating direction so balances stay bounded. Prints one JSON line.
 */
export interface LoadSpec {
  readonly url: string;
  readonly key: string;
  readonly connections: number;
  readonly durationSec: number;
  /** One [from, to] pair per connection. */
  readonly pairs: readonly (readonly [string, string])[];
  /** Hot: every connection pays its `to` (the same account) and never the reverse. */
  readonly oneWay: boolean;
  readonly label: string;
}

export interface LoadResult {
  readonly label: string;
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly errors: number;
  readonly mismatches: number;
  readonly non2xx: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

const MUTATION = 'mutation($f: ID!, $t: ID!, $k: String!) { transfer(from: $f, to: $t, amount: "0.01", idempotencyKey: $k) { sequence } }';

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let nextSlot = 0;
  let sent = 0;
  const run = process.pid.toString(36) + Date.now().toString(36);
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationSec,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.key}` },
        requests: [
          {
            setupRequest: (request, context: { slot?: number; n?: number }) => {
              context.slot ??= nextSlot++ % spec.pairs.length;
              context.n = (context.n ?? 0) + 1;
              const [a, b] = spec.pairs[context.slot] as [string, string];
              const forward = spec.oneWay || context.n % 2 === 1;
              sent++;
              return {
                ...request,
                body: JSON.stringify({ query: MUTATION, variables: { f: forward ? a : b, t: forward ? b : a, k: `${run}-${context.slot}-${context.n}` } }),
              };
            },
          },
        ],
        verifyBody: (body: string) => !body.includes('"errors"'),
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = spec.durationSec;
        resolve({
          label: spec.label,
          requests: result.requests.total,
          seconds,
          perSecond: Math.round(result.requests.total / seconds),
          errors: result.errors + result.timeouts,
          mismatches: result.mismatches,
          non2xx: result.non2xx,
          latencyP50Ms: result.latency.p50,
          latencyP99Ms: result.latency.p99,
        });
        void sent;
      },
    );
  });
}

if (require.main === module) {
  const spec = JSON.parse(process.env.BENCH_LOAD_SPEC ?? '{}') as LoadSpec;
  runLoad(spec)
    .then((result) => process.stdout.write(JSON.stringify(result) + '\n'))
    .catch((error: unknown) => {
      process.stderr.write(String(error) + '\n');
      process.exit(1);
    });
}
