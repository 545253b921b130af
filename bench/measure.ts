/**
 * Measurement utilities for the benchmark: statistics, child processes timed with a
 * hard limit, and peak memory read from /proc.
 *
 * Everything here is bounded: every child gets a timeout after which it is killed, and
 * every poll loop stops with its process.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';

/** 1 MB = 1e6 bytes: throughput and memory are reported in decimal megabytes. */
export const MB = 1e6;
export const MiB = 1024 * 1024;

// ---- statistics -----------------------------------------------------------------------------

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100): p95 of 20 samples is the 19th smallest. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function now(): number {
  return performance.now();
}

// ---- child processes ------------------------------------------------------------------------

export interface ProcResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit, in ms. */
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident memory seen for the process (VmHWM, polled), in bytes; 0 if never read. */
  readonly peakRss: number;
  /** Set when the progress probe saw no change for stallMs: what it last read. */
  readonly stalledAt?: number;
  /**
   * CPU seconds (user + system) of the process and of the children it waited for (scp's
   * ssh), from the bench's own account of its reaped children: exact, not sampled. Only
   * meaningful while no other child of the bench ends meanwhile (the rows run one at a time).
   */
  readonly cpu: number;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Killed with SIGKILL after this long (every child is bounded). */
  readonly timeoutMs: number;
  /** Poll /proc/PID/status every 50 ms for the peak RSS. */
  readonly watchRss?: boolean;
  /** Called once the process is spawned (e.g. to start sampling alongside it). */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Written to stdin, then stdin is closed. Without it stdin is /dev/null. */
  readonly input?: string;
  /**
   * A progress probe (e.g. bytes or files arrived so far): when its value has not changed
   * for `stallMs`, the process is killed and the result says so. A hang then costs
   * seconds, not the whole timeout.
   */
  readonly progress?: () => Promise<number>;
  readonly stallMs?: number;
}

const OUTPUT_CAP = 64 * 1024;

/** Keep the tail of a stream's output (enough for an error message, never unbounded). */
function capped(): { add(chunk: string): void; text(): string } {
  let text = '';
  return {
    add(chunk) {
      text += chunk;
      if (text.length > OUTPUT_CAP * 2) text = text.slice(-OUTPUT_CAP);
    },
    text: () => text,
  };
}

/**
 * Run a program and time it from spawn to exit. The 'exit' event is used rather than
 * 'close' because ssh with ControlPersist leaves a background master holding our pipes.
 */
export function runTimed(command: string, args: readonly string[], options: RunOptions): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    const cpuBefore = readCpuSync(process.pid)?.children ?? NaN;
    const started = now();
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio });
    const out = capped();
    const err = capped();
    child.stdout!.setEncoding('utf8').on('data', (d: string) => out.add(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => err.add(d));
    if (options.input !== undefined) child.stdin!.end(options.input);
    let peak = 0;
    let poll: NodeJS.Timeout | undefined;
    if (options.watchRss && child.pid !== undefined) {
      const pid = child.pid;
      const sample = (): void => {
        void readMemory(pid).then((m) => {
          if (m) peak = Math.max(peak, m.hwm, m.rss);
        });
      };
      sample();
      poll = setInterval(sample, 50);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    let stalledAt: number | undefined;
    let watch: NodeJS.Timeout | undefined;
    if (options.progress) {
      const probe = options.progress;
      const stallMs = options.stallMs ?? 20_000;
      let last = NaN;
      let since = now();
      let busy = false;
      watch = setInterval(() => {
        if (busy) return;
        busy = true;
        void probe()
          .then((value) => {
            if (value !== last) {
              last = value;
              since = now();
            } else if (now() - since > stallMs && stalledAt === undefined) {
              stalledAt = value;
              child.kill('SIGKILL');
            }
          })
          .catch(() => undefined)
          .finally(() => (busy = false));
      }, 500);
    }
    const stopTimers = (): void => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      if (watch) clearInterval(watch);
    };
    child.on('error', (e) => {
      stopTimers();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      const ms = now() - started;
      // 'exit' comes after the child was reaped: its times are in our children's account.
      const cpu = (readCpuSync(process.pid)?.children ?? NaN) - cpuBefore;
      stopTimers();
      // Let the pipes deliver what is already buffered (bounded: a background ssh master
      // may keep them open, so do not wait for 'close').
      setTimeout(() => resolve({ code, signal, ms, stdout: out.text(), stderr: err.text(), peakRss: peak, stalledAt, cpu }), 20);
    });
    options.onSpawn?.(child);
  });
}

