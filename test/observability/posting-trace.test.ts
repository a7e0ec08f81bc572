import { PostingTrace } from '../../src/ledger/posting/posting-trace';

/** Runs `work` with the given environment variables set (undefined: unset), then puts them back. */
function withEnv<T>(vars: Record<string, string | undefined>, work: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return work();
  } finally {
    apply(saved);
  }
}

describe("POSTING_TRACE (the posting groups' timings, for performance work)", () => {
  it('is off unless POSTING_TRACE=1', () => {
    expect(withEnv({ POSTING_TRACE: undefined, POSTING_TRACE_INTERVAL_MS: '1000' }, () => PostingTrace.fromEnv())).toBeUndefined();
    expect(withEnv({ POSTING_TRACE: '0', POSTING_TRACE_INTERVAL_MS: undefined }, () => PostingTrace.fromEnv())).toBeUndefined();
  });

  it('refuses an interval that is not a whole number of milliseconds of at least 100', () => {
    for (const bad of ['50', 'abc', '1.5', '-1000']) {
      expect(() => withEnv({ POSTING_TRACE: '1', POSTING_TRACE_INTERVAL_MS: bad }, () => PostingTrace.fromEnv())).toThrow(
        /POSTING_TRACE_INTERVAL_MS must be a whole number of milliseconds, at least 100/,
      );
    }
  });

  it('prints a window every interval, each with its time, and its groups counted once', async () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const trace = withEnv({ POSTING_TRACE: '1', POSTING_TRACE_INTERVAL_MS: '100' }, () => PostingTrace.fromEnv()) as PostingTrace;
    try {
      const t = { queued: 0, taken: 1, begun: 1, loadSent: 2, loaded: 4, writeSent: 5, written: 8, done: 9 };
      trace.record(10, t);
      trace.record(6, t);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const first = written.filter((line) => line.startsWith('posting trace at '));
      expect(first).toHaveLength(1);
      expect(first[0]).toMatch(/^posting trace at \d\d:\d\d:\d\d\.\d{3}: 2 groups, 8\.0 commands per group; /);
      expect(first[0]).toContain('load 2.00, apply 1.00, write 3.00, COMMIT 1.00; load sent to commit done 7.00');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const windows = written.filter((line) => line.startsWith('posting trace at '));
      expect(windows.length).toBeGreaterThanOrEqual(2);
      expect(windows[1]).toContain(': 0 groups,');
      // Stopped (as shutdown does before its last line), it prints no more windows.
      trace.stop();
      const printed = written.length;
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(written).toHaveLength(printed);
    } finally {
      trace.stop();
      write.mockRestore();
    }
  });
});
