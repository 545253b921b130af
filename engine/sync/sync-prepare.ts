/**
 * Building a sync plan: walk both trees, decide how files compare (by content where the
 * remote lists stored digests: each file by the algorithm of its remote digest, XXH3-128
 * or SHA-256, and by XXH3-128 where the server offers it for files it has none of; else by
 * size and mtime), hash what must be hashed (local files unchanged since their last hash
 * are not read again; remote files without a stored digest are hashed by the server, a few
 * at a time), then plan (sync-plan.ts).
 */
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { CheckAlgorithm } from '../../shared/common/checks.js';
import { FerryError } from '../../shared/common/errors.js';
import type { SyncCompare, SyncFacts, SyncPlan, SyncRequest } from '../../shared/common/sync-model.js';
import { hashLocalFile } from '../../shared/node/checksums.js';
import { checkFor } from '../queue/transfers.js';
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
  /** The check asked for (default XXH3-128): files the remote holds no digest of are hashed with it, where the server offers it. */
  readonly check?: CheckAlgorithm;
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

  const compare: SyncCompare = remote.capabilities.listedHashes ? checkFor(remote, options.check) : 'size-mtime';
  if (compare !== 'size-mtime') await addHashes(remote, compare, remoteRoot, localRoot, local, remoteTree, state, signal);

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

/** The algorithms a file's facts hold a digest of. */
function digestsOf(f: SyncFacts | undefined): CheckAlgorithm[] {
  if (f?.type !== 'file') return [];
  return [...(f.xxh128 !== undefined ? (['xxh128'] as const) : []), ...(f.sha256 !== undefined ? (['sha256'] as const) : [])];
}

/**
 * Give every file that has a counterpart (on the other side, or in the base) its digest:
 * remote ones from the listing (XXH3-128 or SHA-256, as stored), else asked of the server
 * with `algorithm`; local ones with each algorithm their remote counterpart and base
 * have, from the state where unchanged, else read. A file that vanished meanwhile leaves
 * its tree.
 */
async function addHashes(
  remote: Remote,
  algorithm: CheckAlgorithm,
  remoteRoot: string,
  localRoot: string,
  local: Tree<LocalNode>,
  remoteTree: Tree,
  state: SyncState,
  signal?: AbortSignal,
): Promise<void> {
  const counterpart = (p: string, otherTree: Tree): boolean => otherTree.get(p)?.type === 'file' || state.base.get(p)?.type === 'file';
  const remoteWork = [...remoteTree].filter(([p, f]) => f.type === 'file' && digestsOf(f).length === 0 && counterpart(p, local)).map(([p]) => p);
  const localWork: Array<{ p: string; algorithm: CheckAlgorithm }> = [];
  for (const [p, f] of local) {
    if (f.type !== 'file' || !counterpart(p, remoteTree)) continue;
    // The remote's digest decides (the first it has, or the one it is asked for below); the
    // base's too, to tell what changed since.
    const remoteHas = digestsOf(remoteTree.get(p));
    const wanted = new Set<CheckAlgorithm>([...(remoteHas.length > 0 ? remoteHas.slice(0, 1) : [algorithm]), ...digestsOf(state.base.get(p)).slice(0, 1)]);
    for (const a of wanted) {
      const known = f.identity ? state.localHash(p, f.identity, a) : undefined;
      if (known) local.set(p, { ...local.get(p)!, [a]: known });
      else localWork.push({ p, algorithm: a });
    }
  }
  await Promise.all([
    eachLimited(localWork, LOCAL_HASHES_AT_ONCE, async ({ p, algorithm: a }) => {
      const f = local.get(p);
      if (f === undefined) return; // vanished while its other digest was taken
      const hashed = await hashLocalFile(path.join(localRoot, ...p.split('/')), a).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      });
      if (hashed === null) return void local.delete(p);
      local.set(p, { ...local.get(p)!, [a]: hashed.hex });
      if (f.identity) state.rememberHash(p, f.identity, a, hashed.hex);
    }, signal),
    eachLimited(remoteWork, REMOTE_HASHES_AT_ONCE, async (p) => {
      const found = await remote.hash(path.posix.join(remoteRoot, p), signal, algorithm).catch((err: unknown) => {
        if (err instanceof FerryError && err.code === 'ENOENT') return null;
        throw err;
      });
      if (found === null) return void remoteTree.delete(p);
      remoteTree.set(p, { type: 'file', size: found.size, mtime: found.mtime, [found.digest.algorithm]: found.digest.hex });
    }, signal),
  ]);
}
