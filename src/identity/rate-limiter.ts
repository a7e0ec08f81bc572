import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/config';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MAX_TRACKED_KEYS = 100_000;

/**
 * A token bucket per API key, in memory: `rateLimitPerSecond` requests per second on average,
 * bursts up to `rateLimitBurst`. Off when the rate is 0, and for the key ids listed in
 * RATE_LIMIT_EXEMPT_KEYS. Each instance limits on its own, so with N instances a key may reach
 * N times the rate; see docs/operations.md. A refusal says when to retry (`retryAfterMs`, and a
 * `Retry-After` header on HTTP).
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  take(apiKeyId: string, nowMs = Date.now()): void {
    const rate = this.config.rateLimitPerSecond;
    if (rate === 0 || this.config.rateLimitExemptKeyIds.has(apiKeyId)) return;
    const burst = this.config.rateLimitBurst;
    let bucket = this.buckets.get(apiKeyId);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED_KEYS) this.buckets.clear();
      bucket = { tokens: burst, updatedMs: nowMs };
      this.buckets.set(apiKeyId, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.updatedMs) * rate) / 1000);
    bucket.updatedMs = nowMs;
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 1000) / rate);
      throw new DomainError(ErrorCode.RATE_LIMITED, `Too many requests for this API key; retry in ${retryAfterMs} ms`, undefined, {
        retryAfterMs,
      });
    }
    bucket.tokens -= 1;
  }
}
