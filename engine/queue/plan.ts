/**
 * What an upload or a download will move, worked out before anything moves: local folders
 * scanned (sizes and mtimes) and the remote folders made, or remote folders listed (names
 * checked before they become local paths) and the local folders made; and the bytes an
 * upload really adds against the quota.
 */
import { statSync, type Stats } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { toFerryError, FerryError } from '../../shared/common/errors.js';
import { formatBytes } from '../../shared/common/size.js';
import type { ConflictPolicy } from '../../shared/common/transfer-model.js';
import type { Remote } from '../remote/remote.js';
import type { Df, Entry } from '../../shared/common/messages.js';
import { assertSafeName, joinRemote, remoteBasename, safeChildPaths, safeLocalFolder, safeLocalPath } from './local-files.js';
import { RESUME_THRESHOLD } from './transfers.js';

export interface LocalFile {
  readonly local: string;
  readonly remote: string;
  readonly size: number;
  readonly mtime: number;
}

/** A local folder of an upload: the remote folder it becomes, made with its rwx bits (less the server's umask). */
export interface LocalFolder {
  readonly remote: string;
  readonly mode: number;
}

/** A local folder's rwx bits (0o755 when it cannot be read: the usual default). */
async function folderMode(local: string, blocking: boolean): Promise<number> {
  try {
    return (blocking ? statSync(local) : await stat(local)).mode & 0o777;
  } catch {
    return 0o755;
  }
}

export interface RemoteFile {
  readonly remote: string;
  readonly local: string;
  readonly size: number;
}

/** Files whose size and mtime are read at once while a folder is scanned. */
const SCAN_PARALLEL = 32;
/** Requests sent at once while folders are made or partials asked about. */
const REQUESTS_AT_ONCE = 16;

/**
 * The files and folders under the local folder `local`, in name order, as they will be
 * called under `remote`. Links to files are followed (like scp -r); links to folders are
 * not (no loops). With `blocking`, sizes are read with blocking calls (QueueOptions.blockingSmallIo).
 */
