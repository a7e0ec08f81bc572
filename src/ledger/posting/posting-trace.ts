import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * POSTING_TRACE=1: where a posting group's time goes, for performance work. Each group's phases
 * (waiting for a pooled connection and BEGIN, the load, the in-memory apply, the write, COMMIT)
 * are summed, with group sizes and the event loop's delay, and printed to stderr at shutdown.
 * With POSTING_TRACE_INTERVAL_MS as well, the sums are also printed and started again every that
 * many milliseconds, each line with its time: the windows of a run that compares settings (a
 * bench round with a webhook and one without) can then be told apart. Off by default: then
 * nothing is measured.
 */
export class PostingTrace {
  private groups = 0;
  private commands = 0;
  private readonly totals = { queued: 0, begin: 0, load: 0, apply: 0, write: 0, commit: 0, held: 0 };
  private heldMs: number[] = [];
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  private readonly timer: NodeJS.Timeout | undefined;
  /** When the sums started (performance.now()): construction, or the last window's end. */
  private since = performance.now();

  constructor(intervalMs?: number) {
    this.loop.enable();
    if (intervalMs === undefined) return;
    this.timer = setInterval(() => {
      process.stderr.write(this.summary(new Date()));
      this.reset();
    }, intervalMs);
    this.timer.unref();
  }

  static fromEnv(): PostingTrace | undefined {
    if (process.env.POSTING_TRACE !== '1') return undefined;
    const interval = process.env.POSTING_TRACE_INTERVAL_MS;
    if (interval === undefined || interval === '') return new PostingTrace();
    const ms = Number(interval);
    if (!Number.isInteger(ms) || ms < 100)
      throw new Error(`POSTING_TRACE_INTERVAL_MS must be a whole number of milliseconds, at least 100 (got "${interval}")`);
    return new PostingTrace(ms);
  }

  /** Stops the interval's printing (shutdown prints the last window). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private reset(): void {
    this.groups = 0;
    this.commands = 0;
    for (const phase of Object.keys(this.totals) as (keyof typeof this.totals)[]) this.totals[phase] = 0;
    this.heldMs = [];
    this.loop.reset();
    this.since = performance.now();
  }

  /** One group: times in ms from performance.now(). */
  record(
    size: number,
    t: { taken: number; queued: number; begun: number; loadSent: number; loaded: number; writeSent: number; written: number; done: number },
  ): void {
    this.groups++;
    this.commands += size;
    this.totals.queued += t.taken - t.queued;
    this.totals.begin += t.loadSent - t.taken;
    this.totals.load += t.loaded - t.loadSent;
    this.totals.apply += t.writeSent - t.loaded;
    this.totals.write += t.written - t.writeSent;
    this.totals.commit += t.done - t.written;
    this.totals.held += t.done - t.loadSent;
    this.heldMs.push(t.done - t.loadSent);
  }

  /** The sums as one line; with `at`, the time the window ended (UTC) after its first words. */
  summary(at?: Date): string {
    const per = (ms: number) => (this.groups ? (ms / this.groups).toFixed(2) : '0');
    const sorted = [...this.heldMs].sort((a, b) => a - b);
    const q = (p: number) => (sorted[Math.floor((sorted.length - 1) * p)] ?? 0).toFixed(2);
    const t = this.totals;
    return (
      `posting trace${at ? ` at ${at.toISOString().slice(11, 23)}` : ''}: ${this.groups} groups, ${(this.commands / Math.max(1, this.groups)).toFixed(1)} commands per group; ms per group: ` +
      `first command queued ${per(t.queued)}, connect+BEGIN ${per(t.begin)}, load ${per(t.load)}, apply ${per(t.apply)}, ` +
      `write ${per(t.write)}, COMMIT ${per(t.commit)}; load sent to commit done ${per(t.held)} (p50 ${q(0.5)}, p99 ${q(0.99)}), ` +
      // Near 1,000 with one network: some group is always between its load and its commit (a wait for the head counts),
      // and transfers per second follow a group's size over that time.
      `${((t.held / Math.max(1, performance.now() - this.since)) * 1000).toFixed(0)} ms of it per second; ` +
      `event loop delay p50 ${(this.loop.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(this.loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(this.loop.max / 1e6).toFixed(2)} ms\n`
    );
  }
}
