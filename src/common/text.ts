import { validationFailed } from './domain-error';

/**
 * Text the database and the hash chain can keep exactly. A lone UTF-16 surrogate (half of an
 * emoji, say) has no UTF-8 form: PostgreSQL would store U+FFFD instead, so two different
 * idempotency keys could collapse into one, and a memo's hash (computed over the JSON escape
 * `\ud800`) would no longer match what is stored. Such text is refused at the door.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Trims and bounds a human-entered text field; empty after trimming is refused when required. */
export function cleanText(value: string | null | undefined, field: string, max: number, required: boolean): string | null {
  if (value === null || value === undefined) {
    if (required) throw validationFailed(field, 'is required');
    return null;
  }
  const trimmed = value.trim();
  if (trimmed.length === 0) {
    if (required) throw validationFailed(field, 'must not be empty');
    return null;
  }
  if (trimmed.length > max) throw validationFailed(field, `must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(trimmed)) throw validationFailed(field, 'must not contain control characters');
  if (!isWellFormedText(trimmed)) throw validationFailed(field, 'must be valid Unicode text');
  return trimmed;
}
