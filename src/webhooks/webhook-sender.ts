import type { Socket } from 'node:net';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import { guardedLookup, type ParsedTarget, parseTarget, publicAddresses } from './ssrf';

export interface SendOutcome {
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Of a receiver's answer only the status counts; its body is read (so the connection is reused) up to this much. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Webhook URLs whose parsed form is kept (parsing one again for every delivery costs more than the request's own work). */
const MAX_PARSED_TARGETS = 1000;
/** Webhooks whose connections are kept; beyond this the idle ones are closed. */
const MAX_POOLS = 1000;

/**
 * POSTs one delivery. A 2xx is delivered; redirects are not followed (a 3xx is a failed attempt).
 * The timeout bounds each phase: connecting, the answer's status and headers after the request
 * was sent, and each wait for more of its body (undici's own timers: an AbortSignal per request
 * cost as much CPU as the rest of the request). With private receivers refused, every new
 * connection resolves the host through `guardedLookup`, and an address literal is checked before
 * connecting.
 *
 * Each webhook has its own connections (an undici pool per webhook, kept alive), so a slow
 * receiver holds only its own webhook's, even when several webhooks share a host. A fast
 * webhook's sends in flight (at most `pipelineDepth`, the dispatcher's bound) are pipelined on one kept-alive
 * connection (HTTP/1.1 requires servers to answer pipelined requests in order; the body's event
 * id makes a delivery safe to send again, so undici may pipeline a POST), and the requests started
 * in one turn of the event loop go out in one write: every delivery is one request, and the
 * system calls and wake-ups of one write and one read per request, on both sides, were most of
 * what a webhook cost the service and its receiver (docs/webhooks.md, "Cost").
 */
