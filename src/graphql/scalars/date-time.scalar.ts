import { GraphQLScalarType, Kind } from 'graphql';
import { validationFailed } from '../../common/domain-error';

/** ISO-8601 with a time zone, e.g. "2026-11-23T18:00:00Z" or "2026-11-23T19:00:00+01:00". */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parse(value: unknown): Date {
  if (typeof value !== 'string' || value.length > 40 || !ISO_WITH_ZONE.test(value)) {
    throw validationFailed('DateTime', 'expected an ISO-8601 date-time with a time zone, such as "2026-11-23T18:00:00Z"');
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw validationFailed('DateTime', `"${value}" is not a real date-time`);
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time with a time zone, such as "2026-11-23T18:00:00.000Z".',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw new Error('DateTime values must be dates');
    return date.toISOString();
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw validationFailed('DateTime', 'expected a string');
    return parse(ast.value);
  },
});
