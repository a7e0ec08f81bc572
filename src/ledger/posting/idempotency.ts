import { validationFailed } from '../../common/domain-error';
import { isWellFormedText } from '../../common/text';
import { canonicalJson, sha256Hex } from './hash-chain';
import type { Idempotency } from './posting.types';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** For the optional keys of captureHold, voidHold, confirmExchange and disputeExchange (SPEC B.2). */
export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Optional: the same key sent again by the same party (any of its API keys) returns the first result instead of a refusal, ' +
  'so a request whose answer was lost can be retried safely.';

/**
 * Builds the idempotency of a mutation: the caller's key and a hash of the operation's name and
 * normalised input (amounts in minor units, so "1.5" and "1.50" are the same request).
 */
export function idempotency(key: string, operation: string, input: unknown, field = 'idempotencyKey'): Idempotency {
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw validationFailed(field, `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(key) || !isWellFormedText(key)) {
    throw validationFailed(field, 'must be printable Unicode text without control characters');
  }
  const requestHash = sha256Hex(canonicalJson([operation, input]));
  return { key, requestHash };
}
