import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Client } from 'pg';

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
  } catch {
    return undefined;
  }
}

/** Clock ticks (100 Hz on Linux) to milliseconds. */
const TICK_MS = 10;

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = statFields(pid) ?? [];
  // utime and stime are the 12th and 13th fields after the command name, in clock ticks.
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * TICK_MS;
}

/** User and system CPU time of a process so far, in milliseconds (system time: the kernel's work for it, sockets included). */
export function cpuSplitMs(pid: number | undefined): { user: number; system: number } {
  const fields = pid === undefined ? [] : (statFields(pid) ?? []);
  return { user: Number(fields[11] ?? 0) * TICK_MS, system: Number(fields[12] ?? 0) * TICK_MS };
}

/**
 * CPU time of a PostgreSQL server so far: the postmaster, its live children (backends, WAL
 * writer, checkpointer...) and the children that have exited (the postmaster's cutime/cstime).
 * Only for a server on this machine: elsewhere it reads 0.
 */
export function postgresCpuMs(postmasterPid: number | undefined): number {
  if (postmasterPid === undefined) return 0;
  const own = statFields(postmasterPid);
  if (!own) return 0;
  let total = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) * TICK_MS;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // The parent's pid is the 2nd field after the command name.
    if (fields && Number(fields[1]) === postmasterPid) total += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  }
  return total;
}

/** The postmaster's pid: the parent of this session's backend (when the server runs on this machine). */
export async function postmasterPid(client: Client): Promise<number | undefined> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = rows[0]?.pid;
  const parent = backend === undefined ? undefined : Number(statFields(backend)?.[1]);
  return parent !== undefined && Number.isFinite(parent) ? parent : undefined;
}

/** The machine's CPU time so far (every core, from /proc/stat), in clock ticks: all of it, and the idle part (iowait included). */
export function machineTicks(): { total: number; idle: number } {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    const total = fields.slice(0, 8).reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0);
    return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
  } catch {
    return { total: 0, idle: 0 };
  }
}

/** The share of the machine's CPU left idle between two readings of `machineTicks`, in percent (null: not known). */
export function idlePercent(before: { total: number; idle: number }, after: { total: number; idle: number }): number | null {
  const total = after.total - before.total;
  return total > 0 ? Math.round(((after.idle - before.idle) / total) * 100) : null;
}

/** The 1-minute load average: above the core count, other work was competing with the bench. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** CPU time so far of each thread of a process, by thread name and id (V8's GC helpers, libuv's pool...), in milliseconds. */
export function threadCpuMs(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      byName.set(`${name}#${tid}`, (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * TICK_MS);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}
