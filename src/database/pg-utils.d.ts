/** node-postgres's conversion of a query parameter to what it sends (arrays to array literals, dates to text); not in @types/pg. */
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): unknown;
}
