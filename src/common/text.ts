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
