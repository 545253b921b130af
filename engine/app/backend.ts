/**
 * The engine side of the UI contract (shared/common/contract.ts) for ONE front end: a
 * desktop window (through IPC) or a browser tab (through the web host's WebSocket). It
 * validates every call's arguments at runtime (the renderer is untrusted), answers with
 * Result values (errors as data with stable codes, never thrown strings), and emits the
 * contract's events. It owns the session, its transfer queue, reconnects, console
 * commands, and the stored profiles, settings and history. It never imports electron:
 * platform services (the secret store) are passed in.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// Node's own decoder: the stream option is what keeps a character split across chunks whole.
import { TextDecoder } from 'node:util';
import type { z } from 'zod';
import {
  CALLS,
  type CallArgs,
  type CallName,
  type CallResults,
  type ConnectInput,
  type ConnectResult,
  type ConnectionState,
  type Events,
  type EventName,
  type Profile,
  type Result,
  type SessionInfo,
} from '../../shared/common/contract.js';
import { FerryError, toFerryError, type ErrorInfo } from '../../shared/common/errors.js';
import type { ExecStream } from '../../shared/common/messages.js';
import {
  type Conflict,
  type ConflictDecision,
  type TransferEvent,
  type TransferId,
  type TransferView,
} from '../../shared/common/transfer-model.js';
import type { ClientCredential } from '../../shared/node/scram.js';
import { parseConsoleCommand } from './console/console-command.js';
import { ConsoleHistory } from './console/console-history.js';
import { KnownHosts, hostKeyChangedError } from './stores/known-hosts.js';
import { LOCAL_PROFILE_ID, LOCAL_PROFILE_NAME, type LocalServerHandle, type LocalServerInfo } from './local-server/local-server.js';
import { ProfileStore, openKeys, sealKeys, type SecretStore } from './stores/profile-store.js';
import { RemoteSession } from '../wire/session.js';
import { SettingsStore } from './stores/settings-store.js';
import { TransferQueue } from '../queue/transfer-queue.js';

export type { SecretStore } from './stores/profile-store.js';

export interface BackendOptions {
  /** Profiles, settings, history and known_hosts live here. */
  readonly configDir: string;
  /** Encrypts remembered logins; without one (or when not available) nothing is remembered. */
  readonly secretStore?: SecretStore;
  /** The download folder until the user picks one (default ~/Downloads/Ferry). */
  readonly downloadDir?: string;
  readonly log?: (line: string) => void;
  /** Waits before reconnect attempts, in ms; the last one repeats (default 0.5 s, 1 s, 2 s, 4 s, 8 s, 15 s). */
  readonly reconnectDelaysMs?: readonly number[];
  /** Attempts before giving up after a dropped connection (default 20). */
  readonly reconnectAttempts?: number;
  /** How long 'fs:changed' waits to collect more folders (default 300 ms). */
  readonly fsChangedDelayMs?: number;
  /** Passed to the transfer queue (default 100 ms). */
  readonly progressIntervalMs?: number;
  readonly connectTimeoutMs?: number;
  /**
   * The app's own ferryd (local-server.ts), shared by every window or tab: listed first as
   * the built-in "Local server" profile; connecting to it starts it if needed and logs in
   * with its stored keys, trusting the key the server reported (no prompt).
   */
  readonly localServer?: LocalServerHandle;
}

/** Receives every event of the contract, in order. */
export type BackendListener = <E extends EventName>(event: E, payload: Events[E]) => void;

export interface Backend {
  /** One contract call: `args` is the argument array (validated here). Never throws. */
  call(name: string, args: unknown): Promise<Result<unknown>>;
  on(listener: BackendListener): () => void;
  /**
   * Upload local files or folders the caller owns (the web host's spooled browser drops)
   * into `remoteDir`. `release` is called once none of these transfers can need the
   * local files any more (all done or skipped, or removed from the list; a failed or
   * cancelled one keeps them for a retry), when the upload is refused, when the session
   * ends, and on dispose.
   */
  uploadSpooled(localPaths: readonly string[], remoteDir: string, release: () => Promise<void>): Promise<Result<TransferView[]>>;
  /**
   * Local files of finished downloads among `transferIds`, for a native drag out of the
   * window: only files this backend downloaded and that are still there, never any other
   * path (the ids come from the untrusted renderer).
   */
  downloadedFiles(transferIds: readonly string[]): Promise<string[]>;
  /** Disconnect, cancel everything, release spooled files. */
  dispose(): Promise<void>;
}

