/**
 * The two trees a sync compares, walked into flat maps keyed by the path relative to the
 * root ('/'-separated): the local folder (lstat, so links are never followed) and the
 * remote one (folders listed a few at a time). Both walks are bounded like a download.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { SyncFacts } from '../../shared/common/sync-model.js';
import { DOWNLOAD_LIMITS, type DownloadLimits } from '../queue/plan.js';
import { assertSafeName, joinRemote } from '../queue/local-files.js';
import type { Remote } from '../remote/remote.js';

/** A local file's identity: its stored hash is valid while all of these are unchanged (ctime moves on any write). */
export interface LocalIdentity {
  readonly ino: string;
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

export interface LocalNode extends SyncFacts {
  readonly identity?: LocalIdentity;
}

export type Tree<T extends SyncFacts = SyncFacts> = Map<string, T>;

/** Folders listed at once while the remote tree is walked. */
const LISTS_AT_ONCE = 8;

function tooBig(root: string, limits: DownloadLimits, what: 'entries' | 'depth'): FerryError {
  const why = what === 'entries' ? `holds more than ${limits.entries} files and folders` : `is nested more than ${limits.depth} folders deep`;
  return new FerryError('ETOOBIG', `${root} ${why}: too big to sync at once (sync a subfolder)`, { limit: what, max: limits[what] });
}

function isPartialName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.ferry-part');
}

function localFacts(st: BigIntStats): LocalNode {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  const size = type === 'file' ? Number(st.size) : 0;
  const identity: LocalIdentity = { ino: String(st.ino), size, mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  return { type, size, mtime: Number(st.mtimeNs / 1_000_000n), ...(type === 'file' ? { identity } : {}) };
}

/**
 * Everything under `root` (not `root` itself). Download partials (`.NAME.ferry-part`) are
 * left out: they are a transfer's, not the user's. ENOENT when `root` does not exist.
 */
export async function scanLocal(root: string, limits: DownloadLimits = DOWNLOAD_LIMITS): Promise<Tree<LocalNode>> {
  const st = await lstat(root).catch((err: unknown) => {
    throw toFerryError(err);
  });
  if (!st.isDirectory()) throw new FerryError('ENOTDIR', `${root} is not a folder`);
  const tree: Tree<LocalNode> = new Map();
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > limits.depth) throw tooBig(root, limits, 'depth');
    const names: string[] = [];
    for await (const d of await opendir(dir)) if (!isPartialName(d.name)) names.push(d.name);
    names.sort();
    const stats = await Promise.all(names.map((n) => lstat(path.join(dir, n), { bigint: true }).catch(() => null)));
    const subdirs: Array<[string, string]> = [];
    names.forEach((name, i) => {
      const s = stats[i];
      if (!s) return; // deleted meanwhile
      const key = rel === '' ? name : `${rel}/${name}`;
      const facts = localFacts(s);
      tree.set(key, facts);
      if (tree.size > limits.entries) throw tooBig(root, limits, 'entries');
      if (facts.type === 'dir') subdirs.push([path.join(dir, name), key]);
    });
    for (const [child, key] of subdirs) await walk(child, key, depth + 1);
  };
  await walk(root, '', 1);
  return tree;
}

/**
 * Everything under the remote folder `root`, with each file's stored SHA-256 where the
 * listing carries one. Names the local side could not hold safely are refused (ENAME).
 */
export async function scanRemote(remote: Remote, root: string, signal?: AbortSignal, limits: DownloadLimits = DOWNLOAD_LIMITS): Promise<Tree> {
  const tree: Tree = new Map();
  const pending: Array<{ dir: string; rel: string; depth: number }> = [{ dir: root, rel: '', depth: 1 }];
  let running = 0;
  let failure: unknown = null;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (failure !== null) {
        if (running === 0) reject(toFerryError(failure));
        return;
      }
      while (running < LISTS_AT_ONCE && pending.length > 0) {
        const job = pending.shift()!;
        running++;
        void listOne(job).then(
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
    const listOne = async (job: { dir: string; rel: string; depth: number }): Promise<void> => {
      signal?.throwIfAborted();
      if (job.depth > limits.depth) throw tooBig(root, limits, 'depth');
      const { entries } = await remote.list(job.dir);
      for (const e of entries) {
        if (isPartialName(e.name)) continue;
        assertSafeName(e.name);
        const key = job.rel === '' ? e.name : `${job.rel}/${e.name}`;
        const type = e.type === 'file' || e.type === 'dir' ? e.type : 'other';
        tree.set(key, { type, size: type === 'file' ? e.size : 0, mtime: e.mtime, ...(e.sha256 !== undefined ? { sha256: e.sha256 } : {}) });
        if (tree.size > limits.entries) throw tooBig(root, limits, 'entries');
        if (type === 'dir') pending.push({ dir: joinRemote(job.dir, e.name), rel: key, depth: job.depth + 1 });
      }
    };
    next();
  });
  return tree;
}
