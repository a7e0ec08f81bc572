import { prepareValue } from 'pg/lib/utils';

/**
 * `text` with each `$n` replaced by parameter n as a quoted literal, typed as node-postgres would
 * send it (unknown, resolved by the statement). Only for the application's own statements, whose
 * text has no other `$`.
 */
export function inlineParameters(text: string, params: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = prepareValue(params[Number(n) - 1]);
    if (value === null || value === undefined) return 'NULL';
    // prepareValue turns everything but bytea into text (arrays into array literals, dates, JSON).
    if (typeof value !== 'string') throw new Error('only text parameters are written into SQL text');
    return sqlLiteral(value);
  });
}

/** A string literal that means `value` whatever `standard_conforming_strings` says. */
function sqlLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL text value cannot contain NUL');
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
