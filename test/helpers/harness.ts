/**
 * Test harness: real ferryd processes on 127.0.0.1 port 0, real `ferry` CLI runs, and
 * temporary folders that are removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FERRY = path.join(REPO, 'bin/ferry.js');
export const FERRYD = path.join(REPO, 'bin/ferryd.js');

const cleanups: Array<() => Promise<void>> = [];

/** Register something to undo in cleanupAll (e.g. a proxy to close). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** Run registered cleanups (call from afterAll). */
export async function cleanupAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

export async function tempDir(prefix = 'ferry-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  cwd?: string;
}

/** A child process started with start(): its handle, and its result once it has closed. */
export interface Started {
  readonly child: ChildProcess;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  readonly result: Promise<RunResult>;
}

/** Start `node script args…` without waiting for it (to signal it, or to run many at once). */
export function start(script: string, args: readonly string[], options: RunOptions = {}): Started {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} ${args.join(' ')} timed out\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  // Never leave a child behind a failed test.
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await result.catch(() => undefined);
  });
  return { child, stdout: () => stdout, stderr: () => stderr, result };
}

export function run(script: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return start(script, args, options).result;
}

export interface TestUser {
  readonly name: string;
  readonly password: string;
  readonly quota?: string;
  /** `--entries`: the most files, folders and links (a number, or 'none'). */
  readonly entries?: string;
  readonly exec?: boolean;
}

export interface Ferryd {
  readonly root: string;
  readonly host: string;
  readonly port: number;
  readonly plain: boolean;
  readonly fingerprint: string | null;
  readonly process: ChildProcess;
  /** Everything the server logged on stderr so far. */
  log(): string;
  /** Stop with SIGTERM (and wait). */
  stop(): Promise<void>;
  /** Kill with SIGKILL, like a crash or a power cut (and wait). */
  kill(): Promise<void>;
  /** Arguments for the ferry CLI to reach this server as `user`. */
  cliArgs(user: string): string[];
}

export async function addUser(root: string, user: TestUser): Promise<void> {
  const args = ['user', 'add', user.name, '--root', root];
  if (user.quota) args.push('--quota', user.quota);
  if (user.entries) args.push('--entries', user.entries);
  if (user.exec) args.push('--exec');
  const result = await run(FERRYD, args, { env: { FERRY_PASSWORD: user.password } });
  if (result.code !== 0) throw new Error(`user add failed: ${result.stderr}`);
}

export async function startFerryd(
  options: {
    users?: readonly TestUser[];
    plain?: boolean;
    root?: string;
    env?: Record<string, string>;
    /** A fixed port (e.g. to restart a killed server where its clients expect it); default 0. */
    port?: number;
    /** More `ferryd serve` options. */
    args?: readonly string[];
  } = {},
): Promise<Ferryd> {
  const root = options.root ?? (await tempDir('ferryd-root-'));
  for (const user of options.users ?? []) await addUser(root, user);
  const args = ['serve', '--root', root, '--host', '127.0.0.1', '--port', String(options.port ?? 0)];
  if (options.plain) args.push('--plain');
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, [FERRYD, ...args], {
    cwd: REPO,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ port: number; fingerprint: string | null }>((resolve, reject) => {
    let port = 0;
    const timer = setTimeout(() => reject(new Error(`ferryd did not start:\n${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`ferryd exited (${code}):\n${stderr}`)));
    lines.on('line', (line) => {
      const listening = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (listening) port = Number(listening[1]);
      const key = /^key (SHA256:[A-Za-z0-9+/]+)/.exec(line);
      if (port && (key || options.plain)) {
        clearTimeout(timer);
        resolve({ port, fingerprint: key ? key[1]! : null });
      }
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  };
  cleanups.push(stop);
  return {
    root,
    host: '127.0.0.1',
    port: ready.port,
    plain: options.plain ?? false,
    fingerprint: ready.fingerprint,
    process: child,
    log: () => stderr,
    stop,
    kill,
    cliArgs: (user: string) => ['--host', '127.0.0.1', '--port', String(ready.port), '--user', user, ...(options.plain ? ['--plain'] : [])],
  };
}

/** The resident memory of a running process in bytes (VmRSS; Linux only). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}
