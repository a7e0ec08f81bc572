import { Agent, request as httpRequest } from 'node:http';
import { percentile } from './schema-probe';

/**
 * The load generator, run as its own process so it does not share an event loop with the
 * service. Each of the keep-alive connections owns one pair of accounts and sends `transfer`
 * mutations back to back, each with a fresh idempotency key, alternating direction so balances
 * stay bounded. `perSecond` counts transfers that were posted. Prints one JSON line.
 */
export interface LoadSpec {
  readonly url: string;
  readonly key: string;
  /** One API key per connection (connection i uses keys[i % length]), as separate clients would; else `key` for all. */
  readonly keys?: readonly string[];
  readonly connections: number;
  readonly durationSec: number;
  /** When set, each connection sends exactly this many transfers instead of running for durationSec. */
  readonly requestsPerConnection?: number;
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
  /** Of non2xx, the requests refused with 429 (rate limited). */
  readonly refused429: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** CPU time (user + system) the load generator itself used, in milliseconds. */
  readonly cpuMs: number;
}

const MUTATION = 'mutation($f: ID!, $t: ID!, $k: String!) { transfer(from: $f, to: $t, amount: "0.01", idempotencyKey: $k) { sequence } }';

interface Reply {
  readonly status: number;
  readonly body: string;
}

function post(agent: Agent, url: URL, key: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** One loop per connection, each with its own pair of accounts and its own sequence of keys. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const run = process.pid.toString(36) + Date.now().toString(36);
  const latencies: number[] = [];
  let errors = 0;
  let mismatches = 0;
  let non2xx = 0;
  let refused429 = 0;
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  const deadline = started + spec.durationSec * 1000;
  const count = spec.requestsPerConnection;
  const more = (n: number) => (count === undefined ? Date.now() < deadline : n <= count);
  await Promise.all(
    Array.from({ length: spec.connections }, async (_, connection) => {
      const [a, b] = spec.pairs[connection % spec.pairs.length] as readonly [string, string];
      const key = spec.keys?.length ? (spec.keys[connection % spec.keys.length] as string) : spec.key;
      for (let n = 1; more(n); n++) {
        const forward = spec.oneWay || n % 2 === 1;
        const body = JSON.stringify({
          query: MUTATION,
          variables: { f: forward ? a : b, t: forward ? b : a, k: `${run}-${connection}-${n}` },
        });
        const t0 = process.hrtime.bigint();
        try {
          const reply = await post(agent, url, key, body);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (reply.status === 429) refused429++;
          if (reply.status < 200 || reply.status >= 300) non2xx++;
          else if (reply.body.includes('"errors"')) mismatches++;
        } catch {
          errors++;
        }
      }
    }),
  );
  agent.destroy();
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (Date.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const done = latencies.length - mismatches - non2xx;
  return {
    label: spec.label,
    requests: latencies.length,
    seconds,
    perSecond: Math.round(done / seconds),
    errors,
    mismatches,
    non2xx,
    refused429,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
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
