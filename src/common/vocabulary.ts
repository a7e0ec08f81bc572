/**
 * An enum-like object built from a vocabulary's one list of values: `{ OPEN: 'OPEN', ... }`.
 * The list is declared once (with the code that decides on the values, e.g. the posting
 * module's types); GraphQL registers this object as its enum, and code may write
 * `AccountStatus.OPEN`. test/architecture/vocabularies.test.ts checks each list against the
 * database's CHECK constraint for the same column.
 */
export function enumOf<const T extends readonly string[]>(values: T): { readonly [K in T[number]]: K } {
  return Object.freeze(Object.fromEntries(values.map((value) => [value, value]))) as { readonly [K in T[number]]: K };
}
