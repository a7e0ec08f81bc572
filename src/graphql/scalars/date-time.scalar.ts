import { GraphQLScalarType, Kind } from 'graphql';
import { validationFailed } from '../../common/domain-error';
import { isoMicros, parseInstant, PreciseDate } from '../../common/instant';

/** ISO-8601 with a time zone, e.g. "2026-11-23T18:00:00Z" or "2026-11-23T19:00:00+01:00". */
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * JavaScript quietly rolls "2026-02-30" over to March 2nd and accepts hour 24; a ledger date must
 * be exactly what was written, so every part is checked against its calendar range. Years run
 * from 0001 to 9999, all of which PostgreSQL stores.
 */
function inRange(parts: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second, zoneHours, zoneMinutes] = parts.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  if (year === undefined || month === undefined || day === undefined) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 59 &&
    (zoneHours ?? 0) <= 14 &&
    (zoneMinutes ?? 0) <= 59
  );
}

function parse(value: unknown): Date {
  const parts = typeof value === 'string' && value.length <= 40 ? ISO_WITH_ZONE.exec(value) : null;
  if (!parts) {
    throw validationFailed('DateTime', 'expected an ISO-8601 date-time with a time zone, such as "2026-11-23T18:00:00Z"');
  }
  const date = parseInstant(value as string);
  if (Number.isNaN(date.getTime()) || !inRange(parts)) throw validationFailed('DateTime', `"${value as string}" is not a real date-time`);
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description:
    'An ISO-8601 date-time with a time zone, such as "2026-11-23T18:00:00.000Z". Instants read from the ledger carry ' +
    'microseconds ("2026-11-23T18:00:00.000123Z"), which are kept when passed back (a posting time, a trial balance asOf).',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw new Error('DateTime values must be dates');
    return date instanceof PreciseDate ? isoMicros(date) : date.toISOString();
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw validationFailed('DateTime', 'expected a string');
    return parse(ast.value);
  },
});
