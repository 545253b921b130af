/**
 * Any SSH server behind the engine's Remote: one SSH connection (ssh2) with an SFTP
 * channel for browsing and commands over exec channels, plus lanes (SFTP channels of
 * their own) that carry transfers. Paths are the server's own absolute paths; a session
 * starts in the account's home.
 */
import path from 'node:path';
import type { Client } from 'ssh2';
import type { CheckAlgorithm } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { Df, Entry, ExecExit, ExecStream, UploadInfo, UserInfo } from '../../shared/common/messages.js';
import { LanePool } from '../remote/lane-pool.js';
import { LISTING_MAX, byName, listingTooBig, type FileHash, type Lane, type Remote, type RemoteCapabilities, type SearchRequest, type UploadSource } from '../remote/remote.js';
import type { SearchBatch } from '../../shared/common/search-model.js';
import { SftpCalls, toEntry } from './sftp-calls.js';
import { chmodTree } from '../remote/chmod-walk.js';
import { checkChmodMode } from '../../shared/common/permissions.js';
import { searchSftp } from './sftp-search.js';
import { SftpLane, isPartialName, partialName } from './sftp-lane.js';
import { ServerHash, probeServerHash } from './server-hash.js';
import { sshConnect, type SshLoginOptions } from './ssh-connect.js';
import { shellQuote, sshExec } from './ssh-exec.js';
import { resolveSshTarget, type SshTarget, type SshTargetInput } from './ssh-target.js';

export interface SftpOptions extends SshTargetInput, SshLoginOptions {
  /** SFTP channels opened for transfers (default 4, at most LANES_MAX). */
  readonly dataConnections?: number;
  /** Check transfers with the server's SHA-256 where the account can run it (default true). */
  readonly serverHash?: boolean;
  /** The most one listing may bring (default LISTING_MAX). */
  readonly listingMax?: { readonly entries: number; readonly bytes: number };
}

/**
 * Lanes per connection. OpenSSH's sshd allows 10 channels per connection by default
 * (MaxSessions): the browsing channel, the lanes, two hashing commands and the console's
 * commands must fit in them.
 */
export const LANES_MAX = 5;
/** Folders removed at once by a recursive delete. */
const REMOVE_AT_ONCE = 16;

function openSftp(client: Client): Promise<SftpCalls> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => (err ? reject(new FerryError('EBUSY', `The server refused an SFTP channel: ${err.message}`)) : resolve(new SftpCalls(sftp))));
  });
}

interface Connected {
  readonly client: Client;
  readonly fingerprint: string;
  readonly control: SftpCalls;
  readonly hash: ServerHash | null;
  readonly home: string;
}

export class SftpRemote implements Remote {
  readonly protocol = 'sftp' as const;
  private conn: Connected;
  private closed = false;
  private dropped = false;
  private readonly lanes: LanePool<SftpLane>;
  private readonly listeners = new Set<(err: FerryError | undefined) => void>();
  private reconnecting: Promise<void> | undefined;
  cwd: string;

  private constructor(
    private readonly options: SftpOptions,
    private readonly target: SshTarget,
    conn: Connected,
  ) {
    this.conn = conn;
    this.cwd = conn.home;
    this.lanes = new LanePool(() => this.openLane(), options.dataConnections ?? 4, LANES_MAX);
    this.watch(conn.client);
  }

  /** Connect, log in, and find what the server offers. A passphrase typed once is kept in memory for reconnects. */
  static async connect(options: SftpOptions): Promise<SftpRemote> {
    const target = await resolveSshTarget(options);
    let typed: string | undefined;
    const ask = options.askPassphrase;
    const remembered: SftpOptions = {
      ...options,
      ...(ask ? { askPassphrase: async (file: string) => (typed ??= await ask(file)) } : {}),
    };
    return new SftpRemote(remembered, target, await SftpRemote.login(remembered, target));
  }

  private static async login(options: SftpOptions, target: SshTarget): Promise<Connected> {
    const { client, fingerprint } = await sshConnect(target, options);
    try {
      const control = await openSftp(client);
      const home = await control.realpath('.');
      const tool = options.serverHash === false ? null : await probeServerHash(client);
      return { client, fingerprint, control, hash: tool ? new ServerHash(client, tool) : null, home };
    } catch (err) {
      client.end();
      throw err;
    }
  }