/** A typed call, for code that knows the call at compile time (tests, hosts). */
export function callBackend<N extends CallName>(backend: Backend, name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
  return backend.call(name, args) as Promise<Result<CallResults[N]>>;
}

export function createBackend(options: BackendOptions): Backend {
  return new FerryBackend(options);
}

type Handlers = { [N in CallName]: (...args: CallArgs<N>) => Promise<CallResults[N]> | CallResults[N] };

interface OwnedUpload {
  readonly ids: ReadonlySet<TransferId>;
  readonly release: () => Promise<void>;
  released: boolean;
}

interface PendingConflict {
  readonly resolve: (answer: { decision: ConflictDecision; applyToAll: boolean }) => void;
  readonly batch: string;
}

const DEFAULT_DELAYS = [500, 1000, 2000, 4000, 8000, 15_000];
const OUTPUT_FLUSH_MS = 25;
const OUTPUT_FLUSH_BYTES = 64 * 1024;

function fail(code: FerryError['code'], message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/** "argument 1 (port): expected number, received string" */
function describeArgs(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const [index, ...rest] = issue.path;
      const where =
        typeof index === 'number' ? `argument ${index + 1}${rest.length > 0 ? ` (${rest.map(String).join('.')})` : ''}` : 'the arguments';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

class FerryBackend implements Backend {
  private readonly listeners = new Set<BackendListener>();
  private readonly profiles: ProfileStore;
  private readonly settings: SettingsStore;
  private readonly history: ConsoleHistory;
  private readonly knownHosts: KnownHosts;
  private readonly log: (line: string) => void;

  private state: ConnectionState = { state: 'disconnected' };
  private session: RemoteSession | undefined;
  private profileId: string | null = null;
  private target: { host: string; port: number } = { host: '', port: 0 };
  private queue: TransferQueue | undefined;
  private unsubscribeQueue: (() => void) | undefined;
  /** Bumped by every connect and disconnect: late results of an older one are dropped. */
  private generation = 0;
  private reconnectWake: (() => void) | undefined;
  private previousCwd: string | undefined;
  private historyKey = 'default';
  private disposed = false;

  private readonly conflicts = new Map<string, PendingConflict>();
  private readonly execs = new Map<string, AbortController>();
  private readonly owned: OwnedUpload[] = [];
  private readonly reportedUploads = new Set<TransferId>();
  private readonly changed = new Set<string>();
  private changedTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BackendOptions) {
    this.log = options.log ?? (() => undefined);
    this.profiles = new ProfileStore(options.configDir, this.log);
    this.settings = new SettingsStore(options.configDir, options.downloadDir ?? path.join(os.homedir(), 'Downloads', 'Ferry'), this.log);
    this.history = new ConsoleHistory(options.configDir, this.log);
    this.knownHosts = new KnownHosts(path.join(options.configDir, 'known_hosts'));
  }

  // ---- the contract ---------------------------------------------------------------------

  async call(name: string, args: unknown): Promise<Result<unknown>> {
    if (this.disposed) return fail('ECANCELED', 'This window or tab was closed.');
    if (typeof name !== 'string' || !Object.hasOwn(CALLS, name)) {
      return fail('EPROTO', `Unknown call "${String(name).slice(0, 80)}": the UI and the engine are from different versions.`);
    }
    const callName = name as CallName;
    const parsed = CALLS[callName].safeParse(args);
    if (!parsed.success) return fail('EINVAL', `Invalid arguments for ${callName}: ${describeArgs(parsed.error)}.`);
    try {
      const handler = this.handlers[callName] as (...a: unknown[]) => unknown;
      const value = await handler(...(parsed.data as unknown[]));
      return { ok: true, value };
    } catch (err) {
      const error = toFerryError(err);
      if (!(err instanceof FerryError)) this.log(`${callName} failed unexpectedly: ${(err as Error)?.stack ?? String(err)}`);
      return { ok: false, error: error.toInfo() };
    }
  }

  on(listener: BackendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const listener of this.listeners) {
      try {
        listener(event, payload);
      } catch (err) {
        this.log(`a listener of ${event} threw: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  }

  private readonly handlers: Handlers = {
    'profiles:list': async () => {
      const saved = await this.profiles.list();
      return this.options.localServer ? [await this.localProfile(this.options.localServer), ...saved] : saved;
    },
    'profiles:save': (input) => {
      if (input.id === LOCAL_PROFILE_ID) throw builtIn();
      return this.profiles.save(input);
    },
    'profiles:delete': async (id) => {
      if (id === LOCAL_PROFILE_ID) throw builtIn();
      if (!(await this.profiles.delete(id))) throw new FerryError('ENOENT', `There is no saved connection with the id "${id}".`);
    },
    'session:connect': (input) => this.connect(input),
    'session:disconnect': async () => {
      await this.closeSession();
      this.setState({ state: 'disconnected' });
    },
    'session:state': () => this.state,
    'hosts:trust': (hostPort, fingerprint) => this.knownHosts.trust(hostPort, fingerprint),
    'hosts:forget': (hostPort) => this.knownHosts.forget(hostPort),
    'fs:list': (p) => this.requireSession().list(p),
    'fs:stat': (p) => this.requireSession().stat(p),
    'fs:cd': (p) => this.changeDir(p),
    'fs:mkdir': async (p) => {
      const created = await this.requireSession().mkdir(p);
      this.markChanged(this.parentOf(created));
      return created;
    },
    'fs:rename': async (from, to) => {
      const session = this.requireSession();
      const source = this.resolve(from);
      const renamed = await session.rename(from, to);
      this.markChanged(this.parentOf(source), this.parentOf(renamed));
      return renamed;
    },
    'fs:delete': (paths) => this.remove(paths),
    'fs:df': () => this.requireSession().df(),
    'transfers:uploadPaths': async (localPaths, remoteDir) => {
      const views = await this.requireQueue().upload(localPaths, remoteDir);
      // The target (made if missing) and the folders inside it are new.
      this.markChanged(this.parentOf(remoteDir), this.resolve(remoteDir));
      return views;
    },
    'transfers:download': async (remotePaths) => {
      const { downloadDir } = await this.settings.get();
      return this.requireQueue().download(remotePaths, downloadDir);
    },
    // Row controls work while reconnecting too: they only change the queue's plans.
    'transfers:pause': (id) => this.queueOf(id).pause(id as TransferId),
    'transfers:resume': (id) => this.queueOf(id).resume(id as TransferId),
    'transfers:cancel': (id) => this.queueOf(id).cancel(id as TransferId),
    'transfers:retry': (id) => this.queueOf(id).retry(id as TransferId),
    'transfers:pauseAll': () => this.queue?.pauseAll(),
    'transfers:resumeAll': () => this.queue?.resumeAll(),
    'transfers:cancelAll': () => this.queue?.cancelAll(),
    'transfers:clear': () => this.queue?.clear(true),
    'transfers:list': () => this.queue?.list() ?? [],
    'transfers:resolveConflict': (conflictId, decision, applyToAll) => this.resolveConflict(conflictId, decision, applyToAll),
    'exec:run': (command) => this.runCommand(command),
    'exec:cancel': (execId) => {
      const controller = this.execs.get(execId);
      if (!controller) throw new FerryError('ENOENT', `No command "${execId}" is running.`);
      controller.abort();
    },
    'history:get': () => this.history.get(this.historyKey),
    'history:add': (command) => this.history.add(this.historyKey, command),
    'settings:get': () => this.settings.get(),
    'settings:set': async (change) => {
      const settings = await this.settings.set(change);
      // As many data connections as files moving at once: no more sockets than that, no fewer.
      this.session?.setDataConnections(settings.concurrency);
      this.queue?.setConcurrency(settings.concurrency);
      return settings;
    },
  };

  // ---- connecting ----------------------------------------------------------------------------

  private async localProfile(local: LocalServerHandle): Promise<Profile> {
    try {
      await local.start();
    } catch {
      // Listed anyway (with the last port known): connecting to it says what went wrong.
    }
    const { user, port } = local.describe();
    return { id: LOCAL_PROFILE_ID, name: LOCAL_PROFILE_NAME, host: '127.0.0.1', port: port ?? 0, user, remembered: true, local: true };
  }

  /** Start (if needed) the local server for a connect to the "Local server" profile. */
  private async startLocal(generation: number): Promise<LocalServerInfo> {
    const local = this.options.localServer;
    if (!local) throw new FerryError('ENOENT', 'There is no local server in this Ferry (it runs in the desktop app and `npm start`).');
    this.setState({ state: 'connecting' });
    try {
      return await local.start();
    } catch (err) {
      const error = toFerryError(err, 'EIO');
      if (generation === this.generation) this.setState({ state: 'disconnected', error: error.toInfo() });
      throw error;
    }
  }

  private async connect(request: ConnectInput): Promise<ConnectResult> {
    if (this.session || this.state.state !== 'disconnected') await this.closeSession();
    const generation = ++this.generation;
    // The local server's address, account and key come from the server itself, not the form.
    const local = request.profileId === LOCAL_PROFILE_ID ? await this.startLocal(generation) : undefined;
    if (generation !== this.generation) throw new FerryError('ECANCELED', 'This connection attempt was replaced or cancelled.');
    const input: ConnectInput = local ? { host: local.host, port: local.port, user: local.user, profileId: LOCAL_PROFILE_ID } : request;
    const hostPort = `${input.host}:${input.port}`; // the same spelling as the CLI's known_hosts
    const plain = input.plain ?? false;

    const remembered = input.profileId === undefined || local ? undefined : await this.profiles.get(input.profileId);
    if (input.profileId !== undefined && !local && remembered === undefined) {
      throw new FerryError('ENOENT', `There is no saved connection with the id "${input.profileId}".`);
    }
    const sameTarget =
      remembered !== undefined &&
      remembered.profile.host.toLowerCase() === input.host.toLowerCase() &&
      remembered.profile.port === input.port &&
      remembered.profile.user === input.user;

    let credential: ClientCredential;
    let usingRemembered = false;
    if (local) {
      credential = { keys: local.keys };
    } else if (input.password !== undefined && input.password !== '') {
      credential = { password: input.password };
    } else if (remembered?.secret !== undefined) {
      // The keys only ever go to the server they were made for.
      if (!sameTarget) throw new FerryError('EAUTH', 'Enter the password: the remembered login belongs to the saved server and user, not these.');
      if (!this.options.secretStore?.available) {
        throw new FerryError('EAUTH', 'Enter the password: remembered logins cannot be read here (no secure storage).');
      }
      credential = { keys: openKeys(this.options.secretStore, remembered.secret) };
      usingRemembered = true;
    } else {
      throw new FerryError('EAUTH', 'Enter the password (no login is remembered for this connection).');
    }

    this.setState({ state: 'connecting' });
    let hostKey: ConnectResult | undefined;
    let established = false;
    const settings = await this.settings.get();
    let session: RemoteSession;
    try {
      session = await RemoteSession.connect({
        host: input.host,
        port: input.port,
        plain,
        user: input.user,
        credential,
        dataConnections: settings.concurrency,
        ...(this.options.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
        // Called for the control connection, every data connection and every reconnect.
        verifyHostKey: async (fingerprint) => {
          if (local) {
            // Our own server told us its key: anything else on that port is not it.
            if (fingerprint === local.fingerprint) return;
            throw hostKeyChangedError(hostPort, local.fingerprint, fingerprint);
          }
          const check = await this.knownHosts.check(hostPort, fingerprint);
          if (check.kind === 'known') return;
          if (established) {
            if (check.kind === 'changed') throw hostKeyChangedError(hostPort, check.expected, fingerprint);
            throw new FerryError('EHOSTKEY', `The key of ${hostPort} is no longer recorded as trusted: connect again to check it.`);
          }
          // Stop before logging in: the person decides, then calls hosts:trust and connects again.
          hostKey =
            check.kind === 'new'
              ? { kind: 'hostkey-new', hostPort, fingerprint }
              : { kind: 'hostkey-changed', hostPort, fingerprint, expected: check.expected };
          throw new FerryError('EHOSTKEY', 'the host key must be confirmed first');
        },
      });
    } catch (err) {
      if (generation !== this.generation) throw new FerryError('ECANCELED', 'This connection attempt was replaced or cancelled.');
      if (hostKey !== undefined) {
        this.setState({ state: 'disconnected' });
        return hostKey;
      }
      let error = protocolMismatch(toFerryError(err, 'ECONN'), hostPort, plain);
      if (error.code === 'EAUTH' && usingRemembered && remembered) {
        await this.profiles.setSecret(remembered.profile.id, undefined);
        error = new FerryError('EAUTH', 'The remembered login was refused (was the password changed?): enter the password.');
      }
      this.log(`connect ${input.user}@${hostPort} failed: ${error.code} ${error.message}`);
      this.setState({ state: 'disconnected', error: error.toInfo() });
      throw error;
    }
    if (generation !== this.generation || this.disposed) {
      session.close();
      throw new FerryError('ECANCELED', 'This connection attempt was replaced or cancelled.');
    }
    established = true;

    if (remembered && input.remember === true) {
      if (!sameTarget) this.log('not remembering the login: it differs from the saved connection');
      else if (!this.options.secretStore?.available) this.log('not remembering the login: no secure storage on this system');
      else if (session.keys) await this.profiles.setSecret(remembered.profile.id, sealKeys(this.options.secretStore, session.keys));
    } else if (remembered && input.remember === false && remembered.secret !== undefined) {
      await this.profiles.setSecret(remembered.profile.id, undefined);
    }

    this.session = session;
    this.profileId = input.profileId ?? null;
    this.target = { host: input.host, port: input.port };
    this.previousCwd = undefined;
    this.historyKey = input.profileId !== undefined ? `profile:${input.profileId}` : `${input.user}@${hostPort}`.toLowerCase();
    this.startQueue(session, settings.concurrency);
    session.onDisconnect((err) => void this.reconnectLoop(generation, session, err));
    this.log(`connected ${input.user}@${hostPort}`);
    const info = this.sessionInfo();
    this.setState({ state: 'connected', session: info });
    return { kind: 'connected', session: info };
  }

  private startQueue(session: RemoteSession, concurrency: number): void {
    const old = this.queue;
    this.unsubscribeQueue?.();
    if (old) {
      const ids = old.list().map((t) => t.id);
      if (ids.length > 0) this.emit('transfers:event', { kind: 'removed', ids });
    }
    this.reportedUploads.clear();
    const queue = new TransferQueue(session, {
      concurrency,
      conflict: 'ask',
      resolveConflict: (conflict, signal) => this.askConflict(conflict, signal),
      ...(this.options.progressIntervalMs !== undefined ? { progressIntervalMs: this.options.progressIntervalMs } : {}),
    });
    this.queue = queue;
    this.unsubscribeQueue = queue.on((event) => this.onQueueEvent(event));
  }

  /** The control connection dropped: log in again (with the session's keys) with backoff. */
  private async reconnectLoop(generation: number, session: RemoteSession, cause: FerryError | undefined): Promise<void> {
    const delays = this.options.reconnectDelaysMs ?? DEFAULT_DELAYS;
    const attempts = this.options.reconnectAttempts ?? 20;
    let error: ErrorInfo = (cause ?? new FerryError('ECONN', 'The connection was lost.')).toInfo();
    this.log(`connection to ${session.host} lost: ${error.message}`);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (generation !== this.generation) return;
      this.setState({ state: 'reconnecting', attempt, error, session: this.sessionInfo() });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delays[Math.min(attempt - 1, delays.length - 1)] ?? 1000);
        this.reconnectWake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.reconnectWake = undefined;
      if (generation !== this.generation) return;
      try {
        // Our own server may have stopped: start it again (on the same port when it can).
        if (this.profileId === LOCAL_PROFILE_ID) await this.options.localServer?.start();
        await session.reconnect();
        if (generation !== this.generation) return;
        this.log(`reconnected to ${session.host}`);
        this.setState({ state: 'connected', session: this.sessionInfo() });
        return;
      } catch (err) {
        const e = toFerryError(err, 'ECONN');
        error = e.toInfo();
        // Waiting will not fix these.
        if (e.code === 'EAUTH' || e.code === 'EHOSTKEY' || e.code === 'ECANCELED' || e.code === 'EPROTO') break;
      }
    }
    if (generation !== this.generation) return;
    this.log(`giving up reconnecting to ${session.host}: ${error.message}`);
    await this.closeSession();
    this.setState({ state: 'disconnected', error });
  }

  /** End the current session (if any): cancel transfers and commands, answer open questions. */
  private async closeSession(): Promise<void> {
    this.generation++;
    this.reconnectWake?.();
    const session = this.session;
    const queue = this.queue;
    this.session = undefined;
    for (const controller of this.execs.values()) controller.abort();
    if (queue) {
      queue.close();
      // Let running transfers see their abort (so no spooled file is in use), then report it.
      const settled = queue.idle();
      await Promise.race([settled, new Promise((r) => setTimeout(r, 5000).unref())]);
      queue.flush();
    }
    session?.close();
    await this.releaseOwned(true);
  }

  private sessionInfo(): SessionInfo {
    const session = this.session;
    if (!session) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    const { host, port } = this.target;
    return { host, port, user: session.user, cwd: session.cwd, fingerprint: session.fingerprint, profileId: this.profileId };
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.emit('session:state', state);
  }

  private requireSession(): RemoteSession {
    if (!this.session) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    if (this.state.state === 'reconnecting') {
      throw new FerryError('ECONN', `The connection to ${this.session.host} was lost; reconnecting (attempt ${this.state.attempt}).`);
    }
    return this.session;
  }

  private requireQueue(): TransferQueue {
    this.requireSession();
    return this.queue!;
  }

  // ---- files ---------------------------------------------------------------------------------

  private resolve(p: string): string {
    return path.posix.resolve(this.session?.cwd ?? '/', p);
  }

  private parentOf(p: string): string {
    return path.posix.dirname(this.resolve(p));
  }

  private async changeDir(p: string): Promise<string> {
    const session = this.requireSession();
    const before = session.cwd;
    const cwd = await session.cd(p);
    if (cwd !== before) this.previousCwd = before;
    this.setState({ state: 'connected', session: this.sessionInfo() });
    return cwd;
  }

  private async remove(paths: readonly string[]): Promise<void> {
    const session = this.requireSession();
    let done = 0;
    try {
      for (const p of paths) {
        await session.remove(p, true);
        this.markChanged(this.parentOf(p));
        done++;
      }
    } catch (err) {
      const e = toFerryError(err);
      if (paths.length === 1) throw e;
      throw new FerryError(e.code, `${e.message} (${paths[done]}; ${done} of ${paths.length} deleted before it)`, e.details);
    }
  }

  /** Collect folders whose contents changed and report them together, a little later. */
  private markChanged(...folders: string[]): void {
    for (const f of folders) this.changed.add(f);
    if (this.changedTimer !== undefined) return;
    this.changedTimer = setTimeout(() => {
      this.changedTimer = undefined;
      const paths = [...this.changed];
      this.changed.clear();
      if (paths.length > 0 && !this.disposed) this.emit('fs:changed', { paths });
    }, this.options.fsChangedDelayMs ?? 300);
    this.changedTimer.unref?.();
  }

  // ---- transfers ---------------------------------------------------------------------------

  /** The queue holding transfer `id` (connected or reconnecting). */
  private queueOf(id: string): TransferQueue {
    const queue = this.queue;
    if (!queue?.get(id as TransferId)) throw new FerryError('ENOENT', `There is no transfer "${id}" (it may have been cleared).`);
    return queue;
  }

  private onQueueEvent(event: TransferEvent): void {
    this.emit('transfers:event', event);
    if (event.kind === 'updated') {
      for (const t of event.transfers) {
        if (t.direction === 'upload' && t.state === 'done' && !this.reportedUploads.has(t.id)) {
          this.reportedUploads.add(t.id);
          this.markChanged(this.parentOf(t.remotePath));
        }
      }
    } else if (event.kind === 'removed') {
      for (const id of event.ids) this.reportedUploads.delete(id);
    }
    if (this.owned.length > 0) void this.releaseOwned(false);
  }

  async uploadSpooled(localPaths: readonly string[], remoteDir: string, release: () => Promise<void>): Promise<Result<TransferView[]>> {
    let views: TransferView[];
    try {
      if (this.disposed) throw new FerryError('ECANCELED', 'This window or tab was closed.');
      views = await this.requireQueue().upload(localPaths, remoteDir);
    } catch (err) {
      await release().catch(() => undefined);
      return { ok: false, error: toFerryError(err).toInfo() };
    }
    this.markChanged(this.parentOf(remoteDir), this.resolve(remoteDir));
    this.owned.push({ ids: new Set(views.map((v) => v.id)), release, released: false });
    await this.releaseOwned(false);
    return { ok: true, value: views };
  }

  /** Release owned local files nobody can need any more (all of them with `all`). */
  private async releaseOwned(all: boolean): Promise<void> {
    const queue = this.queue;
    const ready = this.owned.filter(
      (o) =>
        !o.released &&
        (all ||
          [...o.ids].every((id) => {
            const state = queue?.get(id)?.state;
            // Failed and cancelled rows keep their files: they offer Retry until cleared.
            return state === undefined || state === 'done' || state === 'skipped';
          })),
    );
    for (const o of ready) {
      o.released = true;
      this.owned.splice(this.owned.indexOf(o), 1);
      await o.release().catch((err) => this.log(`could not remove spooled files: ${(err as Error).message}`));
    }
  }

  /** Ask the window; the queue withdraws the question (signal) when it no longer matters. */
  private askConflict(conflict: Conflict, signal: AbortSignal): Promise<{ decision: ConflictDecision; applyToAll: boolean }> {
    if (this.disposed) return Promise.resolve({ decision: 'skip', applyToAll: false });
    const conflictId = `c${randomBytes(6).toString('hex')}`;
    return new Promise((resolve) => {
      const withdraw = (): void => {
        if (!this.conflicts.delete(conflictId)) return;
        if (!this.disposed) this.emit('transfers:conflictWithdrawn', { conflictId });
      };
      signal.addEventListener('abort', withdraw, { once: true });
      this.conflicts.set(conflictId, {
        batch: conflict.batch,
        resolve: (answer) => {
          signal.removeEventListener('abort', withdraw);
          resolve(answer);
        },
      });
      this.emit('transfers:conflict', { conflictId, transfer: conflict.transfer, existing: conflict.existing, batch: conflict.batch });
    });
  }

  private resolveConflict(conflictId: string, decision: ConflictDecision, applyToAll: boolean): void {
    const pending = this.conflicts.get(conflictId);
    if (!pending) throw new FerryError('ENOENT', `No question "${conflictId}" is waiting for an answer.`);
    this.conflicts.delete(conflictId);
    pending.resolve({ decision, applyToAll });
    if (applyToAll) {
      // Questions already asked for other files of the same drop get the same answer.
      for (const [id, other] of this.conflicts) {
        if (other.batch !== pending.batch) continue;
        this.conflicts.delete(id);
        other.resolve({ decision, applyToAll: true });
      }
    }
  }

  // ---- console -----------------------------------------------------------------------------

  private runCommand(command: string): string {
    const session = this.requireSession();
    const execId = `x${randomBytes(6).toString('hex')}`;
    const controller = new AbortController();
    this.execs.set(execId, controller);
    void this.execute(session, execId, command, controller.signal).finally(() => this.execs.delete(execId));
    return execId;
  }

  private async execute(session: RemoteSession, execId: string, line: string, signal: AbortSignal): Promise<void> {
    const output = new ExecOutput((stream, data) => this.emit('exec:output', { execId, stream, data }));
    let code: number | null = 0;
    let exitSignal: string | null = null;
    let error: ErrorInfo | undefined;
    // Start after the call's result (the execId) is on its way to the UI, so no event
    // names an execId the UI has not seen yet.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      const parsed = parseConsoleCommand(line);
      let remote: string | undefined;
      if (parsed.kind === 'unsupported') {
        output.text('stderr', `${parsed.message}\n`);
        code = 1;
      } else if (parsed.kind === 'remote') {
        remote = parsed.command;
      } else {
        try {
          const target = parsed.target === '-' ? (this.previousCwd ?? session.cwd) : parsed.target;
          await this.changeDir(target);
          if (parsed.target === '-') output.text('stdout', `${session.cwd}\n`);
          remote = parsed.rest?.command;
        } catch (err) {
          const e = toFerryError(err);
          if (e.code === 'ECONN') throw e;
          output.text('stderr', `cd: ${parsed.target}: ${e.message}\n`);
          code = 1;
          remote = parsed.rest?.when === 'always' ? parsed.rest.command : undefined;
        }
      }
      signal.throwIfAborted();
      if (remote !== undefined) {
        const exit = await session.exec(remote, (stream, chunk) => output.bytes(stream, chunk), { signal });
        code = exit.code;
        exitSignal = exit.signal;
        // The command may have changed files in its folder.
        this.markChanged(session.cwd);
      }
    } catch (err) {
      const e = signal.aborted ? new FerryError('ECANCELED', 'The command was cancelled.') : toFerryError(err);
      const details = toFerryError(err).details;
      code = typeof details?.code === 'number' ? details.code : null;
      exitSignal = typeof details?.signal === 'string' ? details.signal : null;
      error = e.toInfo();
      if (e.code === 'ECANCELED' || e.code === 'ETIMEDOUT' || e.code === 'ETOOBIG') this.markChanged(session.cwd);
    }
    output.end();
    if (this.disposed) return;
    this.emit('exec:exit', { execId, code, signal: exitSignal, ...(error ? { error } : {}), cwd: session.cwd });
  }

  // ---- lifetime ------------------------------------------------------------------------------

  async downloadedFiles(transferIds: readonly string[]): Promise<string[]> {
    const queue = this.queue;
    if (!queue) return [];
    const files: string[] = [];
    for (const id of new Set(transferIds)) {
      const view = queue.get(id as TransferId);
      if (!view || view.direction !== 'download' || view.state !== 'done') continue;
      const info = await stat(view.localPath).catch(() => null);
      if (info?.isFile()) files.push(view.localPath);
    }
    return files;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.closeSession();
    clearTimeout(this.changedTimer);
    this.changedTimer = undefined;
    this.unsubscribeQueue?.();
    this.listeners.clear();
  }
}

/**
 * Console output as text: one streaming UTF-8 decoder per stream (a character split
 * across chunks stays whole), and chunks gathered for a few ms so a chatty command sends
 * a few dozen events a second, not one per pipe read.
 */
class ExecOutput {
  private readonly decoders = { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
  private pending: Array<{ stream: ExecStream; data: string }> = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (stream: ExecStream, data: string) => void) {}

  bytes(stream: ExecStream, chunk: Uint8Array): void {
    this.text(stream, this.decoders[stream].decode(chunk, { stream: true }));
  }

  text(stream: ExecStream, data: string): void {
    if (data === '') return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream) last.data += data;
    else this.pending.push({ stream, data });
    this.size += data.length;
    if (this.size >= OUTPUT_FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
      this.timer.unref?.();
    }
  }

  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) this.text(stream, this.decoders[stream].decode());
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    this.pending = [];
    this.size = 0;
    for (const p of pending) this.send(p.stream, p.data);
  }
}

function builtIn(): FerryError {
  return new FerryError('EINVAL', `The "${LOCAL_PROFILE_NAME}" profile is built in: it cannot be changed or removed.`);
}

/**
 * A peer that is not a ferryd (or one that expects TLS when we speak plain, or the
 * reverse) fails in the frame decoder or the TLS handshake: say so in words a person
 * can act on, as EPROTO.
 */
function protocolMismatch(error: FerryError, hostPort: string, plain: boolean): FerryError {
  // (A TLS handshake cut off before it starts is left as ECONN: that is also how a busy
  // server refuses a connection.)
  const tlsFailure = error.code === 'ECONN' && /SSL routines|wrong version number/i.test(error.message);
  // A TLS server closes on a plain client's first frame without a word.
  const silentClose = plain && error.code === 'ECONN' && error.message === 'the server closed the connection';
  if (error.code !== 'ETOOBIG' && !tlsFailure && !silentClose) return error;
  return new FerryError(
    'EPROTO',
    plain
      ? `${hostPort} did not answer like a Ferry server without encryption: check the port, and turn off "No encryption" unless the server runs with --plain.`
      : `${hostPort} did not answer like a Ferry server over TLS: check the port, and turn on "No encryption" only if the server runs with --plain.`,
  );
}

