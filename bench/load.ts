import { connect, type Socket } from 'node:net';
import { percentile } from './schema-probe';

/**
 * The load generator, run as its own process so it does not share an event loop with the
 * service. Each of the keep-alive connections owns one pair of accounts and sends `transfer`
 * mutations back to back, each with a fresh idempotency key, alternating direction so balances
 * stay bounded. `perSecond` counts transfers that were posted. Prints one JSON line.
 *
 * It shares the machine's cores with the service and PostgreSQL, as pgbench does for the raw-SQL
 * baseline, so what it spends per request is taken from the throughput being measured. It is
 * therefore a minimal HTTP/1.1 client on node:net (one request at a time per keep-alive
 * connection, the answer framed by its Content-Length or chunks), as lean as pgbench is for
 * SQL: node:http's client spent 0.079–0.107 ms of CPU per transfer here (docs/performance.md).
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

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * One keep-alive HTTP/1.1 connection to the service, one request at a time. An answer is framed
 * by its Content-Length, or by its chunks (Transfer-Encoding: chunked); a connection the server
 * closed is opened again for the next request.
 */
export class Connection {
  private socket: Socket | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  send(request: Buffer): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.open().write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Socket {
    if (this.socket) return this.socket;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.answer();
    });
    const fail = (error: Error) => {
      // A connection already dropped (closed here, or replaced) fails nothing: the request now waiting is another connection's.
      if (this.socket !== socket) return;
      this.socket = null;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the service closed the connection')));
    this.socket = socket;
    return socket;
  }

  /** Resolves the request waiting when its whole answer is in. */
  private answer(): void {
    const headEnd = this.pending.indexOf(HEAD_END);
    if (headEnd < 0 || !this.waiting) return;
    const head = this.pending.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Buffer | null;
    let used: number;
    if (length) {
      used = headEnd + 4 + Number(length[1]);
      body = this.pending.length >= used ? this.pending.subarray(headEnd + 4, used) : null;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const chunked = dechunk(this.pending, headEnd + 4);
      if (chunked instanceof Error) return this.refuse(chunked);
      ({ body, used } = chunked);
    } else {
      return this.refuse(new Error(`an answer with neither Content-Length nor chunks: ${head.split('\r\n')[0]}`));
    }
    if (!body) return;
    const text = body.toString('utf8');
    this.pending = this.pending.subarray(used);
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status, body: text });
  }

  /** Fails the request waiting on an answer it cannot frame, and drops the connection (its bytes are out of step). */
  private refuse(error: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    this.close();
    waiting?.reject(error);
  }
}

/** A chunked body starting at `at`: the body and where the answer ends, a null body while it is incomplete, or an Error when it is malformed. */
function dechunk(buffer: Buffer, at: number): { body: Buffer | null; used: number } | Error {
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at);
    if (lineEnd < 0) return { body: null, used: 0 };
    const sizeText = buffer.toString('latin1', at, lineEnd);
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return new Error('an answer with a malformed chunk size');
    const size = parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (buffer.length < start + size + 2) return { body: null, used: 0 };
    if (size === 0) return { body: Buffer.concat(parts), used: start + 2 };
    parts.push(buffer.subarray(start, start + size));
    at = start + size + 2;
  }
}

export function requestBytes(url: URL, key: string, body: string): Buffer {
  const payload = Buffer.from(body);
  const head =
    `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
    `authorization: Bearer ${key}\r\ncontent-length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** One loop per connection, each with its own pair of accounts and its own sequence of keys. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const run = process.pid.toString(36) + Date.now().toString(36);
  const latencies: number[] = [];
  const connections: Connection[] = [];
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
      const http = new Connection(url.hostname, Number(url.port));
      connections.push(http);
      for (let n = 1; more(n); n++) {
        const forward = spec.oneWay || n % 2 === 1;
        const body = JSON.stringify({
          query: MUTATION,
          variables: { f: forward ? a : b, t: forward ? b : a, k: `${run}-${connection}-${n}` },
        });
        const t0 = process.hrtime.bigint();
        try {
          const reply = await http.send(requestBytes(url, key, body));
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
  connections.forEach((c) => c.close());
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
