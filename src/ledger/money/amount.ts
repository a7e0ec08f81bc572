import { isDecimalText, MAX_AMOUNT_TEXT_LENGTH } from '../../common/decimal-text';
import { DomainError, ErrorCode } from '../../common/domain-error';

export { isDecimalText };

/**
 * Amounts cross the API as decimal strings and live everywhere else as integers of minor
 * units (`bigint`), scaled by the currency's `scale`. Nothing here touches a float.
 */

/** Largest magnitude of one posting, in minor units (SPEC invariant 2). */
export const MAX_POSTING_MINOR = 10n ** 15n;
/** Balances and limits are stored as PostgreSQL BIGINT. */
export const MAX_STORED_MINOR = 2n ** 63n - 1n;
export const MIN_STORED_MINOR = -(2n ** 63n);

function invalid(text: string, why: string): DomainError {
  return new DomainError(ErrorCode.INVALID_AMOUNT, `"${text.slice(0, MAX_AMOUNT_TEXT_LENGTH)}" is not a valid amount: ${why}`);
}

/**
 * Parses a decimal string into minor units of a currency with `scale` decimal places, exactly:
 * the digits are moved, not multiplied ("12.5" at scale 2 is the integer text "1250"), and
 * BigInt reads that text. No float and no decimal library on the hot path.
 */
export function toMinor(text: string, scale: number): bigint {
  if (!isDecimalText(text)) throw invalid(text, 'write it as a decimal string such as "12.50"');
  const dot = text.indexOf('.');
  const fraction = dot === -1 ? '' : text.slice(dot + 1);
  if (fraction.length > scale) {
    throw invalid(text, scale === 0 ? 'this currency has no decimal places' : `this currency has at most ${scale} decimal places`);
  }
  const whole = dot === -1 ? text : text.slice(0, dot);
  return BigInt(whole + fraction.padEnd(scale, '0'));
}

/** Writes minor units with exactly `scale` decimal places: 150n, 2 -> "1.50". */
export function fromMinor(minor: bigint, scale: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const text = scale === 0 ? whole : `${whole}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

/** Parses a strictly positive amount, as transfers, holds and deposits require. */
export function toPositiveMinor(text: string, scale: number): bigint {
  const minor = toMinor(text, scale);
  if (minor <= 0n) throw invalid(text, 'the amount must be greater than zero');
  if (minor > MAX_POSTING_MINOR) throw invalid(text, 'the amount is larger than one posting may carry');
  return minor;
}

/**
 * Largest credit limit or maximum balance, in minor units: far beyond any real bound, and far
 * enough below BIGINT's 9.2e18 that a balance checked against it can never overflow the column.
 */
export const MAX_BOUND_MINOR = 10n ** 18n;

/** Parses a balance bound (credit limit, maximum balance): zero or more, at most MAX_BOUND_MINOR. */
export function toBoundMinor(text: string, scale: number, what: string): bigint {
  const minor = toMinor(text, scale);
  if (minor < 0n) throw invalid(text, `${what} is zero or more`);
  if (minor > MAX_BOUND_MINOR) throw invalid(text, `${what} is larger than any balance the ledger can hold`);
  return minor;
}
