/**
 * Instants at PostgreSQL's precision (microseconds). A JavaScript `Date` holds milliseconds, so
 * a `timestamptz` read from the database becomes a `PreciseDate`: a `Date` that also carries the
 * microseconds below its millisecond. Posting times are ordered and hashed at this precision
 * (SPEC B.2), so they must survive the trip to JSON, to the API and back into SQL unchanged.
 *
 * node-postgres turns every `Date` parameter into millisecond text before looking for
 * `toPostgres`, so a parameter that must keep its microseconds is passed as `isoMicros(date)`.
 */
export class PreciseDate extends Date {
  /** 0 to 999: the microseconds after `getTime()`'s millisecond. */
  readonly microsOfMilli: number;

  constructor(epochMs: number, microsOfMilli: number) {
    super(epochMs);
    if (!Number.isInteger(microsOfMilli) || microsOfMilli < 0 || microsOfMilli > 999) {
      throw new Error(`microseconds of a millisecond must be 0 to 999, got ${microsOfMilli}`);
    }
    this.microsOfMilli = microsOfMilli;
  }

  /** JSON (the posting group's writes, webhook bodies, the API) keeps all six decimals. */
  override toJSON(): string {
    return isoMicros(this);
  }
}

function microsOf(date: Date): number {
  return date instanceof PreciseDate ? date.microsOfMilli : 0;
}

/**
 * An instant read as its canonical text (`isoMicros`'s form, which the report functions write,
 * migration 0031), which it keeps: `isoMicros` returns that text instead of printing the date
 * again. Only while the date still holds that instant (a `Date` can be set to another).
 */
class TextInstant extends PreciseDate {
  constructor(
    epochMs: number,
    microsOfMilli: number,
    readonly text: string,
  ) {
    super(epochMs, microsOfMilli);
    this.textMs = epochMs;
  }

  /** The instant `text` names (the date's own may be set to another later). */
  readonly textMs: number;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, years 0001 to 9999. */
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * The instant of a canonical text (`isoMicros`'s form), keeping the text for `isoMicros`; any
 * other text is refused (callers pass only text the database wrote in that form).
 */
export function instantOfIsoMicros(text: string): PreciseDate {
  const ms = ISO_MICROS.test(text) ? Date.parse(`${text.slice(0, 23)}Z`) : NaN;
  if (Number.isNaN(ms)) throw new Error(`not an instant in the form YYYY-MM-DDTHH:MM:SS.ffffffZ: ${text.slice(0, 40)}`);
  return new TextInstant(ms, Number(text.slice(23, 26)), text);
}

/** The last millisecond `isoMicros` printed, and its text without the `Z`. */
let lastMillisecond = NaN;
let lastMillisecondText = '';

/**
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC with exactly six decimals. The text of the last millisecond
 * is kept: a posting group dates its transactions a microsecond apart, so a thousand of them
 * share a millisecond or two, and each is printed twice (its hash, its row).
 */
export function isoMicros(date: Date): string {
  const ms = date.getTime();
  if (date instanceof TextInstant && ms === date.textMs) return date.text;
  if (ms !== lastMillisecond) {
    lastMillisecondText = date.toISOString().slice(0, -1);
    lastMillisecond = ms;
  }
  const micros = microsOf(date);
  return `${lastMillisecondText}${micros < 10 ? '00' : micros < 100 ? '0' : ''}${micros}Z`;
}

/** Microseconds since 1970-01-01T00:00:00Z. */
export function epochMicros(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n + BigInt(microsOf(date));
}

export function fromEpochMicros(micros: bigint): PreciseDate {
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    rest += 1000n;
    ms -= 1n;
  }
  return new PreciseDate(Number(ms), Number(rest));
}

/** Orders two instants at microsecond precision. */
export function compareInstants(a: Date, b: Date): number {
  const x = epochMicros(a);
  const y = epochMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The microseconds (digits 4 to 6 of the fraction) of a timestamp's text, 0 when it has fewer digits. */
export function microsOfText(text: string): number {
  const fraction = /:\d{2}\.(\d+)/.exec(text)?.[1];
  if (!fraction || fraction.length <= 3) return 0;
  return Number(fraction.slice(3, 6).padEnd(3, '0'));
}

/** A timestamp's text (PostgreSQL's, ISO-8601 or JSON) as a `PreciseDate`. */
export function parseInstant(text: string, parseMs: (text: string) => Date = (t) => new Date(t)): PreciseDate {
  const date = parseMs(text);
  return new PreciseDate(date.getTime(), microsOfText(text));
}
