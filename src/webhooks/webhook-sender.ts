import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, type ParsedTarget, parseTarget, publicAddresses } from './ssrf';

export interface SendOutcome {
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Of a receiver's answer only the status counts; its body is read (so the connection is reused) up to this much. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Webhook URLs whose parsed form is kept (parsing one again for every delivery costs more than the request's own work). */
const MAX_PARSED_TARGETS = 1000;

/**
 * POSTs one delivery. A 2xx is delivered; redirects are not followed (a 3xx is a failed attempt).
 * The timeout bounds each phase: connecting, the answer's status and headers after the request
 * was sent, and each wait for more of its body (undici's own timers: an AbortSignal per request
 * cost as much CPU as the rest of the request). Connections are kept alive per receiver, through
 * undici's client, which spends less CPU per request than node:http (every delivery is one
 * request, most of what a webhook costs the service). With private receivers refused, every new
 * connection resolves the host through `guardedLookup`, and an address literal is checked before
 * connecting.
 */
export class WebhookSender {
  private readonly agent: Agent;
  private readonly targets = new Map<string, ParsedTarget>();

  constructor(
    timeoutMs: number,
    private readonly allowPrivate: boolean,
    connections: number,
  ) {
    // The guard has the shape of dns.lookup's callback form, which is what net.connect calls.
    const lookup = allowPrivate ? undefined : guardedLookup();
    this.agent = new Agent({
      connections,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs, ...(lookup ? { lookup } : {}) },
    });
  }

  async send(target: string, body: string, headers: Record<string, string>): Promise<SendOutcome> {
    try {
      const { url, host } = this.parsed(target);
      if (!this.allowPrivate) await publicAddresses(host);
      const statusCode = await this.post(url, body, headers);
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

  /**
   * One POST through undici's dispatch with a handler that keeps only the status: no response
   * stream, no parsed headers, no async resource per request (what `agent.request` builds for
   * every call, most of the CPU a delivery cost the service). The body is read and dropped, so the
   * connection is reused; past MAX_RESPONSE_BYTES the connection is closed instead.
   */
  private post(url: URL, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      this.agent.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        },
        new StatusOnly(resolve, reject),
      );
    });
  }

  close(): void {
    void this.agent.destroy().catch(() => undefined);
  }
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
