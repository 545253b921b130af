/**
 * A logged-in session with one ferryd: a control connection for browsing and commands,
 * plus a small pool of data connections (attached with the session ticket) that carry
 * transfers, so a running upload never sits in front of a listing or a command.
 */
import { posix } from 'node:path';
import { CHECK_NAMES, type CheckAlgorithm } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import {
  Df,
  Entry,
  EntryList,
  HashOk,
  LIST_PAGE_BYTES,
  LIST_PAGE_MAX,
  ListOk,
  WalkOk,
  type ExecExit,
  type ExecStream,
  type UploadInfo,
  type UserInfo,
} from '../../shared/common/messages.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import type { ClientCredential, ScramClientKeys } from '../../shared/node/scram.js';
import { ClientConnection, type LoginResult } from './client-connection.js';
import { parse, replyDigest } from './replies.js';
import type { ConnectOptions } from './dial.js';
import { LanePool } from '../remote/lane-pool.js';
import { LISTING_MAX, byName, listingTooBig, type FileHash, type Remote, type RemoteCapabilities, type SearchRequest, type WalkPage } from '../remote/remote.js';
import type { SearchBatch } from '../../shared/common/search-model.js';
import { WalkChecker } from './walk-records.js';
import { checkChmodMode } from '../../shared/common/permissions.js';
import { findOn } from './find-request.js';
import { searchTree } from '../remote/tree-search.js';

/** A page of a listing as the client accepts it (built once: zod compiles a schema on its first use). */
const LIST_PAGE = EntryList.max(LIST_PAGE_MAX);

export interface SessionOptions extends ConnectOptions {
  readonly user: string;
  readonly credential: ClientCredential;
  /** Data connections opened for transfers (default 4). */
  readonly dataConnections?: number;
  /**
   * Data connections to open alongside the login, for a caller that is about to transfer
   * (the CLI's put and get): they are dialled and greeted while the login runs and attach
   * as soon as it is done, instead of one after the other when the first file needs them.
   * At most `dataConnections`; default 0 (opened on demand).
   */
  readonly warmDataConnections?: number;
  /** The most one listing may bring (default LISTING_MAX). */
  readonly listingMax?: { readonly entries: number; readonly bytes: number };
}


/** How long the usage sent with the login stands in for a df request. */
const LOGIN_DF_FRESH_MS = 1000;

/** Ferry's protocol behind the engine's Remote: every capability, data connections as lanes. */
export class RemoteSession implements Remote {
  readonly protocol = 'ferry' as const;
  private control: ClientConnection;
  private readonly pool: LanePool<ClientConnection>;
  private closed = false;
  private closeListeners = new Set<(err: FerryError | undefined) => void>();
  /** The login in progress after a drop, shared by everyone who needs it. */
  private reconnecting: Promise<void> | undefined;
  /** The usage the login's reply gave, kept for the first df() right after it. */
  private loginDf: { readonly df: Df; readonly at: number } | undefined;
  /** False once the server turned out not to know whole-file reads (an older ferryd). */
  private wholeReads = true;
  /** False once the server turned out not to know `walk` (an older ferryd). */
  private treeWalks = true;
  /** False once the server turned out not to know `find` (an older ferryd): the engine walks instead. */
  private finds = true;

  private constructor(
    private readonly options: SessionOptions,
    control: ClientConnection,
    public user: UserInfo,
    public cwd: string,
    private sessionId: string,
    private ticket: string,
    /** Keys to log in again without the password (kept in memory; stored only if asked). */
    public keys: ScramClientKeys | undefined,
  ) {
    this.control = control;
    // Idle connections are closed politely when the pool shrinks or the session ends.
    this.pool = new LanePool((signal) => this.openData(signal), options.dataConnections ?? 4, undefined, (c) => c.close());
    this.watch(control);
  }

  static async connect(options: SessionOptions): Promise<RemoteSession> {
    const warm = Math.min(options.warmDataConnections ?? 0, options.dataConnections ?? 4);
    // The early data connections trust exactly the key the control connection accepted
    // (asked once, not once per connection), and send nothing before it is accepted.
    let accepted!: (fingerprint: string) => void;
    let refused!: (err: unknown) => void;
    const controlKey = new Promise<string>((resolve, reject) => {
      accepted = resolve;
      refused = reject;
    });
    controlKey.catch(() => undefined);
    const controlOptions: SessionOptions =
      warm > 0
        ? {
            ...options,
            verifyHostKey: async (fingerprint) => {
              try {
                await options.verifyHostKey?.(fingerprint);
              } catch (err) {
                refused(err);
                throw err;
              }
              accepted(fingerprint);
            },
          }
        : options;
    // The control connection is dialled first, then the data connections.
    const controlLogin = ClientConnection.openAndLogin(controlOptions, options.user, options.credential);
    controlLogin.catch(() => undefined);
    const early = Array.from({ length: warm }, () =>
      ClientConnection.open({
        ...options,
        connectAttempts: 1,
        verifyHostKey: async (fingerprint) => {
          if (fingerprint !== (await controlKey)) throw new FerryError('EHOSTKEY', 'the server answered with another key on a second connection');
        },
      }).catch(() => null),
    );
    let opened: { conn: ClientConnection; login: LoginResult };
    try {
      opened = await controlLogin;
    } catch (err) {
      refused(err);
      for (const pending of early) void pending.then((conn) => conn?.destroy());
      throw err;
    }
    const { conn: control, login } = opened;
    const session = new RemoteSession(options, control, login.user, login.cwd, login.session, login.ticket, login.keys);
    if (login.df) session.loginDf = { df: login.df, at: Date.now() };
    session.pool.warm(early.map((pending) => pending.then((conn) => (conn ? session.attachData(conn).catch(() => null) : null))));
    return session;
  }

