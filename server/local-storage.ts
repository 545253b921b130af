/**
 * Storage on the local disk. Layout under the root:
 *
 *   homes/<user>/                      the user's home ('/' of their virtual paths)
 *   state/partials/<user>/<sha>.part   uploads in progress, keyed by the SHA-256 of the
 *                                      virtual path: outside the home so users never see
 *                                      them, on the same filesystem so commit is a rename
 *   state/incoming/<run>/<user>/<h>/<sha>.part   small files written whole, for the
 *                                      moment of their commit (run: a token of this
 *                                      server process; h: the first hex digit; see
 *                                      storage-whole.ts). What an earlier run left there
 *                                      (a crash in the middle of a commit) was never
 *                                      acknowledged and is deleted at start.
 *
 * The jail is enforced twice: virtual paths are normalised as strings (no '..' above '/'),
 * then every host path is resolved with realpath and must stay inside realpath(home), so
 * symlinks cannot lead out. Operations then work on the resolved real paths.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createStreamHash, type StreamHash } from '../shared/node/hash-worker.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { READ_MAX, type Df, type Entry, type EntryType, type PutResult, type UploadInfo } from '../shared/common/messages.js';
import { formatBytes } from '../shared/common/size.js';
import type { Account, Download, Storage, Upload, UploadRequest, WholeFile } from './storage.js';
import type { ExecHost } from './exec-host.js';
import { LocalDownload } from './storage-download.js';
import { SyncBatcher } from './storage-sync.js';
import { probeFilesystemSync, type FilesystemSync } from './fs-sync.js';
import { LocalUpload, SkippedUpload, type UploadTarget } from './storage-upload.js';
import { WholeUpload, tooBig } from './storage-whole.js';
import { smallBuffer } from './small-buffers.js';
import { lstatOrNull, openFd, readFd, realpathNative, statPath } from '../shared/node/fs-calls.js';
import { UsageTracker, walkBytes } from './storage-usage.js';

export interface LocalStorageOptions {
  readonly root: string;
  /** How long a commit waits for others to share its fsyncs (ms). */
  readonly syncDelayMs?: number;
  /**
   * Make batches of small files durable with one filesystem sync (fs-sync.ts) when this
   * system has one (default true); false fsyncs each file.
   */
  readonly filesystemSync?: boolean;
  readonly log?: (line: string) => void;
}

/** A home as seen by one operation: the account name and the home's real (symlink-free) host path. */
interface Home {
  readonly name: string;
  readonly real: string;
}

// Not every platform has O_NOFOLLOW (Windows); there the realpath checks have to do.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const READ_WHOLE_FLAGS = fs.constants.O_RDONLY | O_NOFOLLOW | (fs.constants.O_NONBLOCK ?? 0);
const HASH_READ_BYTES = 1024 * 1024;
const LIST_PARALLEL = 64;
/**
 * Folders with at most this many entries are listed with blocking calls, in one go on the
 * event loop (listSmallSync). Each asynchronous step of a listing (realpath, readdir, the
 * lstats) waits for its own turn of the event loop, and while a big transfer keeps the
 * loop busy a turn takes milliseconds: measured, a listing under a 1 GiB TLS upload took
 * 8–25 ms that way, for well under a millisecond of work. The bound keeps the time the
 * loop is blocked small (a few microseconds per cached entry); bigger folders, and any
 * folder that gives an error, take the asynchronous way.
 */
const LIST_SYNC_MAX = 256;
const MAX_RENAME_TRIES = 10_000;
/**
 * How long the resolution of a home or a folder (realpath, jail check, "is a folder") is
 * shared by the requests that need it: a burst of small files into one folder resolves it
 * once per window instead of once per file. Short on purpose (a commit's fsync takes
 * longer), and cleared by every rename, delete and command of the server's own.
 */
const RESOLVE_WINDOW_MS = 5;

/** Everything admit() settled for an upload; the caller owns its lock and reservation. */
interface Admission {
  readonly offset: number;
  readonly total: number;
  readonly need: number;
  readonly have: number;
  readonly tracker: UsageTracker;
  readonly partialName: string;
  readonly partialDir: string;
  readonly partialPath: string;
  readonly chosen: UploadTarget;
  readonly unlock: () => void;
  readonly pickFreeName: (taken: UploadTarget) => Promise<UploadTarget>;
}

