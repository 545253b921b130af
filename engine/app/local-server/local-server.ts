/**
 * The "Local server": a ferryd on this computer that the app runs for itself, so Ferry is
 * useful before there is any remote machine (and is a safe place to try it).
 *
 * - Its root is DATA_DIR/local-server (homes, partial uploads, its TLS key); it survives
 *   restarts of the app, so files uploaded to it are there next time.
 * - One account, named after the OS user (or "me"), with commands allowed and no quota
 *   (neither of bytes nor of entries): it
 *   is the person's own machine. Its password is random and never stored: at creation the
 *   SCRAM client keys are derived from it and kept in DATA_DIR/local-server.json (mode
 *   0600); the server keeps only its verifier. If the two ever disagree (a crash between
 *   the steps, a restored backup) the password is reset the same way, without asking.
 * - It listens on 127.0.0.1 only, on the port of the last run when it is free, else any
 *   free port, and its key is written to known_hosts from the server's own report: there
 *   is no "trust this key?" question for a server we started ourselves.
 * - It runs as a child process: the same `ferryd` people run on servers (bin/ferryd.js),
 *   because the engine never imports the server (test/layers.test.ts). It stops with us:
 *   stop() sends SIGTERM, and if we die without calling it, the child's stdin closes and
 *   the preloaded watchdog (local-server-watchdog.ts) stops it the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { FerryError, toFerryError, type ErrorInfo } from '../../../shared/common/errors.js';
import { ScramClientKeysSchema, deriveClientKeys, type ScramClientKeys } from '../../../shared/node/scram.js';
import { JsonFile } from '../stores/json-file.js';
import { KnownHosts } from '../stores/known-hosts.js';

/** The id of the built-in profile (saved profiles have ids like "p1a2b3c…"). */
export const LOCAL_PROFILE_ID = 'local';
export const LOCAL_PROFILE_NAME = 'Local server';
const HOST = '127.0.0.1';

export interface LocalServerInfo {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly fingerprint: string;
  /** The server's root folder (the account's files are in ROOT/homes/USER). */
  readonly root: string;
  /** SCRAM client keys of the account: the login, without a password. */
  readonly keys: ScramClientKeys;
}

/** What the backend needs from the local server (tests can pass their own). */
export interface LocalServerHandle {
  /** The account name and the port (null before the first start), for the profile list. */
  describe(): { readonly user: string; readonly port: number | null };
  /** Start it if it is not running (concurrent calls share one start). */
  start(): Promise<LocalServerInfo>;
}

export interface LocalServerOptions {
  /** The app's data folder: the server's root and the login live here. */
  readonly dataDir: string;
  /** Where known_hosts is (the same folder as the backend's and the CLI's). */
  readonly configDir: string;
  /** The ferryd entry script (default: bin/ferryd.js of this package). */
  readonly ferrydScript?: string;
  /** The program that runs it (default: this Node; inside Electron, Electron as Node). */
  readonly execPath?: string;
  /** The account name (default: the OS user's name made valid, or "me"). */
  readonly user?: string;
  readonly log?: (line: string) => void;
  /** How long a start may take before it is given up (default 30 s). */
  readonly startTimeoutMs?: number;
}

const StateFile = z.object({
  version: z.literal(1),
  user: z.string().min(1).max(32).optional(),
  keys: ScramClientKeysSchema.optional(),
  /** The port of the last run: reused when free, so known_hosts and profiles stay stable. */
  port: z.number().int().min(1).max(65535).optional(),
});
type StateFile = z.infer<typeof StateFile>;

/** The part of ferryd's ROOT/users.json we read: the account's verifier. */
const UsersFile = z.object({
  users: z.array(
    z.object({
      name: z.string(),
      scram: z.object({ salt: z.string(), iterations: z.number(), storedKey: z.string(), serverKey: z.string() }),
    }),
  ),
});

const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** The OS user's name as a ferryd account name ("Jane Doe" → "jane_doe"), or "me". */
export function localUserName(raw: string | undefined): string {
  const name = (raw ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[^a-z_]+/, '')
    .slice(0, 32);
  return USER_NAME.test(name) ? name : 'me';
}

function safeOsUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'];
  }
}

/** Where Ferry keeps data (not settings) on each platform: FERRY_DATA_DIR, else the convention. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  if (env['FERRY_DATA_DIR']) return env['FERRY_DATA_DIR'];
  if (platform === 'win32') return path.win32.join(env['LOCALAPPDATA'] || path.win32.join(home, 'AppData', 'Local'), 'Ferry');
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Ferry');
  const xdg = env['XDG_DATA_HOME'];
  return path.posix.join(xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share'), 'ferry');
}

/**
 * The folder of this package (with package.json). Inside a packaged Electron app that is
 * app.asar; the files a child process runs are unpacked next to it (electron-builder.yml).
 */
function packageDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return unpacked(dir);
}

