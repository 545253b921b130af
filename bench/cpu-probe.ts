/**
 * Preloaded (`node --import`, through NODE_OPTIONS) by bench/cpu-profile.ts into the ferry
 * and ferryd processes it measures: when FERRY_CPU_PROBE names a folder, the process writes
 * its CPU account there (per thread, and the main thread's GC pauses) at exit and on SIGUSR2.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';

/** One thread's CPU seconds (user, system), from /proc/self/task/TID/stat. */
export interface ThreadCpu {
  readonly tid: number;
  readonly user: number;
  readonly system: number;
}

export interface ProbeReport {
  readonly pid: number;
  readonly argv: string[];
  /** Main-thread GC pauses, ms (PerformanceObserver 'gc'), and how many. */
  readonly gcMs: number;
  readonly gcCount: number;
  /** Main-thread GC pauses by kind (minor = scavenge, major = mark-compact, …), ms. */
  readonly gcKinds: Record<string, number>;
  /** process.resourceUsage(): user and system CPU of the whole process, µs. */
  readonly userUs: number;
  readonly systemUs: number;
  readonly threads: ThreadCpu[];
  /** V8 heap in use and external (ArrayBuffer) memory at the report, bytes. */
  readonly heapUsed: number;
  readonly external: number;
  /**
   * Threads that existed when this module loaded: V8's platform workers (concurrent GC
   * marking and sweeping, compilers) and Node's own. Threads started later are libuv's
   * pool (file I/O, async crypto), started on first use, and worker threads.
   */
  readonly startTids: number[];
}

/** USER_HZ (100 on every Linux Node runs on). */
const HZ = 100;

export function readThreads(pid: number | 'self'): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${name}/stat`, 'utf8');
      // After "tid (comm) ": state is field 3; utime and stime are fields 14 and 15.
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: Number(name), user: Number(f[11]) / HZ, system: Number(f[12]) / HZ });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out.sort((a, b) => a.tid - b.tid);
}

const dir = process.env.FERRY_CPU_PROBE;
if (dir) {
  const startTids = readThreads('self').map((t) => t.tid);
  let gcMs = 0;
  let gcCount = 0;
  const gcKinds: Record<string, number> = {};
  const kindNames: Record<number, string> = { 1: 'major', 2: 'minor', 4: 'incremental', 8: 'weakcb' };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      gcCount++;
      const kind = kindNames[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      gcKinds[kind] = (gcKinds[kind] ?? 0) + entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const write = (): void => {
    const usage = process.resourceUsage();
    const report: ProbeReport = {
      pid: process.pid,
      argv: process.argv.slice(1),
      gcMs,
      gcCount,
      gcKinds,
      userUs: usage.userCPUTime,
      systemUs: usage.systemCPUTime,
      threads: readThreads('self'),
      heapUsed: process.memoryUsage().heapUsed,
      external: process.memoryUsage().external,
      startTids,
    };
    // Written whole, then renamed: the reader never sees half a file.
    const file = path.join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  };
  // FERRY_CPU_PROF: a V8 CPU profile of the main thread too, one file per report (from the
  // previous report on), as --cpu-prof would write it (not allowed in NODE_OPTIONS).
  const profDir = process.env.FERRY_CPU_PROF;
  const session = profDir ? new Session() : null;
  let seq = 0;
  const startProfile = (): void => {
    session?.post('Profiler.enable');
    session?.post('Profiler.setSamplingInterval', { interval: 1000 });
    session?.post('Profiler.start');
  };
  const saveProfile = (): void => {
    // An in-process session answers synchronously: safe in an 'exit' handler.
    session?.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(path.join(profDir!, `${process.pid}-${++seq}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  if (session) {
    session.connect();
    startProfile();
  }
  process.on('exit', () => {
    write();
    saveProfile();
  });
  process.on('SIGUSR2', () => {
    saveProfile();
    startProfile();
    write();
  });
}
