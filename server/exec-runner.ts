/**
 * Runs one shell command for a client's exec request. The command gets its own process
 * group, so cancel, the timeout and the output cap can kill everything it started, and an
 * allowlisted environment, so it never sees the server's own variables or secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FerryError } from '../shared/common/errors.js';

export interface ExecOptions {
  readonly command: string;
  /** Real (server) path of the folder to run in. */
  readonly cwd: string;
  /** Real path of the user's home, for $HOME. */
  readonly home: string;
  readonly user: string;
  readonly timeoutMs: number;
  /** Bytes of stdout and stderr together; beyond it the command is killed. */
  readonly outputCap: number;
  /**
   * Called for each chunk, in arrival order. It is awaited: while its promise is pending
   * the child's pipes are paused, so a slow client slows the command down (backpressure).
   */
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => Promise<void> | void;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly reason: 'exit' | 'cancelled' | 'timeout' | 'output-cap';
}

export interface RunningExec {
  /**
   * Resolves when the command and everything it left in its process group are gone and
   * all output was delivered. Rejects (FerryError) only when the command could not start
   * or onOutput failed.
   */
  readonly done: Promise<ExecResult>;
  cancel(): void;
  readonly pid: number | undefined;
}

const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';
/** After the shell exits, output still arriving this long after the last delivery comes from an escaped process. */
const DRAIN_GRACE_MS = 1000;

/** An allowlist, never a copy of the server's environment: that could hold secrets. */
export function execEnvironment(home: string, user: string, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    PATH: SAFE_PATH,
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: '/bin/sh',
    TERM: 'xterm-256color',
    FERRY: '1',
  };
  for (const name of ['LANG', 'LC_ALL']) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function startExec(options: ExecOptions): RunningExec {
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', options.command], {
      cwd: options.cwd,
      env: execEnvironment(options.home, options.user),
      detached: true, // its own process group: kill(-pid) reaches its children too
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const done = spawnError(err, options.cwd).then((error) => Promise.reject(error));
    done.catch(() => undefined); // the caller may await it later: not an unhandled rejection
    return { done, cancel: () => undefined, pid: undefined };
  }
  const run = new Run(child, options);
  run.done.catch(() => undefined);
  return { done: run.done, cancel: () => run.terminate('cancelled'), pid: child.pid };
}

type StreamName = 'stdout' | 'stderr';

class Run {
  readonly done: Promise<ExecResult>;
  private resolve!: (result: ExecResult) => void;
  private reject!: (err: unknown) => void;

  private spawned = false;
  private exited = false;
  private settled = false;
  private code: number | null = null;
  private signal: string | null = null;
  /** Set by the first cancel, timeout or cap; later ones do not change it. */
  private reason: ExecResult['reason'] | undefined;
  /** Once stopped, further output is read and dropped so the pipes drain and close. */
  private stopped = false;
  private failure: unknown;
  private outputBytes = 0;
  private delivery: Promise<void> = Promise.resolve();
  private readonly pending: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  private readonly streams: Record<StreamName, Readable>;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly child: ChildProcess,
    private readonly options: ExecOptions,
  ) {
    this.done = new Promise<ExecResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.streams = { stdout: child.stdout!, stderr: child.stderr! };
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.streams[name];
      stream.on('data', (chunk: Buffer) => this.onData(name, chunk));
      stream.on('error', () => undefined); // a broken pipe ends the stream; 'close' still follows
    }
    child.once('spawn', () => {
      this.spawned = true;
      this.timers.push(setTimeout(() => this.terminate('timeout'), options.timeoutMs));
    });
    child.on('error', (err) => {
      if (this.spawned || this.settled) return; // e.g. a failed kill: the close event still comes
      this.settled = true;
      this.clearTimers();
      void spawnError(err, options.cwd).then(this.reject);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.code = code;
      this.signal = signal;
      // Background jobs it left behind would outlive the timeout and the session: end them.
      killGroup(child.pid);
      this.watchDrain();
    });
    child.once('close', () => void this.finish());
  }

  /** Stop the command for `reason`: kill its whole process group and drop further output. */
  terminate(reason: Exclude<ExecResult['reason'], 'exit'>): void {
    if (this.settled || this.reason !== undefined) return;
    this.reason = reason;
    this.stopped = true;
    if (!this.exited) killGroup(this.child.pid);
    for (const stream of Object.values(this.streams)) stream.resume();
    if (this.exited) {
      this.destroyStreams();
    } else {
      // A process that left the group (setsid) may hold the pipes open: do not wait for it.
      this.timers.push(setTimeout(() => this.destroyStreams(), DRAIN_GRACE_MS));
    }
  }

  private onData(name: StreamName, chunk: Buffer): void {
    if (this.stopped) return;
    const room = this.options.outputCap - this.outputBytes;
    const piece = chunk.length > room ? chunk.subarray(0, Math.max(room, 0)) : chunk;
    this.outputBytes += piece.length;
    if (piece.length > 0) {
      const stream = this.streams[name];
      this.pending[name]++;
      stream.pause();
      this.delivery = this.delivery
        .then(async () => {
          if (this.failure === undefined) await this.options.onOutput(name, piece);
        })
        .catch((err: unknown) => {
          this.failure ??= err;
          this.terminate('cancelled');
        })
        .finally(() => {
          if (--this.pending[name] === 0 && !stream.destroyed) stream.resume();
        });
    }
    if (piece.length < chunk.length) this.terminate('output-cap');
  }

  /**
   * After the shell exits, its output normally ends at once. If a pipe stays open while
   * nothing waits to be delivered, a process outside the group holds it: stop waiting.
   */
  private watchDrain(): void {
    const check = (): void => {
      if (this.settled) return;
      if (this.pending.stdout + this.pending.stderr > 0) {
        this.timers.push(setTimeout(check, DRAIN_GRACE_MS));
      } else {
        this.stopped = true;
        this.destroyStreams();
      }
    };
    this.timers.push(setTimeout(check, DRAIN_GRACE_MS));
  }

  private destroyStreams(): void {
    for (const stream of Object.values(this.streams)) stream.destroy();
  }

  private async finish(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.clearTimers();
    await this.delivery; // every accepted chunk is delivered before the result
    if (this.failure !== undefined) {
      this.reject(
        this.failure instanceof FerryError
          ? this.failure
          : new FerryError('ECANCELED', `The command was stopped because its output could not be delivered (${String(this.failure)}).`),
      );
      return;
    }
    this.resolve({ code: this.code, signal: this.signal, reason: this.reason ?? 'exit' });
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }
}

/** SIGKILL the process group led by `pid`. Already gone is fine. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** A spawn failure as a FerryError that says which part was wrong, without server paths. */
async function spawnError(err: unknown, cwd: string): Promise<FerryError> {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const cwdProblem = await stat(cwd).then(
    (info) => (info.isDirectory() ? undefined : 'ENOTDIR'),
    (statErr: NodeJS.ErrnoException) => statErr.code ?? 'ENOENT',
  );
  if (cwdProblem === 'ENOENT') return new FerryError('ENOENT', 'Cannot run the command: its working folder does not exist.');
  if (cwdProblem === 'ENOTDIR') return new FerryError('ENOTDIR', 'Cannot run the command: its working folder is not a folder.');
  if (code === 'EACCES' || cwdProblem === 'EACCES') {
    return new FerryError('EACCES', 'Cannot run the command: the server may not enter its working folder or run /bin/sh.');
  }
  if (code === 'ENOENT') return new FerryError('ENOENT', 'Cannot run the command: the server has no /bin/sh.');
  return new FerryError('EIO', `Cannot run the command (${code ?? String(err)}).`);
}