async function scanLocal(local: string, remote: string, files: LocalFile[], dirs: LocalFolder[], blocking: boolean): Promise<void> {
  const entries = await readdir(local, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const candidates = entries.filter((e) => e.isFile() || e.isSymbolicLink());
  // A dangling link or an unreadable entry is not sent.
  const infos: Array<Stats | null> = new Array(candidates.length).fill(null);
  if (blocking) {
    for (let i = 0; i < candidates.length; i++) {
      try {
        infos[i] = statSync(path.join(local, candidates[i]!.name));
      } catch {
        infos[i] = null;
      }
    }
  }
  for (let i = 0; i < candidates.length && !blocking; i += SCAN_PARALLEL) {
    await Promise.all(
      candidates.slice(i, i + SCAN_PARALLEL).map(async (entry, k) => {
        infos[i + k] = await stat(path.join(local, entry.name)).catch(() => null);
      }),
    );
  }
  const info = new Map(candidates.map((e, i) => [e, infos[i]!] as const));
  for (const entry of entries) {
    const childLocal = path.join(local, entry.name);
    const childRemote = joinRemote(remote, entry.name);
    if (entry.isDirectory()) {
      dirs.push({ remote: childRemote, mode: await folderMode(childLocal, blocking) });
      await scanLocal(childLocal, childRemote, files, dirs, blocking);
    } else {
      const st = info.get(entry);
      if (st?.isFile()) files.push({ local: childLocal, remote: childRemote, size: st.size, mtime: st.mtimeMs });
    }
  }
}

/**
 * How far one download may reach. The server is untrusted: without these, a listing that
 * nests folders without end, or names millions of files, would keep the client listing,
 * making folders and holding rows until it ran out of memory or disk.
 */
export interface DownloadLimits {
  /** Levels of folders below a downloaded folder (its subfolders are level 1, theirs 2, …). */
  readonly depth: number;
  /** Files and folders in one download, counted across all its folders. */
  readonly entries: number;
}

/** Generous for real trees (a deep node_modules is about 20 levels), small for a hostile one. */
export const DOWNLOAD_LIMITS: DownloadLimits = { depth: 64, entries: 100_000 };

/** One download's walk of remote folders: its limits, what it has counted so far, and the folder being walked. */
interface RemoteWalk {
  readonly limits: DownloadLimits;
  entries: number;
  root: string;
  /** Runs a listing when there is room (LISTINGS_AT_ONCE). */
  readonly listing: <T>(call: () => Promise<T>) => Promise<T>;
}

function count(walk: RemoteWalk, n: number): void {
  walk.entries += n;
  if (walk.entries > walk.limits.entries) {
    throw new FerryError('ETOOBIG', `${walk.root} holds more than ${walk.limits.entries} files and folders: refusing to download it (the limit of one download)`, {
      limit: 'entries',
      max: walk.limits.entries,
    });
  }
}

/** Listings in flight at once during one download's scan (one round trip per level of folders, not per folder). */
const LISTINGS_AT_ONCE = 16;

/** At most `n` of the calls given to run() at once. */
function limiter(n: number): <T>(call: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (call) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await call();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * The remote folder `remote` and everything under it, made as local folders under
 * `localRoot/relative`. `depth` is the folder's level below the download's root (0).
 * Subfolders are listed together (up to LISTINGS_AT_ONCE), their files kept in order.
 * `listing` is the folder's listing when it was already asked for.
 */
async function scanRemote(
  remoteApi: Remote,
  remote: string,
  localRoot: string,
  relative: string,
  out: RemoteFile[],
  walk: RemoteWalk,
  depth: number,
  listing?: Promise<{ entries: Entry[] }>,
): Promise<void> {
  if (depth > walk.limits.depth) {
    throw new FerryError('ETOOBIG', `${walk.root} is nested more than ${walk.limits.depth} folders deep: refusing to download it (the limit of one download)`, {
      limit: 'depth',
      max: walk.limits.depth,
    });
  }
  const { path: dir, realRoot } = await safeLocalFolder(localRoot, relative);
  await mkdir(dir, { recursive: true });
  const { entries } = await (listing ?? walk.listing(() => remoteApi.list(remote)));
  for (const entry of entries) assertSafeName(entry.name);
  const files = entries.filter((e) => e.type === 'file');
  count(walk, entries.filter((e) => e.type === 'file' || e.type === 'dir').length);
  const locals = await safeChildPaths(dir, realRoot, localRoot, files.map((e) => e.name));
  let i = 0;
  const below: Array<Promise<RemoteFile[]>> = [];
  for (const entry of entries) {
    const childRemote = joinRemote(remote, entry.name);
    if (entry.type === 'dir') {
      const inner: RemoteFile[] = [];
      below.push(scanRemote(remoteApi, childRemote, localRoot, `${relative}/${entry.name}`, inner, walk, depth + 1).then(() => inner));
    } else if (entry.type === 'file') {
      out.push({ remote: childRemote, local: locals[i++]!, size: entry.size });
    }
  }
  // Every subfolder is waited for, so that a failed one does not leave others running.
  const settled = await Promise.allSettled(below);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  for (const result of settled) if (result.status === 'fulfilled') out.push(...result.value);
}

/**
 * What an upload will really add, counted the way the server counts it: a partial that
 * will be resumed is already in `used` (only the rest is new), and a file that exists is
 * free when the policy skips it. One uploadInfo per file, so only asked when the plain
 * sum does not fit.
 */
async function remoteNeed(remote: Remote, files: readonly LocalFile[], policy: ConflictPolicy): Promise<number> {
  const needOf = async (f: LocalFile): Promise<number> => {
    const info = await remote.uploadInfo(f.remote, { size: f.size, mtime: Math.round(f.mtime) }).catch(() => null);
    if (info === null) return f.size;
    if (info.entry !== null && policy === 'skip') return 0;
    // Mirrors uploadFile(): only partials of files this big are resumed.
    if (remote.capabilities.resume && info.partial !== null && f.size >= RESUME_THRESHOLD && info.partial <= f.size) return f.size - info.partial;
    return f.size;
  };
  let total = 0;
  for (let i = 0; i < files.length; i += REQUESTS_AT_ONCE) {
    for (const n of await Promise.all(files.slice(i, i + REQUESTS_AT_ONCE).map(needOf))) total += n;
  }
  return total;
}

/**
 * Make the target folder and the remote folders of an upload: a level of folders at a
 * time, parents before children so that each gets its own mode (mkdir -p would give a
 * missing parent the default), and all of one level at once: one round trip per level,
 * not per folder. The first level's `mkdir -p` makes the target folder too.
 */
async function makeRemoteFolders(remote: Remote, remoteDir: string, dirs: readonly LocalFolder[]): Promise<void> {
  const levels = new Map<number, LocalFolder[]>();
  for (const dir of dirs) {
    const depth = dir.remote.split('/').filter(Boolean).length;
    const level = levels.get(depth);
    if (level) level.push(dir);
    else levels.set(depth, [dir]);
  }
  const depths = [...levels.keys()].sort((a, b) => a - b);
  if (depths.length === 0) {
    // The home and the current folder exist: no round trip to make them.
    if (remoteDir === '/' || remoteDir === '.') return;
    await remote.mkdir(remoteDir, true).catch((err: unknown) => {
      throw notAFolder(err, remoteDir);
    });
    return;
  }
  for (const [n, depth] of depths.entries()) {
    const results = await Promise.allSettled(levels.get(depth)!.map((dir) => remote.mkdir(dir.remote, true, dir.mode)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed < 0) continue;
    const err = (results[failed] as PromiseRejectedResult).reason;
    const dir = levels.get(depth)![failed]!.remote;
    // Which is not a folder: the target itself, or the folder being made in it.
    if (n === 0 && (await remote.statOrNull(remoteDir).catch(() => null))?.type !== 'dir') throw notAFolder(err, remoteDir);
    throw notAFolder(err, dir);
  }
}

/** mkdir -p fails with EEXIST (or ENOTDIR) when the path, or one on the way, is a file. */
function notAFolder(err: unknown, dir: string): FerryError {
  const e = toFerryError(err);
  return e.code === 'EEXIST' || e.code === 'ENOTDIR' ? new FerryError('ENOTDIR', `${dir} is not a folder`) : e;
}

/** The local side of an upload, scanned: its files and the folders to make. */
export interface UploadScan {
  readonly files: readonly LocalFile[];
  readonly dirs: readonly LocalFolder[];
}

/**
 * Scan the local files and folders of an upload of `localPaths` into `remoteDir`: needs
 * no connection, so a caller may start it while connecting.
 */
export async function scanUpload(localPaths: readonly string[], remoteDir: string, blocking: boolean): Promise<UploadScan> {
  const files: LocalFile[] = [];
  const dirs: LocalFolder[] = [];
  for (const local of localPaths) {
    const info = await stat(local).catch((err) => {
      throw new FerryError('ENOENT', `${local}: ${toFerryError(err).message}`);
    });
    const target = joinRemote(remoteDir, path.basename(path.resolve(local)));
    if (info.isDirectory()) {
      dirs.push({ remote: target, mode: info.mode & 0o777 });
      await scanLocal(local, target, files, dirs, blocking);
    } else if (info.isFile()) {
      files.push({ local, remote: target, size: info.size, mtime: info.mtimeMs });
    } else {
      throw new FerryError('EINVAL', `${local} is not a file or folder`);
    }
  }
  return { files, dirs };
}

/**
 * The files of an upload of `localPaths` into `remoteDir`, with the remote folders made
 * (the target folder too). With `checkQuota` (and a remote with a quota), an upload that
 * cannot fit is refused first (EQUOTA). `scanned` is the scan (scanUpload) when it was
 * started earlier, for these paths.
 */
export async function planUpload(
  remote: Remote,
  localPaths: readonly string[],
  remoteDir: string,
  options: { readonly blocking: boolean; readonly checkQuota: boolean; readonly policy: ConflictPolicy; readonly scanned?: Promise<UploadScan> },
): Promise<LocalFile[]> {
  // The free space is asked for while the local folders are scanned.
  const df = options.checkQuota && remote.capabilities.quota ? remote.df() : null;
  df?.catch(() => undefined);
  const { files, dirs } = await (options.scanned ?? scanUpload(localPaths, remoteDir, options.blocking));
  if (df) await checkQuota(remote, await df, files, options.policy);
  await makeRemoteFolders(remote, remoteDir, dirs);
  return [...files];
}

async function checkQuota(remote: Remote, df: Df, files: readonly LocalFile[], policy: ConflictPolicy): Promise<void> {
  let need = files.reduce((n, f) => n + f.size, 0);
  if (need > df.free) need = await remoteNeed(remote, files, policy);
  if (need <= df.free) return;
  const of = df.quota !== null ? ` of your ${formatBytes(df.quota)} quota` : '';
  throw new FerryError('EQUOTA', `this upload needs ${formatBytes(need)} but only ${formatBytes(df.free)} is left${of}`, { need, free: df.free });
}

/**
 * The files of a download of `remotePaths` into the local folder `localDir`, with the local
 * folders made. A folder nested deeper than `limits.depth`, or a download of more than
 * `limits.entries` files and folders, is refused (ETOOBIG) before any file moves.
 */
export async function planDownload(remote: Remote, remotePaths: readonly string[], localDir: string, limits: DownloadLimits = DOWNLOAD_LIMITS): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  const walk: RemoteWalk = { limits, entries: 0, root: '', listing: limiter(LISTINGS_AT_ONCE) };
  await mkdir(localDir, { recursive: true }).catch((err: unknown) => {
    throw notAFolder(err, localDir);
  });
  for (const target of remotePaths) {
    // Asked together: a folder's listing does not wait for the stat that says it is one
    // (for a file, the listing's error is dropped).
    const listing = remote.list(target);
    listing.catch(() => undefined);
    const entry = await remote.stat(target);
    const name = remoteBasename(target) || 'home';
    assertSafeName(name);
    walk.root = target;
    count(walk, 1);
    if (entry.type === 'dir') await scanRemote(remote, target, localDir, name, files, walk, 0, listing);
    else files.push({ remote: target, local: await safeLocalPath(localDir, name), size: entry.size });
  }
  return files;
}
