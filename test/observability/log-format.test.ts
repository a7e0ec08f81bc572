import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/config';
import { createLogger, NestPinoLogger } from '../../src/observability/logger';
import { renderLine } from '../../src/observability/pretty-log';

/** Collects what a logger writes. */
function sink(): { stream: Writable & { text(): string } } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { text: () => text },
  );
  return { stream };
}

describe('log format', () => {
  it('renders a JSON line as one readable line: time, level, context, message, then the other fields', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-11-29T23:41:52.357Z',
      service: 'solidarity-ledger',
      pid: 7,
      context: 'Database',
      msg: 'slow query',
      ms: 812,
    });
    expect(renderLine(`${line}\n`)).toBe('23:41:52.357 WARN  [Database] slow query  ms=812\n');
  });

  it("puts an error's stack under its line, indented", () => {
    const line = JSON.stringify({
      level: 'error',
      time: '2026-11-29T23:41:52.357Z',
      msg: 'boom',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x (y.ts:1:1)' },
    });
    expect(renderLine(line)).toBe('23:41:52.357 ERROR boom\n    Error: boom\n        at x (y.ts:1:1)\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(renderLine('not json\n')).toBe('not json\n');
  });

  it('is JSON unless asked otherwise outside a terminal, and refuses an unknown LOG_FORMAT', () => {
    // Jest's stdout is not a terminal, as for a service under a supervisor or a log shipper.
    expect(loadConfig({}).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'production', LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be json or pretty, got "xml"');
  });

  it("logs Nest's start-up bookkeeping at debug, so info shows the service's own lines", () => {
    const { stream } = sink();
    const nest = new NestPinoLogger(createLogger('info', stream));
    nest.log('AppModule dependencies initialized', 'InstanceLoader');
    nest.log('Mapped {/health, GET} route', 'RouterExplorer');
    nest.log('Applied migrations: 0001_ledger_core.sql', 'Ledger');
    const lines = stream
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['info', 'Applied migrations: 0001_ledger_core.sql']]);
  });
});
