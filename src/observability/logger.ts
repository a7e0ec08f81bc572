import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { prettyDestination } from './pretty-log';

export type { Logger } from 'pino';

/** Longest error message kept in a log line: database errors can quote the values they refused. */
const MAX_ERROR_MESSAGE = 300;

/**
 * The fields of an error worth logging. node-postgres errors carry `detail`, `where` and the
 * parameters' text, which may hold personal data; only the message, the SQLSTATE and the stack
 * are kept.
 */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error).slice(0, MAX_ERROR_MESSAGE) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.constructor.name,
    message: error.message.slice(0, MAX_ERROR_MESSAGE),
    ...(typeof code === 'string' ? { code } : {}),
    stack: error.stack,
  };
}

/** `json` for machines (production, tests, anything reading stdout); `pretty` for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Structured JSON lines on stdout: one object per line with `level`, `time`, `msg`; lines about
 * a request carry its `reqId` and `apiKeyId`. Keys that could carry secrets or personal data are
 * redacted wherever they appear, as a second line of defence: nothing should log them at all.
 * The `pretty` format renders the same lines as readable text (`pretty-log.ts`).
 */
export function createLogger(
  level: string,
  output: LogFormat | pino.DestinationStream = 'json',
  options: { async?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: 'solidarity-ledger', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'secret',
          '*.secret',
          'password',
          '*.password',
          'memo',
          '*.memo',
          'name',
          '*.name',
          'handle',
          '*.handle',
        ],
        censor: '[redacted]',
      },
    },
    output === 'pretty' ? prettyDestination() : output === 'json' ? jsonDestination(options.async === true) : output,
  );
}

/**
 * Stdout, written synchronously by default (a line is out before the next statement runs, which
 * tests and crashes rely on). In production the writes are asynchronous: lines logged while a
 * write is in flight go out together in the next one, off the request's path; pino flushes what
 * is left synchronously when the process exits (a crash's last line included).
 */
function jsonDestination(async: boolean): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: !async });
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Nest's start-up bookkeeping (a line per module and per route, ~25 in all) is logged at debug,
 * not info: at start-up a person should see the database, the migrations and the banner.
 * LOG_LEVEL=debug shows them again.
 */
const NEST_BOOT_CONTEXTS: ReadonlySet<string> = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'GraphQLModule',
  'NestApplication',
]);

/** Nest's logger interface over pino, so Nest's own messages and every `new Logger(...)` are JSON too. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly pinoLogger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest passes `(message, ...rest, context)`; for errors `rest` may start with a stack. */
  private write(asked: Level, message: unknown, params: readonly unknown[]): void {
    const rest = params.filter((p) => p !== undefined);
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const level = asked === 'info' && context !== undefined && NEST_BOOT_CONTEXTS.has(context) ? 'debug' : asked;
    if (!this.pinoLogger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (message instanceof Error) {
      this.pinoLogger[level]({ ...fields, err: message }, message.message.slice(0, MAX_ERROR_MESSAGE));
      return;
    }
    const stack = rest.find((p): p is string => typeof p === 'string' && p.includes('\n    at '));
    if (stack) fields.stack = stack;
    this.pinoLogger[level](fields, typeof message === 'string' ? message : JSON.stringify(message));
  }
}
