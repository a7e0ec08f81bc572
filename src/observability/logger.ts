import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';

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

/**
 * Structured JSON lines on stdout: one object per line with `level`, `time`, `msg`; lines about
 * a request carry its `reqId` and `apiKeyId`. Keys that could carry secrets or personal data are
 * redacted wherever they appear, as a second line of defence: nothing should log them at all.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

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
  private write(level: Level, message: unknown, params: readonly unknown[]): void {
    if (!this.pinoLogger.isLevelEnabled(level)) return;
    const rest = params.filter((p) => p !== undefined);
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
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
