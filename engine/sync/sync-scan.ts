/**
 * The two trees a sync compares, walked into flat maps keyed by the path relative to the
 * root ('/'-separated): the local folder (lstat, so links are never followed) and the
 * remote one (folders listed a few at a time). Both walks are bounded like a download.
 */
import type { Stats } from 'node:fs';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import path from 'node:path';
import { algorithmOfHex } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { SyncFacts } from '../../shared/common/sync-model.js';
import { DOWNLOAD_LIMITS, type DownloadLimits } from '../queue/plan.js';
import { assertSafeName, isTransferPartial, joinRemote } from '../queue/local-files.js';
import { WALK_TYPES } from '../../shared/common/messages.js';
import type { Remote, WalkPage } from '../remote/remote.js';

/**
 * A local file's identity: its stored hash is valid while all of these are unchanged
 * (ctime moves on any write, and no one can set it back). Times in ms with the
 * filesystem's sub-millisecond part (a double keeps microseconds).
 */
export interface LocalIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

export interface LocalNode extends SyncFacts {
  readonly identity?: LocalIdentity;
}

export type Tree<T extends SyncFacts = SyncFacts> = Map<string, T>;

/** Folders listed at once while the remote tree is walked, and local folders read at once. */
const LISTS_AT_ONCE = 16;
const FOLDERS_AT_ONCE = 8;

function tooBig(root: string, limits: DownloadLimits, what: 'entries' | 'depth'): FerryError {
  const why = what === 'entries' ? `holds more than ${limits.entries} files and folders` : `is nested more than ${limits.depth} folders deep`;
  return new FerryError('ETOOBIG', `${root} ${why}: too big to sync at once (sync a subfolder)`, { limit: what, max: limits[what] });
}


function localFacts(st: Stats): LocalNode {
  if (st.isFile()) return { type: 'file', size: st.size, mtime: Math.floor(st.mtimeMs), identity: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } };
  return { type: st.isDirectory() ? 'dir' : 'other', size: 0, mtime: Math.floor(st.mtimeMs) };
}

/**
 * Everything under `root` (not `root` itself). Download partials (`.NAME.ferry-part`) are
 * left out: they are a transfer's, not the user's. ENOENT when `root` does not exist.
 * `blocking` reads with synchronous calls (a few microseconds each instead of a trip
 * through the I/O threads): only for a process with nothing else to serve (the CLI).
 */
export async function scanLocal(root: string, options: { limits?: DownloadLimits; blocking?: boolean } = {}): Promise<Tree<LocalNode>> {
  const limits = options.limits ?? DOWNLOAD_LIMITS;
  const st = await lstat(root).catch((err: unknown) => {
    throw toFerryError(err);
  });
  if (!st.isDirectory()) throw new FerryError('ENOTDIR', `${root} is not a folder`);
  const tree: Tree<LocalNode> = new Map();
  const readFolder = async (dir: string): Promise<Array<[string, Stats | null]>> => {
    if (options.blocking) {
      const names = readdirSync(dir).filter((n) => !isTransferPartial(n));
      return names.map((n) => [n, lstatSync(path.join(dir, n), { throwIfNoEntry: false }) ?? null]);
    }
    const names: string[] = [];
    for await (const d of await opendir(dir)) if (!isTransferPartial(d.name)) names.push(d.name);
    return Promise.all(names.map(async (n) => [n, await lstat(path.join(dir, n)).catch(() => null)] as [string, Stats | null]));
  };
  // Folders are read a few at a time (one folder's calls alone leave the I/O threads idle).
  const pending: Array<{ dir: string; rel: string; depth: number }> = [{ dir: root, rel: '', depth: 1 }];
  const walkOne = async (job: { dir: string; rel: string; depth: number }): Promise<void> => {
    if (job.depth > limits.depth) throw tooBig(root, limits, 'depth');
    for (const [name, s] of await readFolder(job.dir)) {
      if (!s) continue; // deleted meanwhile
      const key = job.rel === '' ? name : `${job.rel}/${name}`;
      const facts = localFacts(s);
      tree.set(key, facts);
      if (tree.size > limits.entries) throw tooBig(root, limits, 'entries');
      if (facts.type === 'dir') pending.push({ dir: path.join(job.dir, name), rel: key, depth: job.depth + 1 });
    }
  };
  await drain(pending, options.blocking ? 1 : FOLDERS_AT_ONCE, walkOne);
  return tree;
}

