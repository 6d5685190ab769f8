// CPU and memory of processes, read from /proc (Linux): what each part of the system costs.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

export interface ProcSample {
  /** CPU seconds: the process's own plus its reaped children's (e.g. pipeline processes). */
  cpu: number;
  rssMiB: number;
}

/** One process's CPU seconds so far and its resident memory; undefined if it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are f[11..14]; 24 (rss pages) is f[21].
    const cpu = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
    const rssMiB = (Number(f[21]) * 4096) / 1024 / 1024;
    return { cpu, rssMiB };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process and everything under it: its own, its reaped children's, and every live
 * descendant's (the worker's process runner and the containers and git processes it starts).
 */
export function treeCpu(pid: number): number {
  const own = sampleProcess(pid)?.cpu ?? 0;
  let sum = own;
  for (const child of childProcesses(pid).values()) sum += treeCpu(child);
  return sum;
}

/** CPU seconds of the process itself: its threads only, none of its children's. */
export function ownCpu(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return undefined;
  }
}

/** Direct children of `ppid` by command name (etcd, kube-apiserver, temporal), with their pids. */
export function childProcesses(ppid: number): Map<string, number> {
  const out = new Map<string, number>();
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) !== ppid) continue;
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/-v[\d.]*$/, '');
      // Several children of one name (e.g. pipeline processes) each keep an entry.
      out.set(out.has(name) ? `${name}#${++n}` : name, Number(pid));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The machine's CPU time so far by kind, in ticks over all CPUs (the first line of /proc/stat). */
export function machineCpu(): { busy: number; steal: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user already)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/**
 * Of the machine's CPU time between two machineCpu() readings: the share in use, and the share a
 * virtual machine's host took for others (steal). A bench with steal above a few percent ran on a
 * shared, slower machine: its times are not comparable with a run without.
 */
export function machineShares(
  a: ReturnType<typeof machineCpu>,
  b: ReturnType<typeof machineCpu>,
): { busyPercent: number; stealPercent: number } {
  const total = b.total - a.total || 1;
  return {
    busyPercent: round(((b.busy - a.busy) / total) * 100),
    stealPercent: round(((b.steal - a.steal) / total) * 100),
  };
}

/** CPU seconds per named process between two snapshots, as a share of one core. */
export class CpuMeter {
  private before = new Map<string, number>();
  private beforeOwn = new Map<string, number>();
  private t0 = 0;
  private machine = machineCpu();

  /** `whole`: names measured with their descendants (see treeCpu); the others on their own. */
  constructor(
    private readonly pids: () => Map<string, number>,
    private readonly whole: ReadonlySet<string> = new Set(),
  ) {}

  private cpu(name: string, pid: number): number | undefined {
    return this.whole.has(name) ? treeCpu(pid) : sampleProcess(pid)?.cpu;
  }

  start(): void {
    this.t0 = Date.now();
    this.machine = machineCpu();
    const pids = this.pids();
    this.before = new Map([...pids].map(([n, pid]) => [n, this.cpu(n, pid) ?? 0]));
    this.beforeOwn = new Map(
      [...pids].filter(([n]) => this.whole.has(n)).map(([n, pid]) => [n, ownCpu(pid) ?? 0]),
    );
  }

  /** CPU seconds used by each process since start(), the elapsed seconds and the machine's shares. */
  stop(): {
    seconds: number;
    cpuSeconds: Record<string, number>;
    /** Of a `whole` process's CPU seconds, those of the processes it started (not in its own). */
    startedCpuSeconds: Record<string, number>;
    machine: ReturnType<typeof machineShares>;
  } {
    const seconds = (Date.now() - this.t0) / 1000;
    const cpuSeconds: Record<string, number> = {};
    const startedCpuSeconds: Record<string, number> = {};
    for (const [n, pid] of this.pids()) {
      const s = this.cpu(n, pid);
      if (s === undefined) continue;
      cpuSeconds[n] = round(s - (this.before.get(n) ?? 0), 2);
      const own = this.whole.has(n) ? ownCpu(pid) : undefined;
      if (own !== undefined)
        startedCpuSeconds[n] = round(cpuSeconds[n] - (own - (this.beforeOwn.get(n) ?? 0)), 2);
    }
    return {
      seconds: round(seconds, 1),
      cpuSeconds,
      startedCpuSeconds,
      machine: machineShares(this.machine, machineCpu()),
    };
  }
}

export const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The p-th percentile (0-100) of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
