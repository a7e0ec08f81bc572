/**
 * CSV as RFC 4180 describes it (CRLF line ends, fields quoted when they hold a quote, comma or
 * line break, quotes doubled; also a semicolon, which spreadsheets in some locales take for the
 * separator), made safe to open in a spreadsheet: a text cell starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula, so it gets a leading
 * apostrophe. Amounts and other numbers are written as they are, so that they stay numbers.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",;\r\n]/;

export type CsvCell = { readonly text: string } | { readonly number: string } | null;

export const text = (value: string | null): CsvCell => (value === null ? null : { text: value });
export const number = (value: string): CsvCell => ({ number: value });

function field(cell: CsvCell): string {
  if (cell === null) return '';
  const raw = 'number' in cell ? cell.number : FORMULA_START.test(cell.text) ? `'${cell.text}` : cell.text;
  return NEEDS_QUOTES.test(raw) ? `"${raw.replaceAll('"', '""')}"` : raw;
}

export function csvRow(cells: readonly CsvCell[]): string {
  return cells.map(field).join(',') + '\r\n';
}