function unpacked(p: string): string {
  return p.replace(/([\\/])app\.asar(?=[\\/]|$)/, '$1app.asar.unpacked');
}

export class LocalServer implements LocalServerHandle {
  readonly root: string;
  private readonly state: JsonFile<StateFile>;
  private readonly knownHosts: KnownHosts;
  private readonly log: (line: string) => void;
  private readonly ferryd: string;
  private readonly execPath: string;
  private readonly env: NodeJS.ProcessEnv;
  private user: string;
  private port: number | null = null;
  private child: ChildProcess | undefined;
  private starting: Promise<LocalServerInfo> | undefined;
  private running: LocalServerInfo | undefined;
  private stopping: Promise<void> | undefined;
  private lastError: ErrorInfo | undefined;

  constructor(private readonly options: LocalServerOptions) {
    this.root = path.join(options.dataDir, 'local-server');
    this.state = new JsonFile(path.join(options.dataDir, 'local-server.json'), StateFile, () => ({ version: 1 }), options.log);
    this.knownHosts = new KnownHosts(path.join(options.configDir, 'known_hosts'));
    this.log = options.log ?? (() => undefined);
    this.ferryd = options.ferrydScript ?? path.join(packageDir(), 'bin', 'ferryd.js');
    this.execPath = options.execPath ?? process.execPath;
    // Inside Electron, process.execPath is Electron: this makes it a plain Node.
    this.env = process.versions['electron'] !== undefined && options.execPath === undefined ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : { ...process.env };
    this.user = options.user ?? localUserName(safeOsUser());
  }

  describe(): { user: string; port: number | null } {
    return { user: this.user, port: this.running?.port ?? this.port };
  }

  /** The last start's error, if it failed. */
  get error(): ErrorInfo | undefined {
    return this.lastError;
  }

  start(): Promise<LocalServerInfo> {
    if (this.running && this.child && this.child.exitCode === null && this.child.signalCode === null) return Promise.resolve(this.running);
    this.starting ??= (async () => {
      await this.stopping;
      try {
        const info = await this.launch();
        this.lastError = undefined;
        return info;
      } catch (err) {
        const e = toFerryError(err, 'EIO');
        this.lastError = e.toInfo();
        this.log(`local server: could not start: ${e.message}`);
        throw new FerryError(e.code, `The local server could not start: ${e.message}`);
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  /** Stop the server (SIGTERM: uploads in flight stay resumable). Its files stay. */
  stop(): Promise<void> {
    const child = this.child;
    this.running = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.stopping ?? Promise.resolve();
    this.stopping = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(kill);
        resolve();
      };
      const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
      child.once('exit', done);
      child.kill('SIGTERM');
    }).finally(() => {
      if (this.child === child) this.child = undefined;
    });
    return this.stopping;
  }

  // ---- starting ----------------------------------------------------------------------------

  private async launch(): Promise<LocalServerInfo> {
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 });
    const state = await this.state.read();
    if (state.user !== undefined && this.options.user === undefined) this.user = state.user;
    this.port = state.port ?? null;
    const keys = await this.account(state);

    let served: { port: number; fingerprint: string };
    try {
      served = await this.serve(state.port ?? 0);
    } catch (err) {
      // The last run's port is taken now: any free one will do.
      if (state.port === undefined || !/EADDRINUSE|already in use/i.test((err as Error).message)) throw err;
      this.log(`local server: port ${state.port} is taken; choosing another`);
      served = await this.serve(0);
    }
    const { port, fingerprint } = served;
    this.port = port;

