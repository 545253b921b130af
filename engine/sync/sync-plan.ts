/**
 * The sync planner: from the two trees (and, for "both", the base recorded by the last
 * sync) to the list of actions, each with its reason. Pure: nothing here touches a disk
 * or a server, so every rule is tested directly. The rules, once:
 * - up / down make the target like the source; extras on the target go only with deleteExtras.
 * - both: a side changed since the base wins; changed on both sides is a conflict; an
 *   older copy never replaces a newer one (that too is a conflict); without a base the
 *   newer copy wins and equal times with different contents are a conflict.
 */
import { CHECK_NAMES } from '../../shared/common/checks.js';
import type { SyncAction, SyncActionKind, SyncCompare, SyncDirection, SyncFacts } from '../../shared/common/sync-model.js';
import type { Tree } from './sync-scan.js';

export interface PlanInput {
  readonly local: Tree;
  readonly remote: Tree;
  /** Each path as both sides held it after the last sync (null: never synced). */
  readonly base: ReadonlyMap<string, SyncFacts> | null;
  readonly direction: SyncDirection;
  readonly deleteExtras: boolean;
  readonly compare: SyncCompare;
}

type Side = 'local' | 'remote';

/** Modification times closer than this count as equal (SFTP and many filesystems keep whole seconds). */
const MTIME_SLACK_MS = 1000;

function sameTime(a: number, b: number): boolean {
  return Math.floor(a / MTIME_SLACK_MS) === Math.floor(b / MTIME_SLACK_MS);
}

/** Same content: by XXH3-128 or SHA-256 where both have the same one, else by size and mtime (to the second). */
export function sameFile(a: SyncFacts, b: SyncFacts): boolean {
  if (a.type !== b.type) return false;
  if (a.type !== 'file') return true;
  if (a.xxh128 !== undefined && b.xxh128 !== undefined) return a.xxh128 === b.xxh128;
  if (a.sha256 !== undefined && b.sha256 !== undefined) return a.sha256 === b.sha256;
  return a.size === b.size && sameTime(a.mtime, b.mtime);
}

/** Why two files count as the same: the digest they share, else size and time. */
function sameReason(l: SyncFacts, r: SyncFacts): string {
  if (l.xxh128 !== undefined && r.xxh128 !== undefined) return `same ${CHECK_NAMES.xxh128}`;
  if (l.sha256 !== undefined && r.sha256 !== undefined) return `same ${CHECK_NAMES.sha256}`;
  return 'same size and modification time';
}

function newer(a: SyncFacts, b: SyncFacts): boolean {
  return a.mtime >= b.mtime + MTIME_SLACK_MS;
}

function other(side: Side): Side {
  return side === 'local' ? 'remote' : 'local';
}

const HERE: Record<Side, string> = { local: 'here', remote: 'on the remote' };