/** runTimed that throws unless the program exits 0. */
export async function runOk(command: string, args: readonly string[], options: RunOptions): Promise<ProcResult> {
  const result = await runTimed(command, args, options);
  if (result.code !== 0) {
    const why =
      result.stalledAt !== undefined
        ? `stalled: no progress for ${Math.round((options.stallMs ?? 20_000) / 1000)} s at ${result.stalledAt}, killed after ${Math.round(result.ms / 1000)} s`
        : result.signal
          ? `killed by ${result.signal}`
          : `exit ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new Error(`${command.split('/').pop()} ${args.slice(0, 2).join(' ')}…: ${why}${detail ? `: ${detail}` : ''}`);
  }
  return result;
}

// ---- memory -----------------------------------------------------------------------------------

/** VmRSS and VmHWM (peak RSS) of a process in bytes, or null if it is gone. */
export async function readMemory(pid: number): Promise<{ rss: number; hwm: number } | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Peak memory of a long-running process (ferryd) over one measured window. Linux resets
 * VmHWM to the current RSS when "5" is written to /proc/PID/clear_refs (we are its parent
 * and root here); where that is refused, VmRSS polled every 50 ms is the fallback.
 */
export class PeakWatcher {
  private peak = 0;
  private reset = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly pid: number) {
    this.timer = setInterval(() => void this.sample(), 50);
  }

  static async start(pid: number): Promise<PeakWatcher> {
    const watcher = new PeakWatcher(pid);
    try {
      await writeFile(`/proc/${pid}/clear_refs`, '5');
      watcher.reset = true;
    } catch {
      watcher.reset = false;
    }
    await watcher.sample();
    return watcher;
  }

  private async sample(): Promise<void> {
    const m = await readMemory(this.pid);
    if (m) this.peak = Math.max(this.peak, m.rss, this.reset ? m.hwm : 0);
  }

  /** Stop and return the peak in bytes (VmHWM read while the process still runs). */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.sample();
    return this.peak;
  }
}

// ---- CPU time ----------------------------------------------------------------------------------

/** USER_HZ, the unit of the times in /proc/PID/stat (100 on every Linux Node runs on). */
const CLOCK_TICKS = 100;

export interface CpuTimes {
  /** User + system seconds of the process itself (all its threads). */
  readonly self: number;
  /** User + system seconds of the children it has waited for (and theirs). */
  readonly children: number;
}

/** The fields of /proc/PID/stat after "pid (comm) ": state, ppid, … utime, stime, cutime, cstime (11 to 14). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function parseCpu(stat: string): CpuTimes {
  const f = statFields(stat);
  return { self: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS };
}

export function readCpuSync(pid: number): CpuTimes | null {
  try {
    return parseCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Seconds a thread (by default the main thread of `pid`) has spent runnable but waiting
 * for a core (the second field of /proc/PID/task/TID/schedstat), or NaN where the kernel
 * does not say.
 */
export function runQueueWaitSync(pid: number, tid = pid): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return NaN;
  }
}

/** The processes whose parent is `pid`. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (Number(statFields(text)[1]) === pid) out.push(Number(name));
  }
  return out;
}

/**
 * CPU seconds a long-running server (ferryd, sshd) spends on one measured transfer: its
 * own times plus those of the children it reaped (sshd's per-connection processes, ferryd's
 * helper shell's `sync`). `settle()` first waits (at most `settleMs`) until the children
 * that were not there at the start have ended, so a connection's processes are counted.
 * A child that was already there (an ssh ControlMaster's session) and ends meanwhile
 * brings its whole life's CPU time into the account: what it had at the start is taken
 * off again.
 */
export class ServerCpu {
  private constructor(
    private readonly pid: number,
    private readonly start: CpuTimes,
    private readonly before: Map<number, number>,
  ) {}

  static async start(pid: number): Promise<ServerCpu | null> {
    const start = readCpuSync(pid);
    if (!start) return null;
    const before = new Map<number, number>();
    for (const child of await childrenOf(pid)) {
      const t = readCpuSync(child);
      if (t) before.set(child, t.self + t.children);
    }
    return new ServerCpu(pid, start, before);
  }

  async settle(settleMs = 5000): Promise<number> {
    const until = now() + settleMs;
    let children = await childrenOf(this.pid);
    while (children.some((c) => !this.before.has(c)) && now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      children = await childrenOf(this.pid);
    }
    const end = readCpuSync(this.pid);
    if (!end) return NaN;
    let spent = end.self - this.start.self + (end.children - this.start.children);
    for (const [child, cpu] of this.before) if (!children.includes(child)) spent -= cpu;
    return spent;
  }
}

// ---- formatting -----------------------------------------------------------------------------

export function fmt(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

// ---- files --------------------------------------------------------------------------------------

/** SHA-256 of a file read in 1 MiB chunks into one reused buffer (also the hash ceiling row). */
export async function sha256File(file: string): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  const buf = Buffer.allocUnsafe(MiB);
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { hex: hash.digest('hex'), bytes };
}

/** Bytes of the regular files directly in `dir` (hidden partial files included). */
export async function dirBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    const info = await stat(`${dir}/${name}`).catch(() => null);
    if (info?.isFile()) total += info.size;
  }
  return total;
}

/** Entries directly in `dir` (0 if it does not exist). */
export async function dirCount(dir: string): Promise<number> {
  return (await readdir(dir).catch(() => [] as string[])).length;
}
