import { isIP, type LookupFunction, Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { NextTurn } from '../common/event-loop';
import { guardedLookup, isPrivateAddress, type ParsedTarget, parseTarget, PrivateAddressError } from './ssrf';

export interface SendOutcome {
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Of a receiver's answer only the status counts; its body is read (so the connection is reused) up to this much. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** An answer's status line and header fields longer than this are refused. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Webhook URLs whose parsed form is kept (parsing one again for every delivery costs more than the request's own work). */
const MAX_PARSED_TARGETS = 1000;
/** Webhooks whose connections are kept; beyond this the idle ones are closed. */
const MAX_POOLS = 1000;
/**
 * A request that got no answer because its connection closed under it (a kept-alive connection
 * the receiver had just closed, or one it closed after answering the request before) is sent
 * again on a new connection at most this many times before it counts as a failed attempt.
 */
const MAX_RESENDS = 2;

/** The least a flush's buffer is allocated with: a pipeline of 128 usual requests fits. */
const SCRATCH_BYTES = 256 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * POSTs deliveries over HTTP/1.1, written and read by this module on plain sockets (TLS for
 * https): one request is its head's text and its body's bytes, and one answer a status line, a few header fields
 * and a body skipped. A 2xx is delivered; redirects are not followed (a 3xx is a failed attempt).
 * A general-purpose client (undici) spent most of what a delivery cost the service on request
 * objects, handlers and timers of its own (docs/webhooks.md, "Cost").
 *
 * The timeout bounds each phase: connecting, the answer's status line and header fields once the
 * request is sent (for a request pipelined behind others, once the answer before it is in), and
 * each wait for more of its body. With private receivers refused, every new connection resolves
 * the host through `guardedLookup` (every address checked), and an address literal is checked
 * before connecting.
 *
 * Each webhook has its own connections, so a slow receiver holds only its own webhook's, even when
 * several webhooks share a host. A fast webhook's sends in flight (at most `pipelineDepth`, the
 * dispatcher's bound) are pipelined on one kept-alive connection (HTTP/1.1 requires servers to
 * answer pipelined requests in order; the body's event id makes a delivery safe to send again),
 * and every request started in one turn of the event loop leaves in one write. A slower webhook
 * gets a connection per send, at most `perWebhook`, since a server may answer pipelined requests
 * one after the other. When a pipelined request times out or its connection fails, every request
 * outstanding on that connection fails with it at once: a receiver gone silent holds the pipeline
 * for one timeout, not one per request. A receiver that closes its connection after an answer is
 * sent one request per connection from then on.
 */
export class WebhookSender {
  private readonly pools = new Map<string, Pool>();
  private readonly targets = new Map<string, Target>();
  private readonly lookup: LookupFunction | undefined;
  private readonly unflushed = new Set<Connection>();
  private readonly flushes = new NextTurn(() => {
    for (const c of this.unflushed) c.flush();
    this.unflushed.clear();
  });
  private freeScratch: Buffer | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly allowPrivate: boolean,
    private readonly perWebhook: number,
    private readonly pipelineDepth: number,
  ) {
    // The guard has the shape of dns.lookup's callback form, which is what net.connect calls.
    this.lookup = allowPrivate ? undefined : guardedLookup();
  }

  /**
   * Sends one delivery of `webhookId` to `target`: `pipelined` on one connection with up to
   * `pipelineDepth` outstanding (a receiver that answers fast), or on a connection of its own among
   * up to `perWebhook` (a slow one, which may answer pipelined requests one after the other).
   */
  send(webhookId: string, target: string, body: Buffer, headers: readonly string[], pipelined: boolean): Promise<SendOutcome> {
    let parsed: Target;
    try {
      parsed = this.parsed(target);
    } catch (error) {
      return Promise.resolve({ statusCode: null, error: (error as Error).message });
    }
    const pool = this.poolOf(webhookId, parsed, pipelined);
    return new Promise((resolve) => pool.submit({ head: requestHead(parsed, body, headers), body, resends: 0, resolve }));
  }

  close(): void {
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
  }

  /**
   * A buffer for a flush of `size` bytes: the one the last flush gave back if it is free and large
   * enough (a fresh buffer of a hundred kilobytes for every flush was paid for in page faults).
   */
  scratch(size: number): Buffer {
    const free = this.freeScratch;
    this.freeScratch = null;
    if (free && free.length >= size) return free.subarray(0, size);
    return Buffer.allocUnsafeSlow(Math.max(size, SCRATCH_BYTES)).subarray(0, size);
  }

  /** Gives back a flush's buffer once its bytes were handed to the kernel. */
  reuse(bytes: Buffer): void {
    this.freeScratch = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.buffer.byteLength - bytes.byteOffset);
  }

  /** A connection with requests to write: they leave together, once this turn of the event loop is over. */
  flushSoon(connection: Connection): void {
    this.unflushed.add(connection);
    this.flushes.ask();
  }

  /** A new connection to a webhook's receiver: TLS for https, the SSRF guard on its address. */
  open(target: ParsedTarget): Socket {
    const { url, host } = target;
    const tls = url.protocol === 'https:';
    const port = Number(url.port || (tls ? 443 : 80));
    if (!this.allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) {
      const socket = new Socket();
      process.nextTick(() => socket.destroy(new PrivateAddressError(host, host)));
      return socket;
    }
    const lookup = this.lookup ? { lookup: this.lookup } : {};
    if (tls) return tlsConnect({ host, port, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'], ...lookup });
    const socket = new Socket();
    socket.connect({ host, port, ...lookup });
    return socket;
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  private parsed(target: string): Target {
    let parsed = this.targets.get(target);
    if (!parsed) {
      const checked = parseTarget(target);
      const { url } = checked;
      parsed = { ...checked, origin: url.origin, headStart: `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` };
      if (this.targets.size >= MAX_PARSED_TARGETS) this.targets.clear();
      this.targets.set(target, parsed);
    }
    return parsed;
  }

  /** The webhook's connections to its URL's origin (a webhook's URL never changes; the origin is part of the key all the same). */
  private poolOf(webhookId: string, target: Target, pipelined: boolean): Pool {
    const key = `${webhookId} ${target.origin} ${pipelined ? 'pipelined' : 'parallel'}`;
    let pool = this.pools.get(key);
    if (!pool) {
      if (this.pools.size >= MAX_POOLS) this.closeIdle();
      pool = new Pool(this, target, pipelined ? 1 : this.perWebhook, pipelined ? this.pipelineDepth : 1);
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Closes the connections of webhooks with nothing in flight (kept beyond MAX_POOLS). */
  private closeIdle(): void {
    for (const [key, pool] of this.pools) {
      if (!pool.idle) continue;
      this.pools.delete(key);
      pool.destroy();
    }
  }
}

/** One request: its head and body, how often it was sent again on a new connection, and where its outcome goes. */
interface Exchange {
  readonly head: string;
  readonly body: Buffer;
  resends: number;
  readonly resolve: (outcome: SendOutcome) => void;
}

/** A webhook URL checked, with what every request to it starts with. */
interface Target extends ParsedTarget {
  readonly origin: string;
  /** The request line and the host field. */
  readonly headStart: string;
}

/**
 * The request line and header fields, with the blank line that ends them. Every character is
 * ASCII (a URL's path, query and host as WHATWG URL serializes them, header names and values the
 * dispatcher sets), so the text is written one byte per character.
 */
function requestHead(target: Target, body: Buffer, headers: readonly string[]): string {
  let head = `${target.headStart}content-length: ${body.length}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function answered(statusCode: number): SendOutcome {
  return { statusCode, error: statusCode >= 200 && statusCode < 300 ? null : `the receiver answered ${statusCode}` };
}

/** A webhook's connections to one origin, and its requests waiting for room on them. */
class Pool {
  private readonly connections = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  /** Set once the receiver closed a connection after an answer: from then on one request per connection. */
  private closesAfterAnswer = false;

  constructor(
    readonly sender: WebhookSender,
    readonly target: ParsedTarget,
    private readonly maxConnections: number,
    private readonly depth: number,
  ) {}

  get idle(): boolean {
    if (this.waiting.length > 0) return false;
    for (const c of this.connections) if (c.outstanding > 0) return false;
    return true;
  }

  submit(exchange: Exchange): void {
    this.waiting.push(exchange);
    this.assign();
  }

  /** Requests that lost their connection before any answer: first in line again. */
  resend(exchanges: readonly Exchange[]): void {
    this.waiting.unshift(...exchanges);
    this.assign();
  }

  receiverCloses(): void {
    this.closesAfterAnswer = true;
  }

  /** Puts waiting requests on connections with room, opening connections up to the bound. */
  assign(): void {
    const depth = this.closesAfterAnswer ? 1 : this.depth;
    while (this.waiting.length > 0) {
      let chosen: Connection | null = null;
      for (const c of this.connections) if (c.open && c.outstanding < depth && (!chosen || c.outstanding < chosen.outstanding)) chosen = c;
      if (!chosen) {
        if (this.connections.size >= this.maxConnections) return;
        chosen = new Connection(this);
        this.connections.add(chosen);
      }
      chosen.add(this.waiting.shift() as Exchange);
    }
  }

  ended(connection: Connection): void {
    this.connections.delete(connection);
  }

  destroy(): void {
    for (const exchange of this.waiting.splice(0)) exchange.resolve({ statusCode: null, error: 'the sender was closed' });
    for (const c of this.connections) c.fail(new Error('the sender was closed'), false);
  }
}

type BodyMode = 'none' | 'length' | 'chunked' | 'close';

/** One connection: requests written in order, answers read in order (HTTP/1.1). */
class Connection {
  /** Accepting requests: not closing, not failed. */
  open = true;
  private readonly socket: Socket | TLSSocket;
  private connected = false;
  private readonly inFlight: Exchange[] = [];
  private unwritten: Exchange[] = [];
  /** Answers completed on this connection. */
  private answers = 0;
  private readonly timer: NodeJS.Timeout;

  // The answer being read.
  private head: Buffer | null = null;
  private status = 0;
  private mode: BodyMode = 'none';
  private bodyLeft = 0;
  private bodyRead = 0;
  private keepAlive = true;
  /** Whether bytes of the current answer arrived (a request with none may be sent again elsewhere). */
  private answering = false;
  private chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
  private line: Buffer | null = null;

  constructor(private readonly pool: Pool) {
    this.socket = pool.sender.open(pool.target);
    this.socket.setNoDelay(true);
    this.socket.on(pool.target.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.timer.refresh();
      this.flush();
    });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('end', () => this.closedByReceiver());
    this.socket.on('error', (error) => this.fail(error, true));
    this.socket.on('close', () => this.fail(new Error('the connection closed'), true));
    // One timer per connection, restarted at each phase (connecting, each answer, each part of a body).
    this.timer = setTimeout(() => this.timedOut(), pool.sender.timeout);
    this.timer.unref();
  }

  get outstanding(): number {
    return this.inFlight.length;
  }

  add(exchange: Exchange): void {
    if (this.inFlight.length === 0 && this.connected) this.timer.refresh();
    this.inFlight.push(exchange);
    this.unwritten.push(exchange);
    this.pool.sender.flushSoon(this);
  }

  flush(): void {
    if (!this.connected || this.unwritten.length === 0 || this.socket.destroyed) return;
    // One buffer for every request waiting: no string of them all built (and flattened) on V8's heap, and each body's
    // bytes, already encoded and signed, copied once.
    let size = 0;
    for (const e of this.unwritten) size += e.head.length + e.body.length;
    const { sender } = this.pool;
    const bytes = sender.scratch(size);
    let at = 0;
    for (const e of this.unwritten) {
      at += bytes.write(e.head, at, 'latin1');
      at += e.body.copy(bytes, at);
    }
    this.unwritten = [];
    this.socket.write(bytes);
    // A write the kernel took whole at once (nothing left queued on the socket) no longer needs its bytes; one that waits for
    // room keeps them, and the next flush gets a buffer of its own. TLS sockets encrypt from the bytes later: never reused.
    if (this.socket.writableLength === 0 && !(this.socket instanceof TLSSocket)) sender.reuse(bytes);
  }

  private timedOut(): void {
    if (this.inFlight.length === 0 && this.connected) return;
    const phase = this.connected ? 'no answer' : 'not connected';
    this.fail(new Error(`${phase} within ${this.pool.sender.timeout} ms`), false);
  }

  /**
   * Ends the connection and every request on it. `mayResend`: requests that got no byte of an
   * answer go back to the pool when the connection was a kept-alive one the receiver may have
   * closed just as they were written (or it closed after answering the one before); the others —
   * and all of them after a timeout — are failed attempts, retried as any other.
   */
  fail(error: Error, mayResend: boolean): void {
    if (!this.open && this.socket.destroyed && this.inFlight.length === 0) return;
    this.open = false;
    clearTimeout(this.timer);
    this.socket.destroy();
    this.pool.ended(this);
    const failed = this.inFlight.splice(0);
    this.unwritten = [];
    const again: Exchange[] = [];
    failed.forEach((exchange, i) => {
      const unanswered = i > 0 || !this.answering;
      if (mayResend && unanswered && this.answers > 0 && exchange.resends < MAX_RESENDS) {
        exchange.resends++;
        again.push(exchange);
      } else exchange.resolve({ statusCode: null, error: error.message });
    });
    if (again.length > 0) this.pool.resend(again);
    else this.pool.assign();
  }

  private closedByReceiver(): void {
    // An answer framed by the connection's end is complete now.
    if (this.mode === 'close' && this.head === null && this.inFlight.length > 0 && this.status !== 0) this.complete();
    this.fail(new Error('the receiver closed the connection'), true);
  }

  private read(chunk: Buffer): void {
    if (this.inFlight.length === 0) {
      this.fail(new Error('the receiver sent bytes nobody asked for'), false);
      return;
    }
    this.timer.refresh();
    let at = 0;
    while (at < chunk.length && this.inFlight.length > 0) {
      this.answering = true;
      if (this.status === 0) {
        at = this.readHead(chunk, at);
        if (at < 0) return;
        continue;
      }
      at = this.readBody(chunk, at);
      if (at < 0) return;
    }
  }

  /** Reads the status line and header fields; returns where the body starts, or the chunk's end while they are incomplete, or -1. */
  private readHead(chunk: Buffer, from: number): number {
    const buffer = this.head ? Buffer.concat([this.head, chunk.subarray(from)]) : chunk.subarray(from);
    const end = buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (buffer.length > MAX_HEAD_BYTES) return this.malformed('an answer head longer than 16 KiB');
      this.head = Buffer.from(buffer);
      return chunk.length;
    }
    const consumedFromChunk = end + HEAD_END.length - (this.head ? this.head.length : 0);
    this.head = null;
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (!statusLine) return this.malformed('an answer that is not HTTP/1.x');
    const status = Number(statusLine[2]);
    let length: number | null = null;
    let chunked = false;
    let close = statusLine[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) return this.malformed('a malformed answer header');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) return this.malformed('a malformed content-length');
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      else if (name === 'connection') {
        if (/\bclose\b/i.test(value)) close = true;
        else if (/\bkeep-alive\b/i.test(value)) close = false;
      }
    }
    const next = from + consumedFromChunk;
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the final one follows for the same request.
      if (status === 101) return this.malformed('a protocol switch');
      return next;
    }
    this.status = status;
    this.keepAlive = !close;
    this.bodyRead = 0;
    if (status === 204 || status === 304) this.mode = 'none';
    else if (chunked) {
      this.mode = 'chunked';
      this.chunkState = 'size';
    } else if (length !== null) {
      this.mode = 'length';
      this.bodyLeft = length;
    } else {
      this.mode = 'close';
      this.keepAlive = false;
    }
    if (this.mode === 'none' || (this.mode === 'length' && this.bodyLeft === 0)) {
      this.complete();
      return this.socket.destroyed ? -1 : next;
    }
    return next;
  }

  /** Skips body bytes; returns where the next answer starts, or -1 when the connection ended. */
  private readBody(chunk: Buffer, from: number): number {
    let at = from;
    if (this.mode === 'length' || this.mode === 'close') {
      const taken = this.mode === 'length' ? Math.min(this.bodyLeft, chunk.length - at) : chunk.length - at;
      if (!this.counted(taken)) return -1;
      at += taken;
      if (this.mode === 'length') {
        this.bodyLeft -= taken;
        if (this.bodyLeft === 0) {
          this.complete();
          if (this.socket.destroyed) return -1;
        }
      }
      return at;
    }
    // chunked
    while (at < chunk.length) {
      if (this.chunkState === 'data') {
        const taken = Math.min(this.bodyLeft, chunk.length - at);
        if (!this.counted(taken)) return -1;
        at += taken;
        this.bodyLeft -= taken;
        if (this.bodyLeft === 0) this.chunkState = 'data-end';
        continue;
      }
      const lineEnd = chunk.indexOf(CRLF, at);
      const part = lineEnd < 0 ? chunk.subarray(at) : chunk.subarray(at, lineEnd);
      const line = this.line ? Buffer.concat([this.line, part]) : part;
      if (lineEnd < 0) {
        if (line.length > MAX_HEAD_BYTES) return this.malformed('a chunk line longer than 16 KiB');
        this.line = Buffer.from(line);
        return chunk.length;
      }
      this.line = null;
      at = lineEnd + CRLF.length;
      if (this.chunkState === 'data-end') {
        if (line.length !== 0) return this.malformed('a malformed chunk');
        this.chunkState = 'size';
      } else if (this.chunkState === 'size') {
        const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(line.toString('latin1'));
        if (!size) return this.malformed('a malformed chunk size');
        this.bodyLeft = parseInt(size[1] as string, 16);
        this.chunkState = this.bodyLeft === 0 ? 'trailer' : 'data';
      } else if (line.length === 0) {
        // The empty line after the trailer fields: the answer is complete.
        this.complete();
        return this.socket.destroyed ? -1 : at;
      }
    }
    return at;
  }

  /** Counts body bytes read; past MAX_RESPONSE_BYTES the answer counts with its status and the connection is dropped. */
  private counted(bytes: number): boolean {
    this.bodyRead += bytes;
    if (this.bodyRead <= MAX_RESPONSE_BYTES) return true;
    this.keepAlive = false;
    this.complete();
    return false;
  }

  private complete(): void {
    const exchange = this.inFlight.shift() as Exchange;
    const status = this.status;
    this.status = 0;
    this.answering = false;
    this.answers++;
    exchange.resolve(answered(status));
    if (!this.keepAlive) {
      if (this.inFlight.length > 0) this.pool.receiverCloses();
      this.fail(new Error('the receiver closed the connection'), true);
      return;
    }
    if (this.inFlight.length > 0) this.timer.refresh();
    this.pool.assign();
  }

  private malformed(what: string): -1 {
    this.fail(new Error(`the receiver sent ${what}`), false);
    return -1;
  }
}
