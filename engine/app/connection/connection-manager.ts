/**
 * The connection of one front end: connect (credentials, host keys, the local server),
 * the state the UI shows ('session:state'), the session's folder, reconnects after a
 * drop, and disconnect. The session is a Remote of either protocol (open-remote.ts
 * chooses). What lives as long as a session (the queue, the console's commands, spooled
 * files) is started and stopped through SessionHooks.
 */
import path from 'node:path';
import { ENGINE_DEFAULT_CHECK, type CheckAlgorithm } from '../../../shared/common/checks.js';
import type { ConnectInput, ConnectResult, ConnectionState, SessionInfo } from '../../../shared/common/contract.js';
import { FerryError, toFerryError, type ErrorInfo } from '../../../shared/common/errors.js';
import type { Remote } from '../../remote/remote.js';
import { checkFor } from '../../queue/transfers.js';
import type { BackendOptions, Emit } from '../backend-types.js';
import type { ConsoleConnection } from '../console/console-session.js';
import type { LocalServerInfo } from '../local-server/local-server.js';
import type { KnownHosts } from '../stores/known-hosts.js';
import type { ProfileStore } from '../stores/profile-store.js';
import type { SettingsStore } from '../stores/settings-store.js';
import { chooseLogin, protocolMismatch, refusedLogin, updateRememberedLogin } from './credentials.js';
import { HostKeyGate } from './host-key-gate.js';
import { LOCAL_PROFILE_ID, noLocalServer } from './local-profile.js';
import { openRemote, type Opened } from './open-remote.js';
import { ReconnectLoop } from './reconnect-loop.js';

export interface SessionHooks {
  /** A new login: start what lives as long as the session. */
  started(session: Remote, concurrency: number, check: CheckAlgorithm): void;
  /** The session ends: stop what runs on it (awaited before its connections close). */
  closing(): Promise<void>;
  /** The session's connections are closed. */
  closed(): Promise<void>;
}

export interface ConnectionStores {
  readonly profiles: ProfileStore;
  readonly settings: SettingsStore;
  readonly knownHosts: KnownHosts;
}

function replaced(): FerryError {
  return new FerryError('ECANCELED', 'This connection attempt was replaced or cancelled.');
}

export class ConnectionManager implements ConsoleConnection {
  private state: ConnectionState = { state: 'disconnected' };
  /** The check transfers ask for (Settings.checkSha256). */
  private askedCheck: CheckAlgorithm = ENGINE_DEFAULT_CHECK;
  private session: Remote | undefined;
  private profileId: string | null = null;
  private target: { host: string; port: number; home: string } = { host: '', port: 0, home: '/' };
  /** Bumped by every connect and disconnect: late results of an older one are dropped. */
  private generation = 0;
  private cwdBefore: string | undefined;
  private history = 'default';
  private disposed = false;
  private readonly reconnects: ReconnectLoop;

