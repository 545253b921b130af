/**
 * A real `ferryd` child process for the bench (TLS or --plain), with one user, plus the
 * helpers to reach it: `ferry` CLI arguments and in-process engine sessions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ClientCredential } from '../shared/node/scram.js';
import { RemoteSession } from '../engine/wire/session.js';
import { runOk } from './measure.js';

/** The repository (this file runs as dist/bench/ferryd.js). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FERRY = path.join(REPO, 'bin/ferry.js');
export const FERRYD = path.join(REPO, 'bin/ferryd.js');
export const WATCHDOG = path.join(REPO, 'dist/bench/watchdog.js');

export const BENCH_USER = 'bench';
/** Throwaway: the server lives in a temp dir on 127.0.0.1 for the length of the bench. */
export const BENCH_PASSWORD = 'bench-only-throwaway-passphrase';

export interface BenchServer {
  readonly plain: boolean;
  readonly port: number;
  readonly root: string;
  /** The user's home folder on disk (ROOT/homes/bench). */
  readonly home: string;
  /** Where uploads wait for their commit (to see that an upload is under way). */
  readonly partials: string;
  readonly pid: number;
  readonly fingerprint: string | null;
  /** Arguments for `ferry` to reach this server as the bench user. */
  cliArgs(): string[];
  /**
   * Environment for `ferry`: a config folder of its own with the server's key and a saved
   * login (`ferry login`, done once at start, the way scp and rsync here use an ssh key),
   * and the password as a fallback.
   */
  readonly cliEnv: Record<string, string>;
  /** The same with no saved login: every command derives the keys from the password (PBKDF2 600k). */
  readonly cliEnvPassword: Record<string, string>;
  /** An in-process engine session (the desktop app's view of the server). */
  connect(credential?: ClientCredential): Promise<RemoteSession>;
  /** Everything the server logged lately (for errors). */
  log(): string;
  stop(): Promise<void>;
}

export async function startFerryd(options: {
  dir: string;
  plain: boolean;
  deadline: number;
  /** Another build's repository (its bin/ferry.js and bin/ferryd.js): A/B comparisons. */
  repo?: string;
}): Promise<BenchServer> {
  const repo = options.repo ?? REPO;
  const ferry = path.join(repo, 'bin/ferry.js');
  const ferryd = path.join(repo, 'bin/ferryd.js');
  const root = path.join(options.dir, 'root');
  const configDir = path.join(options.dir, 'client-config');
  const passwordConfigDir = path.join(options.dir, 'client-config-password');
  await mkdir(configDir, { recursive: true });
  await mkdir(passwordConfigDir, { recursive: true });
  await runOk(process.execPath, [ferryd, 'user', 'add', BENCH_USER, '--root', root, '--exec'], {
    env: { FERRY_PASSWORD: BENCH_PASSWORD },
    timeoutMs: 60_000,
  });
  const args = ['--import', WATCHDOG, ferryd, 'serve', '--root', root, '--host', '127.0.0.1', '--port', '0'];
  if (options.plain) args.push('--plain');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, FERRY_BENCH_DEADLINE: String(options.deadline) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // ferryd logs a line per connection: keep only the tail.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 128 * 1024) stderr = stderr.slice(-64 * 1024);
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number; fingerprint: string | null }>((resolve, reject) => {
    let port = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferryd did not start: ${stderr.slice(-500)}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ferryd exited (${code}): ${stderr.slice(-500)}`));
    });
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
  const home = path.join(root, 'homes', BENCH_USER);
  await mkdir(home, { recursive: true });
  const cliArgs = (): string[] => ['--host', '127.0.0.1', '--port', String(ready.port), '--user', BENCH_USER, ...(options.plain ? ['--plain'] : [])];
  const cliEnv = { FERRY_PASSWORD: BENCH_PASSWORD, FERRY_CONFIG_DIR: configDir };
  const cliEnvPassword = { FERRY_PASSWORD: BENCH_PASSWORD, FERRY_CONFIG_DIR: passwordConfigDir };
  // Untimed set-up, like installing an ssh key: both configs trust the server's key, and
  // one of them saves the login.
  await runOk(process.execPath, [ferry, ...cliArgs(), 'login'], { env: cliEnv, cwd: REPO, timeoutMs: 60_000 });
  await runOk(process.execPath, [ferry, ...cliArgs(), 'ls', '/'], { env: cliEnvPassword, cwd: REPO, timeoutMs: 60_000 });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  };
  return {
    plain: options.plain,
    port: ready.port,
    root,
    home,
    partials: path.join(root, 'state', 'partials', BENCH_USER),
    pid: child.pid!,
    fingerprint: ready.fingerprint,
    cliArgs,
    cliEnv,
    cliEnvPassword,
    connect: (credential = { password: BENCH_PASSWORD }) =>
      RemoteSession.connect({
        host: '127.0.0.1',
        port: ready.port,
        plain: options.plain,
        user: BENCH_USER,
        credential,
        // Pin the key the server printed, as a client with a known_hosts entry would.
        verifyHostKey: (fingerprint) => {
          if (fingerprint !== ready.fingerprint) throw new Error(`unexpected server key ${fingerprint}`);
        },
      }),
    log: () => stderr,
    stop,
  };
}
