import { readFileSync } from 'node:fs';
import type { RunningService } from '../scripts/lib/service-process';

export interface SoakResult {
  readonly seconds: number;
  readonly rssMbStart: number;
  readonly rssMbEnd: number;
  readonly slopeMbPerMinute: number;
  readonly samples: number;
}

const CHUNK_SECONDS = 60;
const SAMPLE_MS = 5000;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Least-squares slope of RSS over time, in MB per minute. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : Math.round((num / den) * 60_000 * 100) / 100;
}

/** Keeps the service under full load for `seconds` while sampling its resident memory. */
export async function soak(
  service: RunningService,
  load: (seconds: number) => Promise<unknown>,
  seconds: number,
  progress: (m: string) => void,
): Promise<SoakResult> {
  const pid = service.process.pid;
  if (pid === undefined) throw new Error('the service has no pid');
  const started = Date.now();
  const points: [number, number][] = [[0, rssMb(pid)]];
  const sampler = setInterval(() => points.push([Date.now() - started, rssMb(pid)]), SAMPLE_MS);
  try {
    for (let left = seconds; left > 0; left -= CHUNK_SECONDS) {
      await load(Math.min(CHUNK_SECONDS, left));
      const last = points.at(-1);
      progress(`soak: ${Math.round((Date.now() - started) / 1000)}s done, RSS ${last?.[1] ?? '?'} MB`);
    }
  } finally {
    clearInterval(sampler);
  }
  points.push([Date.now() - started, rssMb(pid)]);
  // The first minute is warm-up (JIT, caches, pools); the trend is read after it.
  const steady = points.filter(([t]) => t >= 60_000);
  return {
    seconds,
    rssMbStart: (steady[0] ?? points[0])?.[1] ?? 0,
    rssMbEnd: points.at(-1)?.[1] ?? 0,
    slopeMbPerMinute: slope(steady.length >= 2 ? steady : points),
    samples: points.length,
  };
}