  constructor(
    private readonly options: BackendOptions,
    private readonly stores: ConnectionStores,
    private readonly hooks: SessionHooks,
    private readonly emit: Emit,
    private readonly log: (line: string) => void,
  ) {
    this.reconnects = new ReconnectLoop(options.reconnectDelaysMs, options.reconnectAttempts);
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** The check asked for (the setting): a connected session's info says the one its transfers make. */
  setCheck(check: CheckAlgorithm): void {
    this.askedCheck = check;
    if (this.state.state === 'connected') this.setState({ state: 'connected', session: this.sessionInfo() });
  }

  /** The session, connected or reconnecting (row controls and settings work in both). */
  get current(): Remote | undefined {
    return this.session;
  }

  get previousCwd(): string | undefined {
    return this.cwdBefore;
  }

  /** Where this connection's console history is kept: per profile, else per user@host:port. */
  get historyKey(): string {
    return this.history;
  }

  /** The saved profile this session was opened from, if any. */
  get sessionProfileId(): string | null {
    return this.profileId;
  }

  /** The session, if it can be used now (not while reconnecting). */
  requireSession(): Remote {
    if (!this.session) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    if (this.state.state === 'reconnecting') {
      throw new FerryError('ECONN', `The connection to ${this.session.host} was lost; reconnecting (attempt ${this.state.attempt}).`);
    }
    return this.session;
  }

  /** `p` as an absolute remote path (relative ones are in the session's folder). */
  resolve(p: string): string {
    return path.posix.resolve(this.session?.cwd ?? '/', p);
  }

  async changeDir(p: string): Promise<string> {
    const session = this.requireSession();
    const before = session.cwd;
    const cwd = await session.cd(p);
    if (cwd !== before) this.cwdBefore = before;
    this.setState({ state: 'connected', session: this.sessionInfo() });
    return cwd;
  }

  async connect(request: ConnectInput): Promise<ConnectResult> {
    if (this.session || this.state.state !== 'disconnected') await this.closeSession();
    const generation = ++this.generation;
    // The local server's address, account and key come from the server itself, not the form.
    const local = request.profileId === LOCAL_PROFILE_ID ? await this.startLocal(generation) : undefined;
    if (generation !== this.generation) throw replaced();
    const input: ConnectInput = local
      ? { protocol: 'ferry', host: local.host, port: local.port, user: local.user, profileId: LOCAL_PROFILE_ID }
      : request;
    const hostPort = `${input.host}:${input.port}`; // the same spelling as the CLI's known_hosts
    const plain = input.plain ?? false;
    const { profiles, settings: settingsStore, knownHosts } = this.stores;
    const chosen = await chooseLogin(input, local, profiles, this.options.secretStore);

    this.setState({ state: 'connecting' });
    // Both protocols ask the same gate, with the same host:port: over SFTP it is asked only
    // for a key that ~/.ssh/known_hosts does not decide.
    const gate = new HostKeyGate(knownHosts, hostPort, local);
    const settings = await settingsStore.get();
    let opened: Opened;
    try {
      opened = await openRemote({
        input,
        login: chosen.login,
        verifyHostKey: gate.verify,
        dataConnections: settings.concurrency,
        connectTimeoutMs: this.options.connectTimeoutMs,
        ssh: this.options.ssh,
      });
    } catch (err) {
      if (generation !== this.generation) throw replaced();
      if (gate.question !== undefined) {
        this.setState({ state: 'disconnected' });
        return gate.question;
      }
      const cause = toFerryError(err, 'ECONN');
      const error = await refusedLogin(input.protocol === 'ferry' ? protocolMismatch(cause, hostPort, plain) : cause, chosen, profiles);
      this.log(`connect ${input.protocol} ${input.user}@${hostPort} failed: ${error.code} ${error.message}`);
      this.setState({ state: 'disconnected', error: error.toInfo() });
      throw error;
    }
    const session = opened.remote;
    if (generation !== this.generation || this.disposed) {
      session.close();
      throw replaced();
    }
    gate.loggedIn();
    await updateRememberedLogin(chosen, input.remember, opened.keys, profiles, this.options.secretStore, this.log);

    this.session = session;
    this.profileId = input.profileId ?? null;
    // The folder a session starts in is its home ('/' for Ferry, the account's over SFTP).
    this.target = { host: input.host, port: input.port, home: session.cwd };
    this.cwdBefore = undefined;
    this.history = input.profileId !== undefined ? `profile:${input.profileId}` : `${input.user}@${hostPort}`.toLowerCase();
    this.askedCheck = settings.checkSha256 ? 'sha256' : ENGINE_DEFAULT_CHECK;
    this.hooks.started(session, settings.concurrency, this.askedCheck);
    session.onDisconnect((err) => void this.reconnect(generation, session, err));
    this.log(`connected ${input.protocol} ${input.user}@${hostPort}`);
    const info = this.sessionInfo();
    this.setState({ state: 'connected', session: info });
    return { kind: 'connected', session: info };
  }

  async disconnect(): Promise<void> {
    await this.closeSession();
    this.setState({ state: 'disconnected' });
  }

  /** The front end went away: end the session without telling it. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.closeSession();
  }

  /** Start (if needed) the local server for a connect to the "Local server" profile. */
  private async startLocal(generation: number): Promise<LocalServerInfo> {
    const local = this.options.localServer;
    if (!local) throw noLocalServer();
    this.setState({ state: 'connecting' });
    try {
      return await local.start();
    } catch (err) {
      const error = toFerryError(err, 'EIO');
      if (generation === this.generation) this.setState({ state: 'disconnected', error: error.toInfo() });
      throw error;
    }
  }

  /** The connection dropped: log in again (Ferry: with the session's keys) with backoff. */
  private async reconnect(generation: number, session: Remote, cause: FerryError | undefined): Promise<void> {
    this.log(`connection to ${session.host} lost: ${cause?.message ?? 'The connection was lost.'}`);
    const outcome = await this.reconnects.run(session, cause, {
      current: () => generation === this.generation,
      waiting: (attempt, error: ErrorInfo) => this.setState({ state: 'reconnecting', attempt, error, session: this.sessionInfo() }),
      // Our own server may have stopped: start it again (on the same port when it can).
      beforeAttempt: async () => (this.profileId === LOCAL_PROFILE_ID ? this.options.localServer?.start() : undefined),
    });
    if (outcome.kind === 'reconnected') {
      this.log(`reconnected to ${session.host}`);
      this.setState({ state: 'connected', session: this.sessionInfo() });
    } else if (outcome.kind === 'gave-up') {
      this.log(`giving up reconnecting to ${session.host}: ${outcome.error.message}`);
      await this.closeSession();
      this.setState({ state: 'disconnected', error: outcome.error });
    }
  }

  /** End the current session (if any): what runs on it stops, open questions are withdrawn. */
  private async closeSession(): Promise<void> {
    this.generation++;
    this.reconnects.wake();
    const session = this.session;
    this.session = undefined;
    await this.hooks.closing();
    session?.close();
    await this.hooks.closed();
  }

  private sessionInfo(): SessionInfo {
    const session = this.session;
    if (!session) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    const { host, port, home } = this.target;
    const { quota, serverHash } = session.capabilities;
    return {
      protocol: session.protocol,
      host,
      port,
      user: session.user,
      cwd: session.cwd,
      home,
      fingerprint: session.fingerprint,
      profileId: this.profileId,
      quota,
      check: serverHash ? checkFor(session, this.askedCheck) : 'size',
    };
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.emit('session:state', state);
  }
}