/**
 * Results of lookups shared for a short window: one still running is always shared; a
 * finished one for `windowMs` after it settled. Failures are never kept.
 */
class SharedLookups<T> {
  private readonly entries = new Map<string, { done: number; value: Promise<T> }>();

  constructor(private readonly windowMs: number) {}

  get(key: string, lookup: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && (hit.done === 0 || performance.now() - hit.done < this.windowMs)) return hit.value;
    if (this.entries.size >= 4096) this.prune();
    const entry = { done: 0, value: lookup() };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.done = performance.now();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(): void {
    const now = performance.now();
    for (const [key, entry] of this.entries) if (entry.done !== 0 && now - entry.done >= this.windowMs) this.entries.delete(key);
  }
}

const outside = (): FerryError => new FerryError('EACCES', 'Access denied: the path leads outside your home.');

function sysCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function isMissing(err: unknown): boolean {
  const code = sysCode(err) ?? (err instanceof FerryError ? err.code : undefined);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function isInside(real: string, home: string): boolean {
  return real === home || real.startsWith(home.endsWith(path.sep) ? home : home + path.sep);
}

/** Run an operation and turn whatever it throws into a FerryError without host paths. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFerryError(err);
  }
}

function entryType(st: fs.Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toEntry(name: string, st: fs.Stats): Entry {
  return { name, type: entryType(st), size: st.size, mtime: Math.round(st.mtimeMs), mode: st.mode & 0o7777 };
}

function checkAccountName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new FerryError('EINVAL', 'Invalid account name.');
  }
}

/** 'a.txt' → 'a (n).txt'; dot files and names without an extension get the suffix at the end. */
export function numberedName(name: string, n: number): string {
  const ext = path.extname(name);
  const stem = ext === '' || ext === name ? name : name.slice(0, -ext.length);
  return ext === name ? `${name} (${n})` : `${stem} (${n})${ext}`;
}

function vjoin(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function vparent(vpath: string): string {
  const i = vpath.lastIndexOf('/');
  return i <= 0 ? '/' : vpath.slice(0, i);
}

function vbase(vpath: string): string {
  return vpath.slice(vpath.lastIndexOf('/') + 1);
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new FerryError('EINVAL', `Invalid ${what}.`);
}

export class LocalStorage implements Storage, ExecHost {
  private readonly root: string;
  private readonly log: ((line: string) => void) | undefined;
  private readonly batcher: SyncBatcher;
  private readonly trackers = new Map<string, UsageTracker>();
  /** Virtual paths with an upload in progress, per account. */
  private readonly locks = new Map<string, Set<string>>();
  /** Real paths of homes and folders, shared for a few milliseconds (see RESOLVE_WINDOW_MS). */
  private readonly resolved = new SharedLookups<string>(RESOLVE_WINDOW_MS);
  /** This run's folder for small files being committed (see the layout above). */
  private readonly incoming: string;

  constructor(options: LocalStorageOptions) {
    this.root = path.resolve(options.root);
    this.log = options.log;
    this.batcher = new SyncBatcher(Math.max(0, options.syncDelayMs ?? 2), this.log);
    const incomingRoot = path.join(this.root, 'state', 'incoming');
    const run = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    this.incoming = path.join(incomingRoot, run);
    this.swept = sweepOtherRuns(incomingRoot, run, this.log);
    this.syncProbe =
      options.filesystemSync === false
        ? Promise.resolve('fsync')
        : probeFilesystemSync(this.root, this.log).then((sync) => {
            if (!sync) return 'fsync';
            if (this.closing) {
              sync.close();
              return 'fsync';
            }
            this.fsSync = sync;
            this.batcher.useFilesystemSync(sync);
            this.log?.('sync: batches of small files are made durable with one filesystem sync (syncfs) each');
            return 'syncfs';
          });
  }

  private readonly syncProbe: Promise<'syncfs' | 'fsync'>;
  private fsSync: FilesystemSync | null = null;
  private closing = false;

  /** How batches of small files are made durable: one syncfs each, or an fsync per file. */
  syncMode(): Promise<'syncfs' | 'fsync'> {
    return this.syncProbe;
  }

  /** Filesystem syncs so far (diagnostics). */
  get filesystemSyncs(): number {
    return this.batcher.filesystemSyncs;
  }

  /** Resolves once what earlier runs left in state/incoming is gone (tests, diagnostics). */
  readonly swept: Promise<void>;

  /** Commit groups synced so far (diagnostics). */
  get syncGroups(): number {
    return this.batcher.groups;
  }

  normalize(cwd: string, target: string): string {
    if (/[\0\\]/.test(target) || /[\0\\]/.test(cwd)) {
      throw new FerryError('EACCES', 'Access denied: paths may not contain NUL bytes or backslashes.');
    }
    const parts: string[] = [];
    const apply = (text: string): void => {
      for (const segment of text.split('/')) {
        if (segment === '' || segment === '.') continue;
        if (segment === '..') {
          if (parts.length === 0) throw outside();
          parts.pop();
        } else {
          // Never decoded: '%2e%2e' is a file name like any other.
          parts.push(segment);
        }
      }
    };
    if (!target.startsWith('/')) apply(cwd);
    apply(target);
    return `/${parts.join('/')}`;
  }

  async ensureHome(account: Account): Promise<void> {
    await guard(async () => {
      checkAccountName(account.name);
      const homes = path.join(this.root, 'homes');
      await fsp.mkdir(homes, { recursive: true, mode: 0o755 });
      try {
        await fsp.mkdir(path.join(homes, account.name), { mode: 0o700 });
      } catch (err) {
        if (sysCode(err) !== 'EEXIST') throw err;
      }
    });
  }

  async stat(account: Account, cwd: string, target: string): Promise<Entry> {
    return guard(async () => {
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      const real = await this.realInside(home, this.hostOf(home, vpath));
      return toEntry(vpath === '/' ? '/' : vbase(vpath), await fsp.stat(real));
    });
  }

  async list(account: Account, cwd: string, target: string): Promise<{ path: string; entries: Entry[] }> {
    return guard(async () => {
      checkAccountName(account.name);
      const vpath = this.normalize(cwd, target);
      const small = this.listSmallSync(account.name, vpath);
      if (small) return small;
      const home = await this.home(account);
      const real = await this.realInside(home, this.hostOf(home, vpath));
      const names = await fsp.readdir(real);
      const entries: Entry[] = [];
      for (let i = 0; i < names.length; i += LIST_PARALLEL) {
        const batch = await Promise.all(
          names.slice(i, i + LIST_PARALLEL).map(async (name) => {
            // lstat: a link is shown as a link and never followed out of the home.
            const st = await lstatOrNull(path.join(real, name));
            return st ? toEntry(name, st) : null;
          }),
        );
        for (const entry of batch) if (entry) entries.push(entry);
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { path: vpath, entries };
    });
  }

  /**
   * A small folder's listing with blocking calls (see LIST_SYNC_MAX), under the same jail
   * as list(): the folder's real path must be inside the real home, and entries are
   * lstat'ed (a link is shown as a link). Null means "take the asynchronous way": the
   * folder is bigger, or something failed there (which list() then reports properly).
   */
  private listSmallSync(name: string, vpath: string): { path: string; entries: Entry[] } | null {
    let dir: fs.Dir | undefined;
    try {
      const homeReal = fs.realpathSync.native(path.join(this.root, 'homes', name));
      const real = fs.realpathSync.native(this.hostOf({ name, real: homeReal }, vpath));
      if (!isInside(real, homeReal)) return null;
      dir = fs.opendirSync(real, { bufferSize: 64 });
      // The names first: a bigger folder is given up before any lstat.
      const names: string[] = [];
      for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
        if (names.length === LIST_SYNC_MAX) return null;
        names.push(d.name);
      }
      const entries: Entry[] = [];
      for (const entry of names) {
        let st: fs.Stats;
        try {
          st = fs.lstatSync(path.join(real, entry));
        } catch (err) {
          if (isMissing(err)) continue; // deleted since the folder was read
          return null;
        }
        entries.push(toEntry(entry, st));
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { path: vpath, entries };
    } catch {
      return null;
    } finally {
      dir?.closeSync();
    }
  }

  async chdir(account: Account, cwd: string, target: string): Promise<string> {
    return guard(async () => {
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      const real = await this.realInside(home, this.hostOf(home, vpath));
      if (!(await fsp.stat(real)).isDirectory()) throw new FerryError('ENOTDIR');
      return vpath;
    });
  }

  async mkdir(account: Account, cwd: string, target: string, parents: boolean): Promise<string> {
    return guard(async () => {
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      if (vpath === '/') {
        if (parents) return vpath;
        throw new FerryError('EEXIST');
      }
      if (!parents) {
        const { host } = await this.entryOf(home, vpath);
        await fsp.mkdir(host);
        return vpath;
      }
      // One level at a time from the home, on real paths: a link met on the way is
      // resolved and jail-checked before anything is created under it.
      let current = home.real;
      const segments = vpath.slice(1).split('/');
      for (let i = 0; i < segments.length; i++) {
        const last = i === segments.length - 1;
        const next = path.join(current, segments[i]!);
        let st = await lstatOrNull(next);
        if (!st) {
          try {
            await fsp.mkdir(next);
            current = next;
            continue;
          } catch (err) {
            if (sysCode(err) !== 'EEXIST') throw err;
            st = await fsp.lstat(next);
          }
        }
        if (st.isSymbolicLink()) {
          const real = await this.realInside(home, next);
          st = await fsp.stat(real);
          current = real;
        } else {
          current = next;
        }
        if (!st.isDirectory()) throw new FerryError(last ? 'EEXIST' : 'ENOTDIR');
      }
      return vpath;
    });
  }

  async rename(account: Account, cwd: string, from: string, to: string, overwrite: boolean): Promise<string> {
    return guard(async () => {
      const home = await this.home(account);
      const src = this.normalize(cwd, from);
      const dst = this.normalize(cwd, to);
      if (src === '/' || dst === '/') throw new FerryError('EACCES', 'Access denied: your home cannot be renamed.');
      this.resolved.clear();
      const [a, b] = await Promise.all([this.entryOf(home, src), this.entryOf(home, dst)]);
      const srcSt = await fsp.lstat(a.host);
      if (a.host === b.host) return dst;
      if (srcSt.isDirectory() && isInside(b.parent, a.host)) {
        throw new FerryError('EINVAL', 'A folder cannot be moved into itself.');
      }
      const dstSt = await lstatOrNull(b.host);
      if (dstSt && !overwrite) throw new FerryError('EEXIST');
      const tracker = this.tracker(account, home);
      tracker.startChange();
      let delta = 0;
      try {
        await fsp.rename(a.host, b.host);
        if (dstSt?.isFile()) delta = -dstSt.size;
      } finally {
        tracker.endChange(delta);
      }
      return dst;
    });
  }

  async remove(account: Account, cwd: string, target: string, recursive: boolean): Promise<void> {
    await guard(async () => {
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      if (vpath === '/') throw new FerryError('EACCES', 'Access denied: your home cannot be deleted.');
      this.resolved.clear();
      const { host } = await this.entryOf(home, vpath);
      const st = await fsp.lstat(host);
      const tracker = this.tracker(account, home);
      tracker.startChange();
      let delta = 0;
      try {
        if (!st.isDirectory()) {
          // A link is removed as a link: its target is never touched.
          await fsp.unlink(host);
          if (st.isFile()) delta = -st.size;
        } else if (!recursive) {
          await fsp.rmdir(host);
        } else {
          const bytes = await walkBytes(host, this.log);
          try {
            // fs.rm does not follow links inside the tree.
            await fsp.rm(host, { recursive: true });
            delta = -bytes;
          } catch (err) {
            // Part of the tree may be gone: only a walk knows how much.
            tracker.invalidate();
            throw err;
          }
        }
      } finally {
        tracker.endChange(delta);
      }
    });
  }

  async df(account: Account): Promise<Df> {
    return guard(async () => {
      const home = await this.home(account);
      const used = await this.tracker(account, home).current();
      const st = await fsp.statfs(home.real);
      const disk = st.bavail * st.bsize;
      const free = account.quota === null ? disk : Math.min(Math.max(0, account.quota - used), disk);
      return { quota: account.quota, used, free };
    });
  }

  async uploadInfo(account: Account, cwd: string, target: string): Promise<UploadInfo> {
    return guard(async () => {
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      const partial = await lstatOrNull(this.partialPath(home, vpath));
      let entry: Entry | null = null;
      try {
        entry = await this.stat(account, '/', vpath);
      } catch (err) {
        if (!(err instanceof FerryError && err.code === 'ENOENT')) throw err;
      }
      return { partial: partial?.isFile() ? partial.size : null, entry };
    });
  }

  async beginUpload(account: Account, cwd: string, target: string, request: UploadRequest): Promise<Upload> {
    return guard(async () => {
      const admitted = await this.admit(account, cwd, target, request);
      if (admitted instanceof SkippedUpload) return admitted;
      const { offset, total, need, have, tracker, partialName, partialDir, partialPath, chosen, unlock } = admitted;
      let handle: fsp.FileHandle | null = null;
      try {
        await fsp.mkdir(partialDir, { recursive: true, mode: 0o700 });
        const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | O_NOFOLLOW;
        if (offset === 0) {
          tracker.startChange();
          try {
            handle = await fsp.open(partialPath, flags | fs.constants.O_TRUNC, 0o666);
            tracker.activePartials.set(partialName, 0);
          } finally {
            tracker.endChange(handle ? -have : 0);
          }
        } else {
          handle = await fsp.open(partialPath, flags, 0o666);
        }
        // Big uploads hash in the worker thread, alongside the disk writes.
        const hash = createStreamHash(total);
        try {
          if (offset > 0) await hashPrefix(handle, offset, hash);
        } catch (err) {
          hash.dispose();
          throw err;
        }
        return new LocalUpload({
          target: chosen,
          exists: request.exists,
          partialPath,
          partialName,
          handle,
          hash,
          offset,
          total,
          mtime: request.mtime,
          tracker,
          reserved: need,
          batcher: this.batcher,
          pickFreeName: admitted.pickFreeName,
          unlock,
          log: this.log,
        });
      } catch (err) {
        await handle?.close().catch(() => undefined);
        tracker.release(need);
        if (handle && offset === 0) {
          // Nothing of the old partial is left: do not leave an empty one behind.
          await fsp.unlink(partialPath).catch(() => undefined);
        }
        tracker.activePartials.delete(partialName);
        unlock();
        throw err;
      }
    });
  }

  /**
   * A whole small file in one go: the same checks as beginUpload() (jail, policy, lock,
   * quota), then the SHA-256 of `data`, then a durable commit in the next group. Nothing
   * is written before the hash has matched.
   */
  async putWhole(
    account: Account,
    cwd: string,
    target: string,
    request: Omit<UploadRequest, 'offset' | 'total'>,
    data: Buffer,
    sha256: string,
  ): Promise<{ readonly committed: Promise<PutResult> }> {
    const admitted = await guard(() => this.admit(account, cwd, target, { ...request, offset: 0, total: data.length }, true));
    if (admitted instanceof SkippedUpload) return { committed: admitted.commit() };
    const { need, tracker, partialName, partialPath, chosen, unlock } = admitted;
    let held = true;
    // Once the file is in place, its bytes are counted in the usage and its path may be
    // uploaded again: the reservation and the lock go then, not after the folder fsync
    // (which only the reply waits for).
    const letGo = (): void => {
      if (!held) return;
      held = false;
      tracker.release(need);
      unlock();
    };
    const commit = async (): Promise<PutResult> => {
      try {
        const digest = createHash('sha256').update(data).digest('hex');
        if (digest !== sha256.toLowerCase()) throw new FerryError('ECHECKSUM');
        const incomingDir = path.join(this.incoming, account.name, partialName[0]!);
        const item = new WholeUpload({
          target: chosen,
          exists: request.exists,
          pickFreeName: admitted.pickFreeName,
          tracker,
          partialName,
          partialPath,
          incomingDir,
          incomingPath: path.join(incomingDir, partialName),
          data,
          mtime: request.mtime,
          placed: letGo,
        });
        return await this.batcher.commit(item, () => ({ path: item.path, size: data.length, sha256: digest }));
      } catch (err) {
        // (The partial's accounting is the item's: discard() or place() settle it.)
        throw toFerryError(err);
      } finally {
        letGo();
      }
    };
    // Tracked from the start, so that closing the storage waits for it too.
    return { committed: this.batcher.track(commit()) };
  }

  /**
   * What every upload checks before it may write: the offset and size, the jail, the
   * folder, the lock on the path, the exists policy, the partial's size for a resume, and
   * the quota (reserved here). On success the caller owns the lock and the reservation.
   */
  private async admit(
    account: Account,
    cwd: string,
    target: string,
    request: UploadRequest,
    /**
     * A whole small upload (putWhole): the commit looks at the target anyway (right before
     * the rename), so a target that is simply overwritten is left to it (a folder there is
     * EISDIR then); and an older partial of the path is found when the file is created
     * (and truncated, which gives its bytes back), so it is only looked for here when the
     * quota would not fit without it.
     */
    whole = false,
  ): Promise<Admission | SkippedUpload> {
    const { offset, total } = request;
    checkCount(offset, 'offset');
    checkCount(total, 'size');
    if (offset > total) throw new FerryError('EINVAL', 'The resume offset is past the end of the file.');
    const home = await this.home(account);
    const vpath = this.normalize(cwd, target);
    if (vpath === '/') throw new FerryError('EISDIR');
    const parent = await this.folder(home, vparent(vpath));
    const host = path.join(parent, vbase(vpath));

    const locks = this.locksOf(home);
    if (locks.has(vpath)) throw new FerryError('EBUSY');
    locks.add(vpath);
    const held = [vpath];
    const unlock = (): void => {
      for (const p of held) locks.delete(p);
      held.length = 0;
    };
    try {
      const partialName = this.partialName(vpath);
      const partialDir = this.partialDir(home);
      const partialPath = path.join(partialDir, partialName);
      const lookTarget = !(whole && request.exists === 'overwrite');
      const [existing, partialSt] = await Promise.all([lookTarget ? lstatOrNull(host) : null, whole ? null : lstatOrNull(partialPath)]);
      if (existing?.isDirectory()) throw new FerryError('EISDIR');
      let chosen: UploadTarget = { path: vpath, host };
      if (existing) {
        if (request.exists === 'fail') throw new FerryError('EEXIST');
        if (request.exists === 'skip') {
          unlock();
          return new SkippedUpload(vpath, existing.size);
        }
        if (request.exists === 'rename') chosen = await this.freeName(locks, held, parent, vpath);
      }

      let have = partialSt?.isFile() ? partialSt.size : 0;
      if (offset > 0 && have !== offset) {
        throw new FerryError(
          'EOFFSET',
          `The resume offset (${offset}) does not match what the server holds (${have} bytes).`,
          { offset: have },
        );
      }

      const tracker = this.tracker(account, home);
      const need = total - offset;
      if (account.quota !== null) {
        const quota = account.quota;
        const usage = async (): Promise<number> => {
          let used = tracker.peek();
          while (used === null) {
            await tracker.current();
            used = tracker.peek();
          }
          return used;
        };
        // Starting over truncates the old partial, which gives its bytes back.
        let used = await usage();
        // Synchronous from here to reserve(): concurrent uploads see each other's reservations.
        let free = Math.max(0, quota - (used - (offset === 0 ? have : 0)) - tracker.reserved);
        if (need > free && whole) {
          const st = await lstatOrNull(partialPath);
          have = st?.isFile() ? st.size : 0;
          used = await usage();
          free = Math.max(0, quota - (used - have) - tracker.reserved);
        }
        if (need > free) {
          throw new FerryError(
            'EQUOTA',
            `Not enough quota left: this upload needs ${formatBytes(need)} but only ${formatBytes(free)} is free.`,
            { need, free },
          );
        }
      }
      tracker.reserve(need);
      // A whole upload's partial is counted from when its commit creates it.
      if (!whole) tracker.activePartials.set(partialName, have);
      const pickFreeName = async (taken: UploadTarget): Promise<UploadTarget> => {
        const next = await this.freeName(locks, held, path.dirname(taken.host), taken.path);
        // Keep the requested path locked: it names the partial.
        if (taken.path !== vpath) {
          locks.delete(taken.path);
          held.splice(held.indexOf(taken.path), 1);
        }
        return next;
      };
      return { offset, total, need, have, tracker, partialName, partialDir, partialPath, chosen, unlock, pickFreeName };
    } catch (err) {
      unlock();
      throw err;
    }
  }

  async openDownload(account: Account, cwd: string, target: string, offset: number): Promise<Download> {
    return guard(async () => {
      checkCount(offset, 'offset');
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      const real = await this.realInside(home, this.hostOf(home, vpath));
      const st = await fsp.stat(real);
      if (st.isDirectory()) throw new FerryError('EISDIR');
      if (!st.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
      // The real path has no links left; O_NOFOLLOW refuses one swapped in since.
      const handle = await fsp.open(real, fs.constants.O_RDONLY | O_NOFOLLOW);
      try {
        const opened = await handle.stat();
        if (!opened.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
        if (offset > opened.size) throw new FerryError('EINVAL', 'The offset is past the end of the file.');
        return new LocalDownload(handle, vpath, opened.size, offset, Math.round(opened.mtimeMs));
      } catch (err) {
        await handle.close();
        throw err;
      }
    });
  }

  /**
   * A whole file of at most `max` bytes, read in one go with its SHA-256 (ETOOBIG with
   * details.fileSize when it is bigger). The folder is resolved and jail-checked like any
   * path (shared within a burst); the file itself is opened with O_NOFOLLOW, so a link
   * there takes the careful way (realpath of the whole path, which must stay inside).
   * O_NONBLOCK: opening a FIFO someone left in a home must not hang a thread.
   */
  async readWhole(account: Account, cwd: string, target: string, max: number): Promise<WholeFile> {
    return guard(async () => {
      checkCount(max, 'limit');
      const limit = Math.min(max, READ_MAX);
      const home = await this.home(account);
      const vpath = this.normalize(cwd, target);
      if (vpath === '/') throw new FerryError('EISDIR');
      const parent = await this.folder(home, vparent(vpath));
      let fd: number;
      try {
        fd = await openFd(path.join(parent, vbase(vpath)), READ_WHOLE_FLAGS);
      } catch (err) {
        if (sysCode(err) !== 'ELOOP') throw err;
        // A link: follow it only as far as the home allows.
        fd = await openFd(await this.realInside(home, this.hostOf(home, vpath)), READ_WHOLE_FLAGS);
      }
      try {
        // fstat and close of a descriptor we only read never wait for the disk: made
        // directly, not through the I/O threads (a round trip there costs more).
        const st = fs.fstatSync(fd);
        if (st.isDirectory()) throw new FerryError('EISDIR');
        if (!st.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
        if (st.size > limit) throw tooBig(st.size, limit);
        const data = smallBuffer(st.size);
        let got = 0;
        while (got < data.length) {
          const n = await readFd(fd, data, got, data.length - got, got);
          if (n === 0) throw new FerryError('EIO', 'The file changed while it was being read.');
          got += n;
        }
        const sha256 = createHash('sha256').update(data).digest('hex');
        return { path: vpath, data, mtime: Math.round(st.mtimeMs), sha256 };
      } finally {
        try {
          fs.closeSync(fd);
        } catch {
          // Nothing was written through it: nothing to lose.
        }
      }
    });
  }

  async hostPath(account: Account, cwd: string): Promise<string> {
    // Asked when a command starts: from now on it may change folders behind our back.
    this.resolved.clear();
    return guard(async () => {
      const home = await this.home(account);
      const real = await this.realInside(home, this.hostOf(home, this.normalize('/', cwd)));
      if (!(await fsp.stat(real)).isDirectory()) throw new FerryError('ENOTDIR');
      return real;
    });
  }

  invalidateUsage(account: Account): void {
    this.trackers.get(account.name)?.invalidate();
    // A command may have moved folders or planted links: resolve everything afresh.
    this.resolved.clear();
  }

  async close(): Promise<void> {
    await this.batcher.drain();
    this.closing = true;
    this.fsSync?.close();
  }

  // Helpers.

  private async home(account: Account): Promise<Home> {
    checkAccountName(account.name);
    const name = account.name;
    const real = await this.resolved.get(`home\0${name}`, () => realpathNative(path.join(this.root, 'homes', name)));
    return { name, real };
  }

  /**
   * The real folder behind the virtual folder `vdir`: inside the home (realInside), and a
   * folder (ENOTDIR). Shared by the requests of a short window (a burst of small files).
   */
  private folder(home: Home, vdir: string): Promise<string> {
    const host = this.hostOf(home, vdir);
    return this.resolved.get(`dir\0${host}`, async () => {
      const real = await this.realInside(home, host);
      if (!(await statPath(real)).isDirectory()) throw new FerryError('ENOTDIR');
      return real;
    });
  }

  /** The host path a virtual path maps to, before any link is resolved. */
  private hostOf(home: Home, vpath: string): string {
    return vpath === '/' ? home.real : path.join(home.real, ...vpath.slice(1).split('/'));
  }

  /**
   * realpath(host), which must be inside the home. When it does not exist, the deepest
   * existing ancestor must be inside (and a dangling link there must not point out), so
   * that ENOENT never tells a user anything about the world outside their home.
   */
  private async realInside(home: Home, host: string): Promise<string> {
    let real: string;
    try {
      real = await fsp.realpath(host);
    } catch (err) {
      if (isMissing(err)) await this.checkMissing(home, host);
      throw err;
    }
    if (!isInside(real, home.real)) throw outside();
    return real;
  }

  private async checkMissing(home: Home, host: string): Promise<void> {
    let child = host;
    let current = path.dirname(host);
    while (isInside(current, home.real)) {
      let real: string;
      try {
        real = await fsp.realpath(current);
      } catch (err) {
        if (!isMissing(err) || current === home.real) throw err;
        child = current;
        current = path.dirname(current);
        continue;
      }
      if (!isInside(real, home.real)) throw outside();
      const below = path.join(real, path.basename(child));
      const st = await lstatOrNull(below).catch(() => null);
      if (st?.isSymbolicLink()) {
        const link = await fsp.readlink(below);
        if (!isInside(path.resolve(real, link), home.real)) throw outside();
      }
      return;
    }
  }

  /** The real parent folder of a virtual path, and the host path of the entry itself (links not followed). */
  private async entryOf(home: Home, vpath: string): Promise<{ parent: string; host: string }> {
    const parent = await this.realInside(home, this.hostOf(home, vparent(vpath)));
    return { parent, host: path.join(parent, vbase(vpath)) };
  }

  /** Pick and lock 'name (n).ext' that neither exists nor is being uploaded. */
  private async freeName(locks: Set<string>, held: string[], parent: string, vpath: string): Promise<UploadTarget> {
    const dir = vparent(vpath);
    const name = vbase(vpath);
    for (let n = 1; n <= MAX_RENAME_TRIES; n++) {
      const candidate = numberedName(name, n);
      const cpath = vjoin(dir, candidate);
      if (locks.has(cpath)) continue;
      const host = path.join(parent, candidate);
      if (await lstatOrNull(host)) continue;
      if (locks.has(cpath)) continue;
      locks.add(cpath);
      held.push(cpath);
      return { path: cpath, host };
    }
    throw new FerryError('EEXIST', 'No free name was found for the renamed upload.');
  }

  private locksOf(home: Home): Set<string> {
    let set = this.locks.get(home.name);
    if (!set) {
      set = new Set();
      this.locks.set(home.name, set);
    }
    return set;
  }

  private tracker(account: Account, home: Home): UsageTracker {
    let tracker = this.trackers.get(account.name);
    if (!tracker) {
      tracker = new UsageTracker(home.real, this.partialDir(home), this.log);
      this.trackers.set(account.name, tracker);
    }
    return tracker;
  }

  private partialDir(home: Home): string {
    return path.join(this.root, 'state', 'partials', home.name);
  }

  private partialName(vpath: string): string {
    return `${createHash('sha256').update(vpath).digest('hex')}.part`;
  }

  private partialPath(home: Home, vpath: string): string {
    return path.join(this.partialDir(home), this.partialName(vpath));
  }
}

async function hashPrefix(handle: fsp.FileHandle, length: number, hash: StreamHash): Promise<void> {
  const opened = await handle.stat();
  if (opened.size !== length) {
    throw new FerryError('EOFFSET', 'The partial upload changed: start again.', { offset: opened.size });
  }
  const buffer = Buffer.allocUnsafe(Math.min(HASH_READ_BYTES, length));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) throw new FerryError('EOFFSET', 'The partial upload changed: start again.', { offset: position });
    await hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Delete what earlier runs of the server left in state/incoming: small files whose commit
 * a crash interrupted (never acknowledged, so nothing is lost). This run's own folder is
 * new and left alone, so uploads need not wait for the sweep.
 */
async function sweepOtherRuns(incomingRoot: string, run: string, log?: (line: string) => void): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(incomingRoot);
  } catch (err) {
    if (sysCode(err) !== 'ENOENT') log?.(`incoming: cannot list ${incomingRoot}: ${String(err)}`);
    return;
  }
  for (const name of names) {
    if (name === run) continue;
    try {
      await fsp.rm(path.join(incomingRoot, name), { recursive: true, force: true });
      log?.(`incoming: deleted uncommitted small files left by an earlier run (${name})`);
    } catch (err) {
      log?.(`incoming: cannot delete ${name}: ${String(err)}`);
    }
  }
}
