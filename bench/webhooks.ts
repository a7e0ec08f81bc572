import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { startService } from '../scripts/lib/service-process';
import {
  analyzeDatabase,
  checkpoint,
  CLIENTS,
  freshDatabase,
  meanOf,
  type PairedRatios,
  pairedRatios,
  ratioOf,
  runLoadProcess,
  type SettingRuns,
  settingRuns,
  setUp,
} from './common';
import { idlePercent, machineTicks } from './process-cpu';
import type { LoadResult } from './load';

export interface WebhookCost {
  readonly none: SettingRuns;
  readonly one: SettingRuns;
  /** Median throughput with one webhook over the median with none (target >= 0.9). */
  readonly ratioOfMedians: number;
  /**
   * Mean throughput with one webhook over the mean with none: every round counts, where a median
   * keeps one of them. Rounds swing by a sixth on these shared cores, so the two may differ.
   */
  readonly ratioOfMeans: number;
  /** Each round with one webhook over the round without that ran beside it, their mean and its standard error. */
  readonly paired: PairedRatios;
  /** Deliveries the receiver got for the 1-webhook runs, and the transfers those runs posted. */
  readonly delivered: number;
  readonly posted: number;
  /**
   * How much of the machine's CPU stayed idle in each setting's rounds, in percent (from
   * /proc/stat): whether the machine was bound by its CPU while the ratio was measured, which on
   * these shared cores changes from hour to hour (docs/webhooks.md, "Where it stands").
   */
  readonly idlePercent: { readonly none: readonly (number | null)[]; readonly one: readonly (number | null)[] };
}

/** How long the deliveries of a 1-webhook run may trail it before the next run starts. */
const DELIVERY_CATCH_UP_MS = 20_000;

/**
 * The distinct-accounts transfer load with no webhook and with one active webhook (every
 * transfer owed to a local receiver that answers 200 at once), on one service: the webhook is
 * created before each 1-webhook run and deleted after it, and runs alternate none, one, none,
 * one, one, none... (`rounds` of each, the order alternating by round) after a warm-up of each, so
 * drift on the machine touches both alike. Every round starts right after a CHECKPOINT: a
 * checkpoint the server starts on its own (every 5 minutes, or after about half of max_wal_size of
 * WAL, a few rounds here) spreads its writes over the next tens of seconds, and the rounds it falls
 * in lost up to half their throughput, whichever setting they measured.
 * Before deleting, the bench waits (up to 20 s) for the run's deliveries, so none of that work
 * spills into the next run without a webhook. SPEC B.7 / issue 17: one within 10 % of none.
 * The receiver runs in this process: it is cheap, and a dead one would not slow the posting
 * path anyway.
 */