/** Run `work` on every job of `pending` (which the work may grow), `limit` at a time; the first failure wins. */
export async function drain<T>(pending: T[], limit: number, work: (job: T) => Promise<void>): Promise<void> {
  let running = 0;
  let failure: unknown = null;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (failure !== null) {
        if (running === 0) reject(toFerryError(failure));
        return;
      }
      while (running < limit && pending.length > 0) {
        running++;
        work(pending.shift()!).then(
          () => {
            running--;
            next();
          },
          (err: unknown) => {
            running--;
            failure ??= err;
            next();
          },
        );
      }
      if (running === 0 && pending.length === 0) resolve();
    };
    next();
  });
}

/**
 * Everything under the remote folder `root`, with each file's stored SHA-256 where the
 * listing carries one. Names the local side could not hold safely are refused (ENAME).
 * Walked by the remote when it can (one request a page of the whole tree), else folder by
 * folder; both give the same tree under the same limits.
 */
export async function scanRemote(remote: Remote, root: string, signal?: AbortSignal, limits: DownloadLimits = DOWNLOAD_LIMITS): Promise<Tree> {
  if (remote.walk) {
    try {
      return await walkRemote(remote.walk(root, signal), root, signal, limits);
    } catch (err) {
      // A remote that turned out not to walk said so before any page: list instead.
      if (toFerryError(err).code !== 'ENOTSUP') throw err;
    }
  }
  return listRemote(remote, root, signal, limits);
}

/** scanRemote() from the remote's walk: records come each after its folder's. */
async function walkRemote(pages: AsyncIterable<WalkPage>, root: string, signal: AbortSignal | undefined, limits: DownloadLimits): Promise<Tree> {
  const tree: Tree = new Map();
  /** Folders left out with their contents (download partials' names). */
  const skipped = new Set<string>();
  for await (const page of pages) {
    signal?.throwIfAborted();
    for (const [rel, code, size, mtime, , hex] of page.records) {
      const slash = rel.lastIndexOf('/');
      const parent = slash < 0 ? '' : rel.slice(0, slash);
      const name = rel.slice(slash + 1);
      if (skipped.has(parent) || isTransferPartial(name)) {
        if (WALK_TYPES[code] === 'dir') skipped.add(rel);
        continue;
      }
      assertSafeName(name);
      const kind = WALK_TYPES[code];
      const type = kind === 'file' || kind === 'dir' ? kind : 'other';
      // The same bound as listing folder by folder: a folder at the deepest level allowed
      // is an error even when empty (listing it would go one level deeper).
      if (type === 'dir' && slashes(rel) + 1 >= limits.depth) throw tooBig(root, limits, 'depth');
      const algorithm = hex === '' ? null : algorithmOfHex(hex);
      tree.set(rel, { type, size: type === 'file' ? size : 0, mtime, ...(algorithm ? { [algorithm]: hex } : {}) });
      if (tree.size > limits.entries) throw tooBig(root, limits, 'entries');
    }
  }
  return tree;
}

function slashes(rel: string): number {
  let n = 0;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

/** scanRemote() by listing each folder (a few at a time). */
async function listRemote(remote: Remote, root: string, signal: AbortSignal | undefined, limits: DownloadLimits): Promise<Tree> {
  const tree: Tree = new Map();
  const pending: Array<{ dir: string; rel: string; depth: number }> = [{ dir: root, rel: '', depth: 1 }];
  await drain(pending, LISTS_AT_ONCE, async (job) => {
    signal?.throwIfAborted();
    if (job.depth > limits.depth) throw tooBig(root, limits, 'depth');
    const { entries } = await remote.list(job.dir);
    for (const e of entries) {
      if (isTransferPartial(e.name)) continue;
      assertSafeName(e.name);
      const key = job.rel === '' ? e.name : `${job.rel}/${e.name}`;
      const type = e.type === 'file' || e.type === 'dir' ? e.type : 'other';
      tree.set(key, { type, size: type === 'file' ? e.size : 0, mtime: e.mtime, ...(e.sha256 !== undefined ? { sha256: e.sha256 } : {}), ...(e.xxh128 !== undefined ? { xxh128: e.xxh128 } : {}) });
      if (tree.size > limits.entries) throw tooBig(root, limits, 'entries');
      if (type === 'dir') pending.push({ dir: joinRemote(job.dir, e.name), rel: key, depth: job.depth + 1 });
    }
  });
  return tree;
}
