/**
 * A strict RFC 4180 reader for the files of `npm run import`: UTF-8 only (a byte-order mark is
 * dropped; UTF-16 or any invalid byte sequence is refused with the line it is on), fields quoted
 * with `"` (commas, line breaks and doubled quotes inside), CRLF or LF line ends, empty lines
 * skipped. Every record keeps the line it starts on, so a problem is named `file:line`.
 */
export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

export class CsvProblem extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    why: string,
  ) {
    super(`${file}:${line}: ${why}`);
  }
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Decodes the bytes as UTF-8, refusing anything else with where it goes wrong. */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new CsvProblem(file, 1, 'the file is UTF-16; save it as UTF-8 (in a spreadsheet: "CSV UTF-8")');
  }
  const start = UTF8_BOM.every((b, i) => bytes[i] === b) ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    throw new CsvProblem(file, lineOfBadByte(bytes, start), 'the file is not UTF-8 (Latin-1 or Windows-1252?); save it as UTF-8');
  }
}

/** The line of the first byte sequence that is not UTF-8. */
function lineOfBadByte(bytes: Uint8Array, start: number): number {
  let line = 1;
  let lineStart = start;
  for (let i = start; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(lineStart, i));
      } catch {
        return line;
      }
      line++;
      lineStart = i + 1;
    }
  }
  return line;
}

/** Parses CSV text into records; a NUL byte, a stray quote or an unclosed quote is refused. */
export function parseCsv(file: string, text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let wasQuoted = false;
  let wasQuotedRecord = false;
  const endField = () => {
    fields.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    // An empty line (one empty, unquoted field) is skipped.
    if (!(fields.length === 1 && fields[0] === '' && !wasQuotedRecord)) records.push({ line: recordLine, fields });
    fields = [];
    wasQuotedRecord = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\u0000') throw new CsvProblem(file, line, 'a NUL character: is this a text file?');
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '' || wasQuoted)
        throw new CsvProblem(file, line, 'a quote inside an unquoted field (quote the whole field and double the quote: "say ""hi""")');
      quoted = true;
      wasQuoted = true;
      wasQuotedRecord = true;
    } else if (c === ',') {
      endField();
    } else if (c === '\r' && text[i + 1] === '\n') {
      continue;
    } else if (c === '\n') {
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (wasQuoted) throw new CsvProblem(file, line, 'text after a closing quote');
      field += c;
    }
  }
  if (quoted) throw new CsvProblem(file, recordLine, 'a quoted field is never closed');
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

/** Records as objects keyed by the header, which must name exactly `columns` (in any order). */
export function withHeader(
  file: string,
  records: readonly CsvRecord[],
  columns: readonly string[],
): { line: number; row: Record<string, string> }[] {
  const [header, ...rows] = records;
  if (!header) throw new CsvProblem(file, 1, `the file is empty; it needs the header ${columns.join(',')}`);
  const names = header.fields.map((f) => f.trim());
  const missing = columns.filter((c) => !names.includes(c));
  const unknown = names.filter((n) => !columns.includes(n));
  if (missing.length || unknown.length || new Set(names).size !== names.length) {
    throw new CsvProblem(file, header.line, `the header must be ${columns.join(',')} (got ${names.join(',')})`);
  }
  return rows.map((record) => {
    if (record.fields.length !== names.length) {
      throw new CsvProblem(file, record.line, `${record.fields.length} fields where the header has ${names.length}`);
    }
    return { line: record.line, row: Object.fromEntries(names.map((n, i) => [n, record.fields[i] as string])) };
  });
}