export async function measureWebhookCost(
  url: string,
  rounds: number,
  seconds: number,
  warmupSeconds: number,
  say: (m: string) => void,
): Promise<WebhookCost> {
  const receiver = await startCountingReceiver();
  const receiverUrl = receiver.url;
  const databaseUrl = await freshDatabase(url, 'ledger_bench_webhooks');
  const service = await startService(
    databaseUrl,
    { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE: 'true' },
    `sl_bench_${randomBytes(16).toString('hex')}`,
  );
  try {
    const fixture = await setUp(service);
    const spec = { url: service.url, key: service.adminKey, keys: fixture.keys, connections: CLIENTS, pairs: fixture.pairs, oneWay: false };
    /**
     * Runs `load` with one webhook owed every transfer: created before, deleted after, once the
     * receiver has had every delivery (or 20 s have passed), so none of its work spills into a run
     * without it. Returns what `run` returned, with the deliveries received.
     */
    const withWebhook = async <T extends { load: LoadResult }>(run: () => Promise<T>): Promise<T & { received: number }> => {
      const created = await fixture.admin.ok(
        'mutation($url: String!) { createWebhook(url: $url, events: [TRANSACTION_POSTED]) { webhook { id } } }',
        { url: receiverUrl },
      );
      receiver.received = 0;
      const result = await run();
      // Deliveries may trail the load a little; they never hold it up.
      const deadline = Date.now() + DELIVERY_CATCH_UP_MS;
      while (receiver.received < result.load.requests && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await fixture.admin.ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.createWebhook.webhook.id });
      return { ...result, received: receiver.received };
    };
    // Both settings warm up: the dispatcher's code, the sending thread and the webhook tables'
    // planner statistics are as warm in the first measured round as in the last.
    await runLoadProcess({ ...spec, durationSec: warmupSeconds, label: 'warm-up' });
    await withWebhook(async () => ({ load: await runLoadProcess({ ...spec, durationSec: warmupSeconds, label: 'warm-up, 1 webhook' }) }));
    await analyzeDatabase(databaseUrl);
    const none: LoadResult[] = [];
    const one: LoadResult[] = [];
    const idle = { none: [] as (number | null)[], one: [] as (number | null)[] };
    /** One load run, with the share of the machine's CPU left idle while it ran. */
    const measured = async (label: string): Promise<{ load: LoadResult; idle: number | null }> => {
      // Every round starts just after a checkpoint, so none is measured while one runs.
      await checkpoint(databaseUrl);
      const before = machineTicks();
      const load = await runLoadProcess({ ...spec, durationSec: seconds, label });
      return { load, idle: idlePercent(before, machineTicks()) };
    };
    let delivered = 0;
    const runWithout = async (round: number) => {
      const { load: withoutLoad, idle: idleWithout } = await measured(`no webhook, round ${round}`);
      say(
        `  no webhook, round ${round}: ${withoutLoad.perSecond} tx/s, p99 ${withoutLoad.latencyP99Ms} ms, cores ${idleWithout ?? '?'} % idle`,
      );
      none.push(withoutLoad);
      idle.none.push(idleWithout);
    };
    const runWith = async (round: number) => {
      const { load: withLoad, idle: idleWith, received } = await withWebhook(() => measured(`1 webhook, round ${round}`));
      idle.one.push(idleWith);
      say(
        `  1 webhook, round ${round}: ${withLoad.perSecond} tx/s, p99 ${withLoad.latencyP99Ms} ms, cores ${idleWith ?? '?'} % idle, ` +
          `${received} deliveries received`,
      );
      delivered += received;
      one.push(withLoad);
    };
    for (let round = 1; round <= rounds; round++) {
      // Odd rounds without first, even rounds with: a machine that drifts one way during the section
      // does not always favour the setting measured first.
      if (round % 2 === 1) {
        await runWithout(round);
        await runWith(round);
      } else {
        await runWith(round);
        await runWithout(round);
      }
    }
    const oneTps = one.map((l) => l.perSecond);
    const noneTps = none.map((l) => l.perSecond);
    const noneRuns = settingRuns('no webhook', none);
    const oneRuns = settingRuns('1 active webhook', one);
    return {
      none: noneRuns,
      one: oneRuns,
      ratioOfMedians: ratioOf(oneRuns.tps.median, noneRuns.tps.median),
      ratioOfMeans: ratioOf(meanOf(oneTps), meanOf(noneTps)),
      paired: pairedRatios(oneTps, noneTps),
      delivered,
      idlePercent: idle,
      posted: one.reduce((sum, l) => sum + l.requests - l.mismatches - l.non2xx, 0),
    };
  } finally {
    await service.stop();
    await receiver.close();
  }
}

/** A local webhook receiver that answers 200 at once and counts what it got (`received` may be reset). */
export interface CountingReceiver {
  readonly url: string;
  received: number;
  /** Reads that brought requests (received / reads: how many requests a read brought, on average). */
  reads: number;
  close(): Promise<void>;
}