    // Trusted from the server's own report. A previous port's entry for this key goes.
    if (state.port !== undefined && state.port !== port) {
      const old = await this.knownHosts.check(`${HOST}:${state.port}`, fingerprint);
      if (old.kind === 'known') await this.knownHosts.forget(`${HOST}:${state.port}`);
    }
    if ((await this.knownHosts.check(`${HOST}:${port}`, fingerprint)).kind !== 'known') {
      await this.knownHosts.trust(`${HOST}:${port}`, fingerprint);
    }
    await this.state.update((s) => ({ value: { ...s, version: 1, user: this.user, keys, port }, result: undefined }));
    this.running = { host: HOST, port, user: this.user, fingerprint, root: this.root, keys };
    this.log(`local server: ${this.user}@${HOST}:${port} (key ${fingerprint}, files in ${path.join(this.root, 'homes', this.user)})`);
    return this.running;
  }

  /** Make sure the account exists and the stored keys are its login; returns the keys. */
  private async account(state: StateFile): Promise<ScramClientKeys> {
    const record = await this.readAccount();
    if (record && state.keys && state.user === this.user && keysMatch(state.keys, record.scram)) return state.keys;
    const password = randomBytes(32).toString('base64url');
    if (record) {
      this.log(`local server: the stored login of ${this.user} does not match the server; setting a new one`);
      await this.ferrydCommand(['user', 'passwd', this.user, '--root', this.root], password);
    } else {
      await this.ferrydCommand(['user', 'add', this.user, '--root', this.root, '--exec', '--entries', 'none'], password);
      this.log(`local server: created the account ${this.user} in ${this.root}`);
    }
    const created = await this.readAccount();
    if (!created) throw new FerryError('EIO', `ferryd did not record the account ${this.user} in ${this.root}/users.json.`);
    const keys = await deriveClientKeys(password, created.scram.salt, created.scram.iterations);
    // Saved before the server starts: the password itself is forgotten now.
    await this.state.update((s) => ({ value: { ...s, version: 1, user: this.user, keys }, result: undefined }));
    return keys;
  }

  private async readAccount(): Promise<z.infer<typeof UsersFile>['users'][number] | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.root, 'users.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = UsersFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new FerryError('EIO', `${path.join(this.root, 'users.json')} is not a ferryd user database.`);
    return parsed.data.users.find((u) => u.name === this.user);
  }

  /** `ferryd user …`, with the password in FERRY_PASSWORD (never on the command line). */
  private ferrydCommand(args: readonly string[], password: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.execPath, [this.ferryd, ...args], {
        env: { ...this.env, FERRY_PASSWORD: password },
        stdio: ['ignore', 'ignore', 'pipe'],
        windowsHide: true,
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', (err) => reject(new FerryError('EIO', `Cannot run ferryd (${this.ferryd}): ${err.message}`)));
      child.once('close', (code) => {
        if (code === 0) resolve();
        else reject(new FerryError('EIO', `ferryd ${args.slice(0, 2).join(' ')} failed: ${lastLine(stderr) || `exit code ${code}`}`));
      });
    });
  }

  /** `ferryd serve` on 127.0.0.1:port; resolves once it reports its address and key. */
  private serve(port: number): Promise<{ port: number; fingerprint: string }> {
    const watchdog = path.join(path.dirname(path.dirname(this.ferryd)), 'dist', 'engine', 'app', 'local-server', 'local-server-watchdog.js');
    const preload = existsSync(watchdog) ? ['--import', pathToFileURL(watchdog).href] : [];
    if (preload.length === 0) this.log(`local server: ${watchdog} is missing: the server will not stop by itself if Ferry crashes`);
    const child = spawn(this.execPath, [...preload, this.ferryd, 'serve', '--root', this.root, '--host', HOST, '--port', String(port)], {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      // Its own process group: a Ctrl+C in our terminal is ours to handle (we stop it with
      // one SIGTERM), not a second, competing signal to it.
      detached: process.platform !== 'win32',
    });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let listening: number | undefined;
      let fingerprint: string | undefined;
      let stderr = '';
      let ready = false;
      const fail = (error: FerryError): void => {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(error);
      };
      const timer = setTimeout(() => fail(new FerryError('ETIMEDOUT', `ferryd did not start within ${timeoutMs / 1000} s. ${lastLine(stderr)}`)), timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const address = /^listening on .*:(\d+)$/.exec(line);
        if (address) listening = Number(address[1]);
        const key = /^key (SHA256:[A-Za-z0-9+/]+)/.exec(line);
        if (key) fingerprint = key[1];
        if (!ready && listening !== undefined && fingerprint !== undefined) {
          ready = true;
          clearTimeout(timer);
          resolve({ port: listening, fingerprint });
        }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (!ready) stderr += `${line}\n`;
        this.log(`local ferryd: ${line}`);
      });
      child.once('error', (err) => fail(new FerryError('EIO', `Cannot run ferryd (${this.ferryd}): ${err.message}`)));
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        if (!ready) {
          fail(new FerryError('EIO', `ferryd stopped while starting (${signal ?? `exit code ${code}`}): ${lastLine(stderr) || 'no message'}`));
          return;
        }
        if (this.running !== undefined && this.running.port === listening) {
          // Not asked to stop: the next start() (a connect, a reconnect) starts it again.
          this.running = undefined;
          this.log(`local server: ferryd stopped unexpectedly (${signal ?? `exit code ${code}`})`);
        }
      });
    });
  }
}

/** Why ferryd stopped: its last `ferryd: …` line (its error), else the last line it wrote (a log line may follow the error). */
function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  const said = lines.filter((line) => line.startsWith('ferryd: '));
  return (said[said.length - 1] ?? lines[lines.length - 1] ?? '').replace(/^ferryd: /, '').trim();
}

/** The keys are the login of this verifier: StoredKey = SHA-256(ClientKey), same salt and ServerKey. */
function keysMatch(keys: ScramClientKeys, scram: { salt: string; iterations: number; storedKey: string; serverKey: string }): boolean {
  const stored = createHash('sha256').update(Buffer.from(keys.clientKey, 'base64')).digest('base64');
  return keys.salt === scram.salt && keys.iterations === scram.iterations && keys.serverKey === scram.serverKey && stored === scram.storedKey;
}
