import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/config';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MAX_TRACKED = 100_000;

/** Token buckets by name: `rate` tokens per second, up to `burst`. */
class Buckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Tokens left for `name` now (a whole bucket for a name never seen). */
  tokens(name: string, nowMs: number): number {
    const bucket = this.buckets.get(name);
    if (!bucket) return this.burst;
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.updatedMs) * this.rate) / 1000);
    bucket.updatedMs = nowMs;
    return bucket.tokens;
  }

  /** Takes one token, or returns how long until one is there. */
  take(name: string, nowMs: number): number | undefined {
    const tokens = this.tokens(name, nowMs);
    if (tokens < 1) return Math.ceil(((1 - tokens) * 1000) / this.rate);
    if (!this.buckets.has(name) && this.buckets.size >= MAX_TRACKED) this.buckets.clear();
    this.buckets.set(name, { tokens: tokens - 1, updatedMs: nowMs });
    return undefined;
  }
}

function limited(message: string, retryAfterMs: number): DomainError {
  return new DomainError(ErrorCode.RATE_LIMITED, `${message}; retry in ${retryAfterMs} ms`, undefined, { retryAfterMs });
}

/**
 * Rate limits, in memory, per instance (with N instances a client may reach N times the rate;
 * see docs/operations.md). On by default; RATE_LIMIT_PER_SECOND=0 turns every limit off.
 * - per API key: `rateLimitPerSecond` requests per second on average, bursts up to
 *   `rateLimitBurst`, except the key ids listed in RATE_LIMIT_EXEMPT_KEYS;
 * - per network, all its keys together (RATE_LIMIT_NETWORK_PER_SECOND, off by default), so one
 *   busy community cannot take every request an instance serves (docs/networks.md);
 * - per client address, for requests without a valid key (missing, unknown or revoked):
 *   `rateLimitAnonymousPerSecond`, bursts up to `rateLimitAnonymousBurst`. While an address
 *   has spent that allowance, keys it sends that are not already known are not even looked up.
 * A refusal says when to retry (`retryAfterMs`, and a `Retry-After` header on HTTP).
 */
@Injectable()
export class RateLimiter {
  private readonly keys: Buckets;
  private readonly addresses: Buckets;
  private readonly networks: Buckets;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.keys = new Buckets(config.rateLimitPerSecond, config.rateLimitBurst);
    this.addresses = new Buckets(config.rateLimitAnonymousPerSecond, config.rateLimitAnonymousBurst);
    this.networks = new Buckets(config.rateLimitNetworkPerSecond, config.rateLimitNetworkBurst);
  }

  take(caller: { readonly apiKeyId: string; readonly networkId: string }, nowMs = Date.now()): void {
    if (this.config.rateLimitExemptKeyIds.has(caller.apiKeyId)) return;
    if (this.config.rateLimitPerSecond > 0) {
      const wait = this.keys.take(caller.apiKeyId, nowMs);
      if (wait !== undefined) throw limited('Too many requests for this API key', wait);
    }
    if (this.config.rateLimitNetworkPerSecond > 0) {
      const wait = this.networks.take(caller.networkId, nowMs);
      if (wait !== undefined) throw limited("Too many requests for this API key's network", wait);
    }
  }

  /** Refuses an address that has spent its allowance of requests without a valid key. */
  checkAnonymous(address: string, nowMs = Date.now()): void {
    if (this.config.rateLimitPerSecond === 0) return;
    const tokens = this.addresses.tokens(address, nowMs);
    if (tokens < 1) {
      throw limited(
        'Too many requests without a valid API key from this address',
        Math.ceil(((1 - tokens) * 1000) / this.config.rateLimitAnonymousPerSecond),
      );
    }
  }

  /** Counts one request without a valid key against its address. */
  takeAnonymous(address: string, nowMs = Date.now()): void {
    if (this.config.rateLimitPerSecond === 0) return;
    const wait = this.addresses.take(address, nowMs);
    if (wait !== undefined) throw limited('Too many requests without a valid API key from this address', wait);
  }
}