export class WebhookSender {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly targets = new Map<string, ParsedTarget>();
  private readonly connect: buildConnector.connector;
  private readonly corked = new Set<Socket>();
  private uncorkScheduled = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly allowPrivate: boolean,
    private readonly perWebhook: number,
    private readonly pipelineDepth: number,
  ) {
    // The guard has the shape of dns.lookup's callback form, which is what net.connect calls.
    const lookup = allowPrivate ? undefined : guardedLookup();
    this.connect = buildConnector({ timeout: timeoutMs, ...(lookup ? { lookup } : {}) });
  }

  /**
   * Sends one delivery of `webhookId` to `target`: `pipelined` on one connection with up to
   * `pipelineDepth` outstanding (a receiver that answers fast), or on a connection of its own among
   * up to `perWebhook` (a slow one, which may answer pipelined requests one after the other).
   */
  async send(webhookId: string, target: string, body: string, headers: string[], pipelined: boolean): Promise<SendOutcome> {
    try {
      const { url, host } = this.parsed(target);
      if (!this.allowPrivate) await publicAddresses(host);
      const statusCode = await this.post(webhookId, url, body, headers, pipelined);
      return { statusCode, error: statusCode >= 200 && statusCode < 300 ? null : `the receiver answered ${statusCode}` };
    } catch (error) {
      return { statusCode: null, error: messageOf(error) };
    }
  }

  private parsed(target: string): ParsedTarget {
    let parsed = this.targets.get(target);
    if (!parsed) {
      parsed = parseTarget(target);
      if (this.targets.size >= MAX_PARSED_TARGETS) this.targets.clear();
      this.targets.set(target, parsed);
    }
    return parsed;
  }

  /** The webhook's connections to its URL's origin (a webhook's URL never changes; the origin is part of the key all the same). */
  private poolOf(webhookId: string, origin: string, pipelined: boolean): PoolEntry {
    const key = `${webhookId} ${origin} ${pipelined ? 'pipelined' : 'parallel'}`;
    let entry = this.pools.get(key);
    if (!entry) {
      if (this.pools.size >= MAX_POOLS) this.closeIdle();
      const sockets = new Set<Socket>();
      const pool = new Pool(origin, {
        connections: pipelined ? 1 : this.perWebhook,
        pipelining: pipelined ? this.pipelineDepth : 1,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connect: (options, callback) =>
          this.connect(options, (...answer) => {
            const socket = answer[1];
            // Kept so that the requests of one turn can be corked together (post).
            if (socket) {
              sockets.add(socket);
              socket.once('close', () => sockets.delete(socket));
            }
            callback(...answer);
          }),
      });
      entry = { key, pool, sockets };
      this.pools.set(key, entry);
    }
    return entry;
  }

  /** Closes the connections of webhooks with nothing in flight (kept beyond MAX_POOLS). */
  private closeIdle(): void {
    for (const [key, { pool }] of this.pools) {
      if (pool.stats.pending + pool.stats.running > 0) continue;
      this.pools.delete(key);
      void pool.close().catch(() => undefined);
    }
  }

  /**
   * One POST through undici's dispatch with a handler that keeps only the status: no response
   * stream, no parsed headers, no async resource per request (what `agent.request` builds for
   * every call, most of the CPU a delivery cost the service). The body is read and dropped, so the
   * connection is reused; past MAX_RESPONSE_BYTES the connection is closed instead. The webhook's
   * sockets stay corked until the end of this turn of the event loop, so the requests started in
   * it leave in one write.
   */
  private post(webhookId: string, url: URL, body: string, headers: string[], pipelined: boolean): Promise<number> {
    const entry = this.poolOf(webhookId, url.origin, pipelined);
    this.cork(entry.sockets);
    const answered = new Promise<number>((resolve, reject) => {
      entry.pool.dispatch(
        { path: `${url.pathname}${url.search}`, method: 'POST', headers, body, idempotent: true, blocking: false },
        new StatusOnly(resolve, pipelined ? (error) => this.dropPipeline(entry, error, reject) : reject),
      );
    });
    // Scheduled after the dispatch: undici writes to a kept-alive idle socket from an immediate of its own (it first looks for
    // bytes the server sent unasked), which must run before this one.
    this.uncorkSoon();
    return answered;
  }

  /**
   * A pipelined send that failed (a timeout, a dropped connection) fails every send outstanding on
   * its connection at once: undici would fail only the first and send the others again one after
   * the other, each waiting out its own timeout, so a receiver gone silent would hold a pipeline of
   * deliveries for its depth times the timeout. They are failed attempts, retried as any other.
   */
  private dropPipeline(entry: PoolEntry, error: Error, reject: (error: Error) => void): void {
    reject(error);
    if (this.pools.get(entry.key) !== entry) return;
    this.pools.delete(entry.key);
    // After undici's own handling of the failure (it is reporting it from inside its close handler, and sets the others up to be sent again).
    setImmediate(() => void entry.pool.destroy(error).catch(() => undefined));
  }

  private cork(sockets: Set<Socket>): void {
    for (const socket of sockets) {
      if (this.corked.has(socket) || socket.destroyed) continue;
      socket.cork();
      this.corked.add(socket);
    }
  }

  private uncorkSoon(): void {
    if (this.uncorkScheduled || this.corked.size === 0) return;
    this.uncorkScheduled = true;
    setImmediate(() => {
      this.uncorkScheduled = false;
      for (const socket of this.corked) socket.uncork();
      this.corked.clear();
    });
  }

  close(): void {
    for (const { pool } of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}

interface PoolEntry {
  readonly key: string;
  readonly pool: Pool;
  readonly sockets: Set<Socket>;
}

function messageOf(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as Error | undefined) : undefined;
  // undici reports a failed connection (a refused address, say) as "fetch failed"-like wrappers: the cause says why.
  const message = (error as Error)?.message || String(error);
  return cause?.message ? `${message}: ${cause.message}` : message;
}

/** undici's handler interface at its lowest level (the one its client calls): the answer's status, its body dropped. */
class StatusOnly implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private bytes = 0;
  private abort: ((error?: Error) => void) | null = null;

  constructor(
    private readonly resolve: (statusCode: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.statusCode = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > MAX_RESPONSE_BYTES) {
      // The status is known: answered with it, and the connection dropped rather than read on.
      this.resolve(this.statusCode);
      this.abort?.(new Error('the answer is too long'));
      return false;
    }
    return true;
  }

  onComplete(): void {
    this.resolve(this.statusCode);
  }

  onError(error: Error): void {
    this.reject(error);
  }
}
