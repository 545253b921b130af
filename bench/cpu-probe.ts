/**
 * Preloaded (`node --import`, through NODE_OPTIONS) by bench/cpu-profile.ts into the ferry
 * and ferryd processes it measures: when FERRY_CPU_PROBE names a folder, the process writes
 * its CPU account there (per thread, and the main thread's GC pauses) at exit and on SIGUSR2.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
  /** process.resourceUsage(): user and system CPU of the whole process, µs. */
  readonly userUs: number;
  readonly systemUs: number;
  readonly threads: ThreadCpu[];
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
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      gcCount++;
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
      userUs: usage.userCPUTime,
      systemUs: usage.systemCPUTime,
      threads: readThreads('self'),
      startTids,
    };
    // Written whole, then renamed: the reader never sees half a file.
    const file = path.join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  };
  process.on('exit', write);
  process.on('SIGUSR2', write);
}
