/**
 * Building a sync plan: walk both trees, decide how files compare (by SHA-256 where the
 * remote lists stored hashes, else by size and mtime), hash what must be hashed (local
 * files unchanged since their last hash are not read again; remote files without a stored
 * hash are hashed by the server, a few at a time), then plan (sync-plan.ts).
 */
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../shared/common/errors.js';
import type { SyncPlan, SyncRequest } from '../../shared/common/sync-model.js';
import { hashPrefix } from '../queue/file-io.js';
import type { Remote } from '../remote/remote.js';
import { planSync } from './sync-plan.js';
import { drain, scanLocal, scanRemote, type LocalNode, type Tree } from './sync-scan.js';
import { SyncState } from './sync-state.js';

/** Local files hashed at once (disk-bound), and remote hashes asked for at once (the server bounds its own work too). */
const LOCAL_HASHES_AT_ONCE = 2;
const REMOTE_HASHES_AT_ONCE = 4;

export interface PreparedSync {
  readonly plan: SyncPlan;
  readonly state: SyncState;
  /** The remote root as an absolute path of the remote. */
  readonly remoteRoot: string;
  readonly localRoot: string;
}

/** Run `work` over `items`, `limit` at a time (the first failure stops the rest), until `signal` aborts. */
function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  return drain([...items], limit, async (item) => {
    signal?.throwIfAborted();
    await work(item);
  });
}

async function hashLocalFile(file: string, size: number): Promise<string> {
  return (await hashPrefix(file, size, size)).digest();
}

/** The identity a pair's state is filed under: protocol, account, server and remote folder. */
export function remoteIdentity(remote: Remote, remoteRoot: string): string {
  return `${remote.protocol}://${encodeURIComponent(remote.user.name)}@${remote.host}${remoteRoot}`;
}

export interface PrepareOptions {
  /** Where the pairs' sync states are kept (the config folder). */
  readonly stateDir: string;
  readonly signal?: AbortSignal;
  /** Scan the local folder with blocking calls: only for a process with nothing else to serve (the CLI). */
  readonly blockingIo?: boolean;
}

export async function prepareSync(remote: Remote, request: SyncRequest, options: PrepareOptions): Promise<PreparedSync> {
  const { stateDir, signal } = options;
  const localRoot = path.resolve(request.localRoot);
  const remoteRoot = path.posix.resolve(remote.cwd, request.remoteRoot);
  // The state is read while the server answers the first question.
  const stateLoad = SyncState.load(stateDir, { localRoot, remote: remoteIdentity(remote, remoteRoot) });
  // A missing root is an empty one on the side being filled; the run creates it.
  const rootEntry = await remote.statOrNull(remoteRoot);
  if (rootEntry && rootEntry.type !== 'dir') throw new FerryError('ENOTDIR', `${remoteRoot} on the server is not a folder`);
  if (!rootEntry && request.direction === 'down') throw new FerryError('ENOENT', `${remoteRoot} does not exist on the server`);
  const localExists = await lstat(localRoot).then((s) => s.isDirectory() || 'file', () => false);
  if (localExists === 'file') throw new FerryError('ENOTDIR', `${localRoot} is not a folder`);
  if (!localExists && request.direction === 'up') throw new FerryError('ENOENT', `${localRoot} does not exist`);

  // The remote walk first: its listings are on their way while the local folder is read.
  const remoteScan = rootEntry ? scanRemote(remote, remoteRoot, signal) : Promise.resolve<Tree>(new Map());
  const localScan = localExists ? scanLocal(localRoot, { blocking: options.blockingIo ?? false }) : Promise.resolve<Tree<LocalNode>>(new Map());
  const [remoteTree, local, state] = await Promise.all([remoteScan, localScan, stateLoad]);
  state.keepHashesOf(new Set(local.keys()));

  const compare = remote.capabilities.listedHashes ? 'sha256' : 'size-mtime';
  if (compare === 'sha256') await addHashes(remote, remoteRoot, localRoot, local, remoteTree, state, signal);

  const base = state.base.size > 0 ? state.base : null;
  const actions = planSync({ local, remote: remoteTree, base, direction: request.direction, deleteExtras: request.deleteExtras, compare });
  let bytesUp = 0;
  let bytesDown = 0;
  for (const a of actions) {
    if (a.kind === 'upload') bytesUp += a.local?.size ?? 0;
    if (a.kind === 'download') bytesDown += a.remote?.size ?? 0;
  }
  const plan: SyncPlan = {
    id: `s${randomBytes(6).toString('hex')}`,
    localRoot,
    remoteRoot,
    direction: request.direction,
    deleteExtras: request.deleteExtras,
    compare,
    hasBase: base !== null,
    actions,
    bytesUp,
    bytesDown,
  };
  return { plan, state, remoteRoot, localRoot };
}

/**
 * Give every file that has a counterpart (on the other side, or in the base) its SHA-256:
 * local ones from the state where unchanged, else read; remote ones from the listing,
 * else asked of the server. A file that vanished meanwhile leaves its tree.
 */
async function addHashes(remote: Remote, remoteRoot: string, localRoot: string, local: Tree<LocalNode>, remoteTree: Tree, state: SyncState, signal?: AbortSignal): Promise<void> {
  const counterpart = (p: string, otherTree: Tree): boolean => otherTree.get(p)?.type === 'file' || state.base.get(p)?.type === 'file';
  const localWork: string[] = [];
  for (const [p, f] of local) {
    if (f.type !== 'file' || !counterpart(p, remoteTree)) continue;
    const known = f.identity ? state.localHash(p, f.identity) : undefined;
    if (known) local.set(p, { ...f, sha256: known });
    else localWork.push(p);
  }
  const remoteWork = [...remoteTree].filter(([p, f]) => f.type === 'file' && f.sha256 === undefined && counterpart(p, local)).map(([p]) => p);

  await Promise.all([
    eachLimited(localWork, LOCAL_HASHES_AT_ONCE, async (p) => {
      const f = local.get(p)!;
      const sha256 = await hashLocalFile(path.join(localRoot, ...p.split('/')), f.size).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      });
      if (sha256 === null) return void local.delete(p);
      local.set(p, { ...f, sha256 });
      if (f.identity) state.rememberHash(p, f.identity, sha256);
    }, signal),
    eachLimited(remoteWork, REMOTE_HASHES_AT_ONCE, async (p) => {
      const found = await remote.hash(path.posix.join(remoteRoot, p), signal).catch((err: unknown) => {
        if (err instanceof FerryError && err.code === 'ENOENT') return null;
        throw err;
      });
      if (found === null) return void remoteTree.delete(p);
      remoteTree.set(p, { type: 'file', size: found.size, mtime: found.mtime, sha256: found.sha256 });
    }, signal),
  ]);
}
