import type { DestinationStream } from 'pino';

/** Fields every line has, shown in the line's head rather than repeated in its tail. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'context', 'err', 'stack']);
const LEVEL_COLOURS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '90', trace: '90' };

/**
 * A destination for a person at a terminal in development: each JSON line pino writes becomes
 * `12:04:05.120 INFO  [Context] message key=value ...`, and an error's stack follows on its own
 * lines. Production keeps the JSON lines (config LOG_FORMAT); only the rendering differs, so the
 * fields, the redaction and the levels are the same in both.
 */
export function prettyDestination(out: NodeJS.WriteStream = process.stdout): DestinationStream {
  const colour = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(line: string): void {
      out.write(renderLine(line, colour));
    },
  };
}

/** One JSON log line as readable text; a line that is not JSON passes through unchanged. */
export function renderLine(line: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === 'string' ? entry.level : 'info';
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const label = level.toUpperCase().padEnd(5);
  const head = `${time} ${colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${label}\x1b[0m` : label}`;
  const context = typeof entry.context === 'string' ? ` [${entry.context}]` : '';
  const tail = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const text = `${head}${context} ${msg}${tail.length > 0 ? `  ${tail.join(' ')}` : ''}\n`;
  return text + stackOf(entry);
}

function stackOf(entry: Record<string, unknown>): string {
  const err = entry.err as { stack?: unknown } | undefined;
  const stack = typeof err?.stack === 'string' ? err.stack : typeof entry.stack === 'string' ? entry.stack : '';
  return stack ? `${stack.replace(/^/gm, '    ')}\n` : '';
}
