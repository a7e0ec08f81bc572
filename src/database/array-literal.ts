/**
 * PostgreSQL's text form of one-dimensional arrays, built by the application rather than by
 * node-postgres, whose array encoding runs two regular-expression replacements per element: the
 * posting group's write sends some thirty array columns, the webhook dispatcher's round ends nine
 * per round of hundreds of deliveries.
 */

const ARRAY_ESCAPE = /[\\"]/;

/**
 * One array literal built element by element, so that several columns fill in one pass over the
 * rows. `plain`: its values are ids, decimal numbers, hex hashes, times or fixed words, which
 * never hold a quote or a backslash, so they are not tested for one. The elements are joined once
 * at the end: a literal grown by `+=` is a rope of some ten thousand pieces that V8 flattens when
 * the text is first read, which took longer than building it.
 */
export class ArrayText {
  private readonly values: (string | null)[] = [];
  private nulls = false;

  constructor(private readonly plain: boolean) {}

  push(value: string | null): void {
    if (value === null) this.nulls = true;
    else if (!this.plain && ARRAY_ESCAPE.test(value)) value = value.replace(/[\\"]/g, '\\$&');
    this.values.push(value);
  }

  text(): string {
    if (this.values.length === 0) return '{}';
    if (!this.nulls) return `{"${this.values.join('","')}"}`;
    return `{${this.values.map((v) => (v === null ? 'NULL' : `"${v}"`)).join(',')}}`;
  }
}

/** The array literal of values that never hold a quote or a backslash (the NOTIFY payloads: ids and separators). */
export function plainArray(values: readonly string[]): string {
  const column = new ArrayText(true);
  for (const value of values) column.push(value);
  return column.text();
}

/**
 * PostgreSQL's text form of a one-dimensional array, `{"a","b",NULL}`, of `pick` applied to each
 * row, built in one pass: every element quoted, and escaped only when it holds a quote or a
 * backslash (ids, amounts, hashes and times never do). The group write sends some thirty such
 * columns; node-postgres's own array encoding runs two regular-expression replacements per
 * element, this one a test.
 */
export function arrayLiteral<T>(rows: readonly T[], pick: (row: T) => string | null): string {
  const column = new ArrayText(false);
  for (const row of rows) column.push(pick(row) ?? null);
  return column.text();
}
