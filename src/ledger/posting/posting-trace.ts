import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * POSTING_TRACE=1: where a posting group's time goes, for performance work. Each group's phases
 * (waiting for a pooled connection and BEGIN, the load, the in-memory apply, the write, COMMIT)
 * are summed, with group sizes and the event loop's delay, and printed to stderr at shutdown.
 * Off by default: then nothing is measured.
 */
export class PostingTrace {
  private groups = 0;
  private commands = 0;
  private readonly totals = { queued: 0, begin: 0, load: 0, apply: 0, write: 0, commit: 0, held: 0 };
  private readonly heldMs: number[] = [];
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });

  constructor() {
    this.loop.enable();
  }

  static fromEnv(): PostingTrace | undefined {
    return process.env.POSTING_TRACE === '1' ? new PostingTrace() : undefined;
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

  summary(): string {
    const per = (ms: number) => (this.groups ? (ms / this.groups).toFixed(2) : '0');
    const sorted = [...this.heldMs].sort((a, b) => a - b);
    const q = (p: number) => (sorted[Math.floor((sorted.length - 1) * p)] ?? 0).toFixed(2);
    const t = this.totals;
    return (
      `posting trace: ${this.groups} groups, ${(this.commands / Math.max(1, this.groups)).toFixed(1)} commands per group; ms per group: ` +
      `first command queued ${per(t.queued)}, connect+BEGIN ${per(t.begin)}, load ${per(t.load)}, apply ${per(t.apply)}, ` +
      `write ${per(t.write)}, COMMIT ${per(t.commit)}; load sent to commit done ${per(t.held)} (p50 ${q(0.5)}, p99 ${q(0.99)}); ` +
      `event loop delay p50 ${(this.loop.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(this.loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(this.loop.max / 1e6).toFixed(2)} ms\n`
    );
  }
}