  get host(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get fingerprint(): string | null {
    return this.control.fingerprint;
  }

  get capabilities(): RemoteCapabilities {
    return { serverHash: true, checks: this.control.serverChecks, wholeFiles: this.wholeReads, quota: true, exec: this.user.exec, resume: true, listedHashes: true };
  }

  get connected(): boolean {
    return !this.closed && !this.control.closed;
  }

  /** Notified when the control connection drops (not on close()). */
  onDisconnect(listener: (err: FerryError | undefined) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private watch(control: ClientConnection): void {
    control.onClose((err) => {
      if (this.closed || control !== this.control) return;
      for (const l of this.closeListeners) l(err ?? new FerryError('ECONN', 'the server closed the connection'));
    });
  }

  /**
   * Log in again after a dropped connection (with the keys from the first login, so no
   * password is needed) and keep the cwd.
   */
  reconnect(): Promise<void> {
    if (this.closed) return Promise.reject(new FerryError('ECANCELED', 'the session was closed'));
    if (!this.control.closed) return Promise.resolve();
    this.reconnecting ??= this.login().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  private async login(): Promise<void> {
    const credential: ClientCredential = this.keys ? { keys: this.keys } : this.options.credential;
    const { conn: control, login } = await ClientConnection.openAndLogin(this.options, this.options.user, credential);
    try {
      this.sessionId = login.session;
      this.ticket = login.ticket;
      this.keys = login.keys ?? this.keys;
      this.user = login.user;
      this.control = control;
      this.watch(control);
      // Data connections of the old session are useless now (and free their pool slots).
      this.pool.dropIdle();
      if (this.cwd !== '/') this.cwd = await this.cd(this.cwd).catch(() => '/');
    } catch (err) {
      control.close();
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.control.close();
    this.pool.close();
  }

  // ---- browsing ---------------------------------------------------------------------------

  /**
   * A whole folder, read a page at a time (see listPages) and sorted by name. What a server
   * can make this hold is bounded: past `listingMax` entries or bytes it stops with ETOOBIG.
   */
  async list(path = '.'): Promise<{ path: string; entries: Entry[] }> {
    const { entries: maxEntries, bytes: maxBytes } = this.options.listingMax ?? LISTING_MAX;
    const entries: Entry[] = [];
    let folder = path;
    let bytes = 0;
    for await (const page of this.listPages(path)) {
      folder = page.path;
      bytes += page.bytes;
      if (entries.length + page.entries.length > maxEntries || bytes > maxBytes) {
        throw listingTooBig(folder, { entries: maxEntries, bytes: maxBytes });
      }
      for (const entry of page.entries) entries.push(entry);
    }
    return { path: folder, entries: byName(entries) };
  }

  /**
   * A folder's listing as the server pages it (LIST_PAGE_MAX entries, LIST_PAGE_BYTES at
   * most each; each page sorted, the pages in the server's order). Stopping early leaves
   * the server's cursor to expire.
   */
  async *listPages(path = '.'): AsyncGenerator<{ path: string; entries: Entry[]; bytes: number }> {
    let cursor: string | undefined;
    do {
      const request = cursor === undefined ? { type: 'list', path, limit: LIST_PAGE_MAX } : { type: 'list', cursor, limit: LIST_PAGE_MAX };
      const { header, body } = await this.control.callWithBody(request, LIST_PAGE_BYTES);
      const ok = parse(ListOk, header, 'listing');
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8') || '[]');
      } catch {
        throw new FerryError('EPROTO', 'the server sent a listing that is not JSON');
      }
      const parsed = LIST_PAGE.safeParse(json);
      if (!parsed.success) throw new FerryError('EPROTO', 'the server sent a malformed listing');
      if (ok.next !== undefined && ok.next === cursor) throw new FerryError('EPROTO', 'the server sent the same listing cursor twice');
      cursor = ok.next;
      yield { path: ok.path, entries: parsed.data, bytes: body.length };
    } while (cursor !== undefined);
  }

  /**
   * Everything below `path`, walked by the server (`walk`), a page of records at a time,
   * each checked (walk-records.ts). The pages are asked for on a data connection, held
   * for the whole walk (a cursor belongs to its connection): browsing on the control
   * connection goes on meanwhile, and an older ferryd, which closes a connection on a
   * request it does not know, closes only that one (ENOTSUP, and list() is used since).
   */
  async *walk(path: string, signal?: AbortSignal): AsyncGenerator<WalkPage> {
    if (!this.treeWalks) throw new FerryError('ENOTSUP', 'this server cannot walk a tree (an older ferryd)');
    const lane = await this.acquire(signal);
    const ask = (request: Record<string, unknown>): Promise<{ header: FrameHeader; body: Buffer }> =>
      lane.callWithBody({ type: 'walk', ...request, limit: LIST_PAGE_MAX }, LIST_PAGE_BYTES);
    // Records may carry XXH3-128s only when asked for (an older client refuses them).
    let pending: Promise<{ header: FrameHeader; body: Buffer }> | null = ask({ path, ...(this.control.serverChecks.includes('xxh128') ? { checks: ['sha256', 'xxh128'] } : {}) });
    try {
      const checker = new WalkChecker();
      let cursor: string | null = null;
      let first = true;
      while (pending !== null) {
        signal?.throwIfAborted();
        let reply;
        try {
          reply = await pending;
        } catch (err) {
          const e = toFerryError(err);
          if (first && e.code === 'EPROTO' && /unknown request type/.test(e.message)) {
            this.treeWalks = false;
            throw new FerryError('ENOTSUP', 'this server cannot walk a tree (an older ferryd)');
          }
          throw e;
        }
        first = false;
        const ok: WalkOk = parse(WalkOk, reply.header, 'walk reply');
        if (ok.next !== null && ok.next === cursor) throw new FerryError('EPROTO', 'the server sent the same walk cursor twice');
        cursor = ok.next;
        // The next page is asked for before this one is checked and used: the server reads
        // it meanwhile.
        pending = cursor === null ? null : ask({ cursor });
        let json: unknown;
        try {
          json = JSON.parse(reply.body.toString('utf8') || '[]');
        } catch {
          throw new FerryError('EPROTO', 'the server sent a walk page that is not JSON');
        }
        yield { path: ok.path, records: checker.page(json, ok.count) };
      }
    } finally {
      // A page asked for and no longer wanted: its reply is read and dropped.
      pending?.catch(() => undefined);
      this.release(lane);
    }
  }

  /**
   * Names matching `pattern` below `path`, searched by the server (`find`, PROTOCOL.md 6.9)
   * on a data connection, so browsing goes on meanwhile. An older ferryd closes that
   * connection on a request it does not know: it is then searched by the engine, folder by
   * folder with list() (engine/remote/tree-search.ts), from then on.
   */
  async *search(path: string, pattern: string, request: SearchRequest = {}): AsyncGenerator<SearchBatch> {
    if (this.finds) {
      const lane = await this.acquire(request.signal);
      let given = false;
      try {
        for await (const batch of findOn(lane, path, pattern, request)) {
          given = true;
          yield batch;
        }
        return;
      } catch (err) {
        const e = toFerryError(err);
        if (given || e.code !== 'EPROTO' || !/unknown request type/.test(e.message)) throw e;
        this.finds = false;
      } finally {
        this.release(lane);
      }
    }
    const root = posix.resolve(this.cwd, path);
    yield* searchTree(async (folder) => (await this.list(folder)).entries, root, pattern, request);
  }

  /**
   * The server's SHA-256 of the file now (`hash`): the one it stored while the file is
   * unchanged since, else it reads the file (and stores the result for later listings).
   * Aborting `signal` cancels the request (ECANCELED).
   */
  async hash(path: string, signal?: AbortSignal, algorithm: CheckAlgorithm = 'sha256'): Promise<FileHash> {
    const request = { type: 'hash', path, ...(algorithm === 'sha256' ? {} : { algorithm }) } as const;
    const reply = parse(HashOk, await this.control.callCancellable(request, signal), 'hash reply');
    const digest = replyDigest(reply, algorithm);
    if (digest === null) throw new FerryError('EPROTO', `the server's hash reply lacks the ${CHECK_NAMES[algorithm]} asked for`);
    return { digest, size: reply.fileSize, mtime: reply.mtime };
  }

  async stat(path: string): Promise<Entry> {
    const reply = await this.control.call({ type: 'stat', path });
    const parsed = Entry.safeParse(reply.entry);
    if (!parsed.success) throw new FerryError('EPROTO', 'the server sent a malformed stat reply');
    return parsed.data;
  }

  /** stat() that answers null for ENOENT. */
  async statOrNull(path: string): Promise<Entry | null> {
    try {
      return await this.stat(path);
    } catch (err) {
      if (toFerryError(err).code === 'ENOENT') return null;
      throw err;
    }
  }

  async cd(path: string): Promise<string> {
    const reply = await this.control.call({ type: 'cd', path });
    this.cwd = String(reply.cwd);
    return this.cwd;
  }

  async pwd(): Promise<string> {
    const reply = await this.control.call({ type: 'pwd' });
    this.cwd = String(reply.cwd);
    return this.cwd;
  }

  async mkdir(path: string, parents = false, mode?: number): Promise<string> {
    const reply = await this.control.call({ type: 'mkdir', path, parents, ...(mode !== undefined ? { mode: mode & 0o777 } : {}) });
    return String(reply.path);
  }

  /** ferryd walks a recursive change itself; aborting `signal` cancels it (ECANCELED). */
  async chmod(path: string, mode: number, options: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<{ changed: number }> {
    checkChmodMode(mode);
    const reply = await this.control.callCancellable({ type: 'chmod', path, mode, recursive: options.recursive ?? false }, options.signal);
    const changed = reply.changed;
    if (typeof changed !== 'number' || !Number.isSafeInteger(changed) || changed < 0) throw new FerryError('EPROTO', 'the server sent a malformed chmod reply');
    return { changed };
  }

  async rename(from: string, to: string, overwrite = false): Promise<string> {
    const reply = await this.control.call({ type: 'rename', from, to, overwrite });
    return String(reply.path);
  }

  async remove(path: string, recursive = false): Promise<void> {
    await this.control.call({ type: 'delete', path, recursive });
  }

  /**
   * The account's usage. The first call within a second of the login is answered from the
   * login's reply (a round trip saved for a command that uploads right away); any later
   * one asks the server.
   */
  async df(): Promise<Df> {
    const fromLogin = this.loginDf;
    this.loginDf = undefined;
    if (fromLogin && Date.now() - fromLogin.at < LOGIN_DF_FRESH_MS) return fromLogin.df;
    const reply = await this.control.call({ type: 'df' });
    const parsed = Df.safeParse(reply);
    if (!parsed.success) throw new FerryError('EPROTO', 'the server sent a malformed df reply');
    return parsed.data;
  }

  async uploadInfo(path: string): Promise<UploadInfo> {
    const reply = await this.control.call({ type: 'upload-info', path });
    const partial = typeof reply.partial === 'number' ? reply.partial : null;
    const entry = reply.entry === null ? null : Entry.safeParse(reply.entry).data ?? null;
    return { partial, entry };
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.control.call({ type: 'ping' });
    return performance.now() - started;
  }

  exec(
    command: string,
    onOutput: (stream: ExecStream, chunk: Buffer) => Promise<void> | void,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ExecExit> {
    return this.control.exec(command, onOutput, options);
  }

  // ---- data connections -------------------------------------------------------------------

  /** Borrow a data connection (opened on demand, at most `dataConnections` at once). */
  acquire(signal?: AbortSignal): Promise<ClientConnection> {
    return this.pool.acquire(signal);
  }

  /** Give a data connection back (a broken one, or one over the pool's size, is dropped). */
  release(conn: ClientConnection): void {
    this.pool.release(conn);
  }

  /** How many data connections may be open at once (a setting that can change any time). */
  get dataConnections(): number {
    return this.pool.size;
  }

  /**
   * Resize the pool: growing lets waiting transfers open connections at once; shrinking
   * closes idle connections now and busy ones as they are given back.
   */
  setDataConnections(n: number): void {
    this.pool.resize(n);
  }

  /** Open data connections, idle or lent out. */
  get openDataConnections(): number {
    return this.pool.openLanes;
  }

  /** A new data connection, attached to the session with its ticket. */
  private async openData(signal?: AbortSignal): Promise<ClientConnection> {
    // A dropped control connection means the server may have forgotten the session:
    // log in again first, or the attach below is refused.
    if (this.control.closed) await this.reconnect();
    return this.attachData(await ClientConnection.open({ ...this.options, signal }));
  }

  /** Attach a connection (its hello done) to the session as a data connection. */
  private async attachData(conn: ClientConnection): Promise<ClientConnection> {
    conn.onWholeUnsupported = () => (this.wholeReads = false);
    try {
      await conn.attach(this.sessionId, this.ticket);
    } catch (err) {
      conn.destroy();
      // The session ended under us (the server restarted): worth a retry after a new login.
      const e = toFerryError(err);
      throw e.code === 'EAUTH' ? new FerryError('ECONN', `the session ended: ${e.message}`) : e;
    }
    return conn;
  }
}