const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', 'latin1');
const OK_CLOSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
const LENGTH_REQUIRED = Buffer.from('HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
/** A request head longer than this is refused (400), as servers limit theirs. */
const MAX_HEAD_BYTES = 16 * 1024;

/**
 * The bench's webhook receiver: a minimal HTTP/1.1 responder on node:net. It stands for the
 * customer's server, which in production runs on another machine; here it shares the bench's
 * two cores with the service and PostgreSQL, so what it spends per request is taken from the
 * throughput being measured. node:http's server cost about as much CPU per delivery as the
 * service's own sending (bench:cpu, docs/performance.md), so the bench would measure node:http
 * rather than the service. This one does what a receiver must and nothing more: it frames each
 * request by its head and `Content-Length` (a request without one, chunked, is answered 411 and
 * the connection closed; a malformed or oversized head 400), answers each `200` with keep-alive
 * (`connection: close` when the request asked for it), in order, the answers to the requests one
 * read brought written together (HTTP/1.1 pipelining), and counts the requests it answered.
 */
export async function startCountingReceiver(): Promise<CountingReceiver> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer | null = null;
    /** Body bytes of the current request still to come (its head already read). */
    let bodyLeft = 0;
    socket.on('data', (chunk: Buffer) => {
      const buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      const answers: Buffer[] = [];
      receiver.reads++;
      let at = 0;
      let close = false;
      while (at < buffer.length && !close) {
        if (bodyLeft > 0) {
          const taken = Math.min(bodyLeft, buffer.length - at);
          bodyLeft -= taken;
          at += taken;
          if (bodyLeft > 0) break;
          continue;
        }
        const answer = answerTo(buffer, at);
        if (answer === null) break;
        at = answer.next;
        answers.push(answer.reply);
        if (answer.reply === OK || answer.reply === OK_CLOSE) receiver.received++;
        close = answer.close;
        bodyLeft = answer.bodyBytes;
      }
      if (!close && at < buffer.length) pending = buffer.subarray(at);
      if (answers.length === 1) socket.write(answers[0] as Buffer);
      else if (answers.length > 1) socket.write(Buffer.concat(answers));
      if (close) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const receiver: CountingReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: 0,
    reads: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
const MALFORMED = { reply: BAD_REQUEST, close: true, bodyBytes: 0 };

interface Answer {
  readonly reply: Buffer;
  readonly close: boolean;
  readonly bodyBytes: number;
  /** Where the request's body starts (after its head's blank line). */
  readonly next: number;
}

/**
 * The answer to the request whose head starts at `start` in `buffer`, and how many body bytes
 * follow it; null while the head is not all there yet. One pass over the head's bytes in
 * JavaScript: only the value of a `connection` field becomes a string (a call into the runtime
 * for every line, as `indexOf` is, cost this process more than the rest of its work per request).
 */
function answerTo(buffer: Buffer, start: number): Answer | null {
  const limit = Math.min(buffer.length, start + MAX_HEAD_BYTES);
  const lineEnd = lineEndFrom(buffer, start, limit);
  if (lineEnd < 0) return headMissing(buffer, start, limit);
  if (!isRequestLine(buffer, start, lineEnd)) return malformedAt(lineEnd);
  let length = -1;
  let chunked = false;
  // HTTP/1.0 closes unless asked to keep the connection.
  let close = buffer[lineEnd - 1] === 0x30;
  let at = lineEnd + 2;
  for (;;) {
    if (at + 1 >= limit) return headMissing(buffer, start, limit);
    if (buffer[at] === CR && buffer[at + 1] === LF) break;
    const next = lineEndFrom(buffer, at, limit);
    if (next < 0) return headMissing(buffer, start, limit);
    let colon = at;
    while (colon < next && buffer[colon] !== COLON) colon++;
    if (colon === at || colon === next) return malformedAt(next);
    if (isName(buffer, at, colon, 'content-length')) {
      const value = digitsOf(buffer, colon + 1, next);
      if (value < 0 || (length >= 0 && length !== value)) return malformedAt(next);
      length = value;
    } else if (isName(buffer, at, colon, 'transfer-encoding')) chunked = true;
    else if (isName(buffer, at, colon, 'connection')) {
      const value = buffer.toString('latin1', colon + 1, next);
      close = /\bclose\b/i.test(value) || (close && !/\bkeep-alive\b/i.test(value));
    }
    at = next + 2;
  }
  const next = at + 2;
  if (chunked) return { reply: LENGTH_REQUIRED, close: true, bodyBytes: 0, next };
  return { reply: close ? OK_CLOSE : OK, close, bodyBytes: length < 0 ? 0 : length, next };
}

/** A head not complete within the buffer: wait for more, unless it is already longer than a head may be (400). */
function headMissing(buffer: Buffer, start: number, limit: number): Answer | null {
  return buffer.length - start > MAX_HEAD_BYTES ? malformedAt(limit) : null;
}

function malformedAt(next: number): Answer {
  return { ...MALFORMED, next };
}

/** Where the line starting at `at` ends (its CR, followed by LF), or -1 when it does not end before `limit`. */
function lineEndFrom(buffer: Buffer, at: number, limit: number): number {
  for (let i = at; i + 1 < limit; i++) if (buffer[i] === CR && buffer[i + 1] === LF) return i;
  return -1;
}

/** `METHOD target HTTP/1.0` or `HTTP/1.1`: an upper-case method, a target without spaces. */
function isRequestLine(buffer: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && (buffer[i] as number) >= 0x41 && (buffer[i] as number) <= 0x5a) i++;
  if (i === start || buffer[i] !== SPACE) return false;
  const target = ++i;
  while (i < end && (buffer[i] as number) > SPACE) i++;
  if (i === target || buffer[i] !== SPACE || end - i !== 9) return false;
  for (let k = 0; k < 7; k++) if (buffer[i + 1 + k] !== HTTP_1.charCodeAt(k)) return false;
  return buffer[end - 1] === 0x30 || buffer[end - 1] === 0x31;
}

const HTTP_1 = 'HTTP/1.';

/** A field value of 1 to 15 decimal digits between optional spaces or tabs; -1 otherwise. */
function digitsOf(buffer: Buffer, from: number, to: number): number {
  let a = from;
  let b = to;
  while (a < b && (buffer[a] === SPACE || buffer[a] === TAB)) a++;
  while (b > a && (buffer[b - 1] === SPACE || buffer[b - 1] === TAB)) b--;
  if (b === a || b - a > 15) return -1;
  let value = 0;
  for (let i = a; i < b; i++) {
    const d = (buffer[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Whether the field name from `at` to `colon` is `lower`, in any case. */
function isName(buffer: Buffer, at: number, colon: number, lower: string): boolean {
  if (colon - at !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = buffer[at + i] as number;
    const l = lower.charCodeAt(i);
    if (c !== l && !(c >= 0x41 && c <= 0x5a && c + 0x20 === l)) return false;
  }
  return true;
}