export function planSync(input: PlanInput): SyncAction[] {
  const { local, remote, base, direction, deleteExtras, compare } = input;
  const actions: SyncAction[] = [];
  const add = (kind: SyncActionKind, p: string, reason: string, side?: Side): void => {
    const l = local.get(p);
    const r = remote.get(p);
    actions.push({ id: actions.length, kind, path: p, reason, ...(side ? { side } : {}), ...(l ? { local: l } : {}), ...(r ? { remote: r } : {}) });
  };
  const differs = compare === 'size-mtime' ? 'size or modification time differ' : `contents differ (${CHECK_NAMES[compare]})`;

  // Children of each folder, from both trees (the root is '').
  const children = new Map<string, Set<string>>();
  for (const tree of [local, remote]) {
    for (const p of tree.keys()) {
      const slash = p.lastIndexOf('/');
      const parent = slash < 0 ? '' : p.slice(0, slash);
      let set = children.get(parent);
      if (!set) children.set(parent, (set = new Set()));
      set.add(p);
    }
  }
  const under = (dir: string): string[] => [...(children.get(dir) ?? [])].sort();
  /** Every path under `dir` on one side, unchanged since the base (so deleting it loses nothing new). */
  const unchangedSinceBase = (dir: string, tree: Tree): boolean => {
    for (const p of tree.keys()) {
      if (!p.startsWith(`${dir}/`)) continue;
      const b = base?.get(p);
      const f = tree.get(p)!;
      if (!b || !sameFile(f, b)) return false;
    }
    return true;
  };

  /** Copy a folder that only `from` has to the other side: mkdir, then its contents. */
  const copyFolder = (p: string, from: Side, reason: string): void => {
    add('mkdir', p, reason, other(from));
    for (const c of under(p)) onlyOn(c, from);
  };

  /** `p` exists only on `side` (a file, a folder or something else). */
  const onlyOn = (p: string, side: Side): void => {
    const facts = (side === 'local' ? local : remote).get(p)!;
    const b = base?.get(p);
    if (facts.type === 'other') return add('keep', p, 'a link or special file: not synced', side);
    const target = other(side);
    const sourceOfTruth: Side | null = direction === 'up' ? 'local' : direction === 'down' ? 'remote' : null;
    let copy: boolean;
    let reason: string;
    if (sourceOfTruth === side) {
      copy = true;
      reason = `not ${HERE[target]}`;
    } else if (sourceOfTruth === target) {
      // An extra on the side being made like the other.
      if (deleteExtras) return add('delete', p, `not ${HERE[target]}`, side);
      return add('keep', p, `not ${HERE[target]} (deleting extras was not asked)`, side);
    } else if (b) {
      // both, and it was there at the last sync: the other side deleted it since.
      const unchanged = facts.type === 'dir' ? b.type === 'dir' && unchangedSinceBase(p, side === 'local' ? local : remote) : sameFile(facts, b);
      if (deleteExtras && unchanged) return add('delete', p, `deleted ${HERE[target]} since the last sync`, side);
      if (deleteExtras) return add('conflict', p, `deleted ${HERE[target]} since the last sync, changed ${HERE[side]}`);
      copy = true;
      reason = `deleted ${HERE[target]} since the last sync (deleting was not asked: copied back)`;
    } else {
      copy = true;
      reason = `only ${HERE[side]}`;
    }
    if (!copy) return;
    if (facts.type === 'dir') return copyFolder(p, side, reason);
    add(side === 'local' ? 'upload' : 'download', p, reason);
  };

  const bothFiles = (p: string, l: SyncFacts, r: SyncFacts): void => {
    if (sameFile(l, r)) return add('same', p, sameReason(l, r));
    if (direction === 'up') return add('upload', p, newer(r, l) ? `${differs}; the remote copy is newer and will be replaced` : differs);
    if (direction === 'down') return add('download', p, newer(l, r) ? `${differs}; the local copy is newer and will be replaced` : differs);
    const b = base?.get(p);
    if (b && b.type === 'file') {
      const changedLocal = !sameFile(l, b);
      const changedRemote = !sameFile(r, b);
      if (changedLocal && changedRemote) return add('conflict', p, 'changed on both sides since the last sync');
      if (changedLocal) return newer(r, l) ? add('conflict', p, 'changed here since the last sync, but the remote copy is newer') : add('upload', p, `changed here since the last sync; ${differs}`);
      if (changedRemote) return newer(l, r) ? add('conflict', p, 'changed on the remote since the last sync, but the local copy is newer') : add('download', p, `changed on the remote since the last sync; ${differs}`);
      return add('conflict', p, `${differs}, yet neither side changed since the last sync`);
    }
    if (newer(l, r)) return add('upload', p, `${differs}; newer here`);
    if (newer(r, l)) return add('download', p, `${differs}; newer on the remote`);
    return add('conflict', p, `${differs}, with the same modification time`);
  };

  const visit = (dir: string): void => {
    for (const p of under(dir)) {
      const l = local.get(p);
      const r = remote.get(p);
      if (l && !r) onlyOn(p, 'local');
      else if (r && !l) onlyOn(p, 'remote');
      else if (l && r) {
        if (l.type === 'other' || r.type === 'other') add('keep', p, 'a link or special file: not synced', l.type === 'other' ? 'local' : 'remote');
        else if (l.type === 'dir' && r.type === 'dir') visit(p);
        else if (l.type !== r.type) add('conflict', p, l.type === 'dir' ? 'a folder here, a file on the remote' : 'a file here, a folder on the remote');
        else bothFiles(p, l, r);
      }
    }
  };
  visit('');
  return actions;
}