  private watch(client: Client): void {
    const lost = (err?: Error): void => {
      if (this.closed || client !== this.conn.client || this.dropped) return;
      this.dropped = true;
      const error = new FerryError('ECONN', `The connection to ${this.host} was lost${err ? `: ${err.message}` : ''}.`);
      for (const l of this.listeners) l(error);
    };
    client.on('error', lost);
    client.on('close', () => lost());
  }

  get host(): string {
    return `${this.target.hostName}:${this.target.port}`;
  }

  get fingerprint(): string {
    return this.conn.fingerprint;
  }

  get user(): UserInfo {
    return { name: this.target.user, exec: true, quota: null };
  }

  /** Which command computes the server's SHA-256 (null: transfers are checked by size). */
  get hashTool(): string | null {
    return this.conn.hash?.tool ?? null;
  }

  get capabilities(): RemoteCapabilities {
    return { serverHash: this.conn.hash !== null, checks: this.conn.hash !== null ? ['sha256'] : [], wholeFiles: true, quota: false, exec: true, resume: true, listedHashes: false };
  }

  get connected(): boolean {
    return !this.closed && !this.dropped;
  }

  onDisconnect(listener: (err: FerryError | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reconnect(): Promise<void> {
    if (this.closed) return Promise.reject(new FerryError('ECANCELED', 'the session was closed'));
    if (!this.dropped) return Promise.resolve();
    this.reconnecting ??= (async () => {
      const conn = await SftpRemote.login(this.options, this.target);
      this.conn = conn;
      this.dropped = false;
      this.watch(conn.client);
      // Lanes of the old connection are gone.
      this.lanes.dropIdle();
      this.cwd = await this.cd(this.cwd).catch(() => conn.home);
    })().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  close(): void {
    this.closed = true;
    this.lanes.close();
    this.conn.client.end();
  }

  private get calls(): SftpCalls {
    if (this.closed) throw new FerryError('ECANCELED', 'the session was closed');
    if (this.dropped) throw new FerryError('ECONN', `The connection to ${this.host} was lost.`);
    return this.conn.control;
  }

  /** `p` as an absolute path on the server (relative ones are in the session's folder). */
  resolve(p: string): string {
    return path.posix.resolve(this.cwd, p);
  }

  // ---- browsing ---------------------------------------------------------------------------

  /**
   * A folder sorted by name. Ferry's own upload partials are left out (they are not the
   * person's files); a link to a file lists as that file (so it can be downloaded), other
   * links stay links (a link to a folder is not followed: links can make cycles).
   */
  async list(p = '.'): Promise<{ path: string; entries: Entry[] }> {
    const folder = this.resolve(p);
    const max = this.options.listingMax ?? LISTING_MAX;
    const calls = this.calls;
    const handle = await calls.opendir(folder);
    const entries: Entry[] = [];
    const links: Array<Promise<void>> = [];
    let bytes = 0;
    try {
      for (let batch = await calls.readdirBatch(handle, folder); batch !== null; batch = await calls.readdirBatch(handle, folder)) {
        for (const item of batch) {
          if (item.filename === '.' || item.filename === '..' || isPartialName(item.filename)) continue;
          bytes += item.filename.length + 64;
          if (entries.length >= max.entries || bytes > max.bytes) throw listingTooBig(folder, max);
          const entry = toEntry(item.filename, item.attrs);
          const at = entries.push(entry) - 1;
          if (entry.type === 'symlink') {
            links.push(
              calls.stat(path.posix.join(folder, item.filename)).then(
                (target) => {
                  if (target.isFile()) entries[at] = toEntry(item.filename, target);
                },
                () => undefined, // a dangling link stays a link
              ),
            );
          }
        }
      }
      await Promise.all(links);
    } finally {
      await calls.close(handle, folder).catch(() => undefined);
    }
    return { path: folder, entries: byName(entries) };
  }

  /** Names matching `pattern` below `p`: the engine walks (sftp-search.ts). */
  search(p: string, pattern: string, request: SearchRequest = {}): AsyncIterable<SearchBatch> {
    return searchSftp(this.calls, this.resolve(p), pattern, request);
  }

  async stat(p: string): Promise<Entry> {
    const abs = this.resolve(p);
    return toEntry(path.posix.basename(abs) || '/', await this.calls.lstat(abs));
  }

  async statOrNull(p: string): Promise<Entry | null> {
    const abs = this.resolve(p);
    const stats = await this.calls.lstatOrNull(abs);
    return stats ? toEntry(path.posix.basename(abs) || '/', stats) : null;
  }

  /** The server's SHA-256 by its hashing command (one batch with other hashes), with the size and mtime seen before it. */
  async hash(p: string, signal?: AbortSignal, algorithm: CheckAlgorithm = 'sha256'): Promise<FileHash> {
    const hasher = this.conn.hash;
    if (algorithm !== 'sha256') throw new FerryError('ENOTSUP', `${this.host} hashes files with SHA-256 only`);
    if (!hasher) throw new FerryError('ENOTSUP', `${this.host} cannot hash files: the account may not run commands, or the server has no sha256sum, shasum or openssl`);
    const abs = this.resolve(p);
    const before = await this.calls.stat(abs);
    if (!before.isFile()) throw new FerryError('EISDIR', `${p} is not a file`);
    signal?.throwIfAborted();
    const sha256 = await hasher.hash(abs, before.size);
    const after = await this.calls.stat(abs);
    if (after.size !== before.size || after.mtime !== before.mtime) {
      throw new FerryError('EBUSY', `${p} changed while the server hashed it; try again`);
    }
    return { digest: { algorithm: 'sha256', hex: sha256 }, size: after.size, mtime: after.mtime * 1000 };
  }

  async cd(p: string): Promise<string> {
    const calls = this.calls;
    const real = await calls.realpath(this.resolve(p));
    if (!(await calls.stat(real)).isDirectory()) throw new FerryError('ENOTDIR', `${p} is not a folder`);
    this.cwd = real;
    return real;
  }

  /** `mode`: sent with the request, so the server's umask applies as to any new folder. */
  async mkdir(p: string, parents = false, mode?: number): Promise<string> {
    const abs = this.resolve(p);
    const calls = this.calls;
    const bits = mode === undefined ? undefined : mode & 0o777;
    const make = async (dir: string, existingIsFine: boolean): Promise<void> => {
      try {
        await calls.mkdir(dir, bits);
      } catch (err) {
        // SFTP says only "failure" for a name that is taken: look at what is there.
        const there = await calls.lstatOrNull(dir).catch(() => null);
        if (there === null) throw err;
        if (!there.isDirectory()) throw new FerryError('ENOTDIR', `${dir} exists and is not a folder`);
        if (!existingIsFine) throw new FerryError('EEXIST', `${dir} already exists`);
      }
    };
    if (!parents) {
      await make(abs, false);
      return abs;
    }
    // mkdir -p: one request when the parent exists (the common case), else the parent first.
    const makeAll = async (dir: string): Promise<void> => {
      try {
        await make(dir, true);
      } catch (err) {
        const parent = path.posix.dirname(dir);
        if (toFerryError(err).code !== 'ENOENT' || parent === dir) throw err;
        await makeAll(parent);
        await make(dir, true);
      }
    };
    await makeAll(abs);
    return abs;
  }

  async rename(from: string, to: string, overwrite = false): Promise<string> {
    const [src, dst] = [this.resolve(from), this.resolve(to)];
    const calls = this.calls;
    const there = await calls.lstatOrNull(dst);
    if (there && !overwrite) throw new FerryError('EEXIST', `${dst} already exists`);
    if (calls.offers('posix-rename@openssh.com')) {
      await calls.posixRename(src, dst);
    } else {
      if (there) await calls.unlink(dst);
      await calls.rename(src, dst);
    }
    return dst;
  }

  async remove(p: string, recursive = false): Promise<void> {
    const abs = this.resolve(p);
    if (abs === '/' || abs === this.conn.home) throw new FerryError('EACCES', `Ferry does not delete ${abs} itself.`);
    const calls = this.calls;
    const stats = await calls.lstat(abs);
    if (!stats.isDirectory()) return calls.unlink(abs);
    if (recursive) {
      const { entries } = await this.list(abs);
      for (let i = 0; i < entries.length; i += REMOVE_AT_ONCE) {
        await Promise.all(entries.slice(i, i + REMOVE_AT_ONCE).map((e) => this.remove(path.posix.join(abs, e.name), true)));
      }
    }
    try {
      await calls.rmdir(abs);
    } catch (err) {
      const e = toFerryError(err);
      if (e.code === 'EIO' && !recursive) throw new FerryError('ENOTEMPTY', `${abs} is not empty (delete it recursively to remove its contents)`);
      throw e;
    }
  }

  /**
   * setstat on the entry itself; the SFTP server follows a link there, so a link is refused
   * first (EINVAL), and a recursive change walks here, links skipped (chmod-walk.ts).
   */
  async chmod(p: string, mode: number, options: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<{ changed: number }> {
    checkChmodMode(mode);
    const abs = this.resolve(p);
    const calls = this.calls;
    const st = await calls.lstat(abs);
    if (st.isSymbolicLink()) throw new FerryError('EINVAL', `${abs} is a link: links have no permissions of their own, and chmod does not follow them.`);
    if (!(st.isDirectory() && options.recursive)) {
      await calls.setstat(abs, { mode });
      return { changed: 1 };
    }
    const walker = { list: (dir: string) => this.list(dir), setMode: (file: string, bits: number) => calls.setstat(file, { mode: bits }), join: path.posix.join };
    return { changed: await chmodTree(walker, abs, mode, options.signal) };
  }

  /**
   * Free space of the file system the home is on (statvfs@openssh.com), never a quota:
   * SFTP has none to report. Without the extension nothing is known (free: unbounded).
   */
  async df(): Promise<Df> {
    const calls = this.calls;
    if (!calls.offers('statvfs@openssh.com')) return { quota: null, used: 0, free: Number.MAX_SAFE_INTEGER };
    const v = await calls.statvfs(this.conn.home);
    const unit = Number(v.f_frsize) || Number(v.f_bsize);
    const used = (Number(v.f_blocks) - Number(v.f_bfree)) * unit;
    const free = Number(v.f_bavail) * unit;
    if (!Number.isFinite(used) || !Number.isFinite(free)) throw new FerryError('EPROTO', 'the server sent a malformed statvfs reply');
    return { quota: null, used, free };
  }

  async uploadInfo(p: string, source?: UploadSource): Promise<UploadInfo> {
    const abs = this.resolve(p);
    const calls = this.calls;
    const [there, partial] = await Promise.all([
      calls.lstatOrNull(abs),
      source ? calls.lstatOrNull(partialName(abs, source.size, source.mtime)) : Promise.resolve(null),
    ]);
    return { entry: there ? toEntry(path.posix.basename(abs), there) : null, partial: partial?.isFile() ? Number(partial.size) : null };
  }

  /** Run a command in the session's folder over an exec channel. */
  exec(command: string, onOutput: (stream: ExecStream, chunk: Buffer) => Promise<void> | void, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecExit> {
    if (this.closed || this.dropped) return Promise.reject(new FerryError('ECONN', `Not connected to ${this.host}.`));
    return sshExec(this.conn.client, `cd ${shellQuote(this.cwd)} && ${command}`, onOutput, options);
  }

  // ---- lanes ------------------------------------------------------------------------------

  acquire(signal?: AbortSignal): Promise<Lane> {
    return this.lanes.acquire(signal);
  }

  release(lane: Lane): void {
    this.lanes.release(lane as SftpLane);
  }

  get dataConnections(): number {
    return this.lanes.size;
  }

  setDataConnections(n: number): void {
    this.lanes.resize(n);
  }

  /** A new lane: an SFTP channel of its own on the connection (logged in again first after a drop). */
  private async openLane(): Promise<SftpLane> {
    if (this.dropped) await this.reconnect();
    const { client, hash, control } = this.conn;
    return new SftpLane(await openSftp(client), { hash, posixRename: control.offers('posix-rename@openssh.com') });
  }
}
