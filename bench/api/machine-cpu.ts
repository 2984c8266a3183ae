// Where a saturation phase's CPU went on the whole machine (Linux /proc): the server under test,
// Postgres (every backend), Redis, the load generator (this process), everything else, and what
// stayed idle. On two shared cores the ratio of saturated throughputs follows the ratio of the
// machine's total CPU per request, not only the server's: this shows which process pays for it.
import { readdir, readFile } from 'node:fs/promises';

/** CPU ticks (user + system; 10 ms each) of every process, by pid, with its command name. */
/**
 * `stealTicks`: time the hypervisor gave this VM's virtual CPUs to someone else while they had
 * work (all cores). A run with much of it measured a machine that was not all there.
 */
export type CpuSnapshot = { procs: Map<number, { comm: string; ticks: number }>; idleTicks: number; stealTicks: number; totalTicks: number };

export type CpuShare = {
  server: number; postgres: number; redis: number; generator: number; other: number; idle: number;
  /** Stolen by the hypervisor (µs per request, all cores), and as a share of the phase's machine time. */
  steal: number; stealShare: number;
  /** The biggest parts of `other` by command name, µs per request. */
  topOther: Record<string, number>;
};

async function procTicks(pid: number): Promise<{ comm: string; ticks: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    return { comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined; // exited between readdir and read
  }
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const procs = new Map<number, { comm: string; ticks: number }>();
  await Promise.all(pids.map(async (pid) => {
    const t = await procTicks(pid);
    if (t) procs.set(pid, t);
  }));
  // First line of /proc/stat: user nice system idle iowait irq softirq steal … (all cores)
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { procs, idleTicks: cpu[3]! + cpu[4]!, stealTicks: cpu[7] ?? 0, totalTicks: cpu.slice(0, 8).reduce((s, t) => s + (t || 0), 0) };
}

/**
 * µs of CPU per request by group between two snapshots. A process that started in between counts
 * from zero; one that exited is lost (its time cannot be read any more). `idle` is the machine's
 * idle time (all cores) per request; softirq time of loopback traffic is in no process.
 */
export function cpuPerRequest(a: CpuSnapshot, b: CpuSnapshot, serverPid: number | undefined, requests: number): CpuShare {
  const share = { server: 0, postgres: 0, redis: 0, generator: 0, other: 0, idle: 0 };
  const others = new Map<string, number>();
  for (const [pid, p] of b.procs) {
    const ticks = p.ticks - (a.procs.get(pid)?.comm === p.comm ? a.procs.get(pid)!.ticks : 0);
    if (ticks <= 0) continue;
    const group: keyof typeof share = pid === serverPid ? 'server'
      : pid === process.pid ? 'generator'
        : p.comm === 'postgres' ? 'postgres'
          : p.comm.startsWith('redis-server') ? 'redis'
            : 'other';
    share[group] += ticks;
    if (group === 'other') others.set(p.comm, (others.get(p.comm) ?? 0) + ticks);
  }
  share.idle = b.idleTicks - a.idleTicks;
  const us = (ticks: number): number => Math.round((ticks * 10_000) / Math.max(1, requests));
  const topOther = Object.fromEntries([...others].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([comm, ticks]) => [comm, us(ticks)]));
  const steal = b.stealTicks - a.stealTicks;
  const stealShare = Number((steal / Math.max(1, b.totalTicks - a.totalTicks)).toFixed(3));
  return { server: us(share.server), postgres: us(share.postgres), redis: us(share.redis), generator: us(share.generator), other: us(share.other), idle: us(share.idle), steal: us(steal), stealShare, topOther };
}

/**
 * Read and write system calls a process has made so far (/proc/<pid>/io), its context switches,
 * and its main thread's scheduler times (/proc/<pid>/task/<pid>/schedstat: ns on a CPU, ns
 * runnable but waiting for one) with the wall clock they were read at.
 */
export type ProcCounters = { syscr: number; syscw: number; switches: number; mainRunNs: number; mainWaitNs: number; atNs: number };

export async function procCounters(pid: number | undefined): Promise<ProcCounters | undefined> {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const [run, wait] = (await readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')).trim().split(' ').map(Number);
    const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    return {
      syscr: field(io, 'syscr'), syscw: field(io, 'syscw'), switches: field(status, 'voluntary_ctxt_switches') + field(status, 'nonvoluntary_ctxt_switches'),
      mainRunNs: run!, mainWaitNs: wait!, atNs: Number(process.hrtime.bigint()),
    };
  } catch {
    return undefined;
  }
}

/**
 * System calls and switches per request between two readings (two decimals), and the shares of
 * the interval the server's main thread spent running and waiting for a CPU. Running + waiting
 * near 1 means the event loop always had work: the server's single thread is what limits its
 * throughput, and it got only `mainRun` of a CPU (the rest went to Postgres, Redis, the load
 * generator…), so its CPU per request decides its req/s.
 */
export type CallsPerRequest = { syscr: number; syscw: number; switches: number; mainRun: number; mainWait: number };

export function countersPerRequest(a: ProcCounters | undefined, b: ProcCounters | undefined, requests: number): CallsPerRequest | undefined {
  if (!a || !b) return undefined;
  const per = (x: number, y: number): number => Number(((y - x) / Math.max(1, requests)).toFixed(2));
  const wall = Math.max(1, b.atNs - a.atNs);
  const share = (x: number, y: number): number => Number(((y - x) / wall).toFixed(2));
  return {
    syscr: per(a.syscr, b.syscr), syscw: per(a.syscw, b.syscw), switches: per(a.switches, b.switches),
    mainRun: share(a.mainRunNs, b.mainRunNs), mainWait: share(a.mainWaitNs, b.mainWaitNs),
  };
}
