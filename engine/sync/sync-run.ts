/**
 * Carrying out a sync plan: folders first, then every copy through the transfer queue
 * (so each has its progress bar, its SHA-256 check and resume), then deletions, deepest
 * first. A file the plan found on the target is replaced; one the plan found missing is
 * not (if it appeared since the preview, the queue's conflict policy decides). The base
 * recorded for the next sync covers what this run made equal, and is saved even when
 * the run is interrupted.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import { SYNC_CHANGES, type SyncAction, type SyncFacts, type SyncOutcome, type SyncPlan } from '../../shared/common/sync-model.js';
import { FINAL_STATES, type TransferId, type TransferView } from '../../shared/common/transfer-model.js';
import type { TransferQueue } from '../queue/transfer-queue.js';
import type { Remote } from '../remote/remote.js';
import type { PreparedSync } from './sync-prepare.js';

export interface RunOptions {
  /** The action ids to carry out (default: every change in the plan). */
  readonly selected?: ReadonlySet<number>;
  readonly signal?: AbortSignal;
  /** Told the transfers of the run as soon as they are queued. */
  readonly onTransfers?: (views: readonly TransferView[]) => void;
}

type Failure = SyncOutcome['failed'][number];

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Resolves with the final view of each transfer once none is left to run (removed rows count as cancelled). */
function settled(queue: TransferQueue, ids: readonly TransferId[], signal?: AbortSignal): Promise<Map<TransferId, TransferView | undefined>> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const views = new Map(ids.map((id) => [id, queue.get(id)] as const));
      for (const v of views.values()) if (v && !FINAL_STATES.has(v.state)) return false;
      off();
      signal?.removeEventListener('abort', onAbort);
      resolve(views);
      return true;
    };
    const onAbort = (): void => {
      for (const id of ids) queue.cancel(id);
    };
    const off = queue.on(() => void check());
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    check();
  });
}

export async function runSync(prepared: PreparedSync, remote: Remote, queue: TransferQueue, options: RunOptions = {}): Promise<SyncOutcome> {
  const { plan, state, localRoot, remoteRoot } = prepared;
  const selected = options.selected;
  const chosen = plan.actions.filter((a) => SYNC_CHANGES.has(a.kind) && (selected === undefined || selected.has(a.id)));
  const failed: Failure[] = [];
  let done = 0;
  const localPath = (p: string): string => (p === '' ? localRoot : path.join(localRoot, ...p.split('/')));
  const remotePath = (p: string): string => (p === '' ? remoteRoot : path.posix.join(remoteRoot, p));
  const fail = (a: SyncAction, err: unknown): void => {
    const e = toFerryError(err);
    failed.push({ id: a.id, path: a.path, code: e.code, message: e.message });
  };
  /** After a success: what both sides now hold. */
  const agreed = (a: SyncAction, facts: SyncFacts | undefined): void => {
    done++;
    if (facts) state.setBase(a.path, facts);
    else state.dropBase(a.path);
  };

  try {
    // Unchanged pairs are part of the base too: a later "both" knows they were equal.
    for (const a of plan.actions) if (a.kind === 'same' && a.local) state.setBase(a.path, a.local.sha256 || a.local.xxh128 ? a.local : (a.remote ?? a.local));

    // Roots, then folders, parents before children.
    const wantsRemote = chosen.some((a) => a.kind === 'upload' || (a.kind === 'mkdir' && a.side === 'remote'));
    const wantsLocal = chosen.some((a) => a.kind === 'download' || (a.kind === 'mkdir' && a.side === 'local'));
    if (wantsRemote) await remote.mkdir(remoteRoot, true);
    if (wantsLocal) await mkdir(localRoot, { recursive: true });
    for (const a of chosen.filter((x) => x.kind === 'mkdir')) {
      options.signal?.throwIfAborted();
      try {
        if (a.side === 'remote') await remote.mkdir(remotePath(a.path), true);
        else await mkdir(localPath(a.path), { recursive: true });
        agreed(a, { type: 'dir', size: 0, mtime: 0 });
      } catch (err) {
        fail(a, err);
      }
    }

    // Copies, grouped by folder (one queue batch each) and by whether they replace a file.
    const groups = new Map<string, SyncAction[]>();
    for (const a of chosen) {
      if (a.kind !== 'upload' && a.kind !== 'download') continue;
      const replaces = a.kind === 'upload' ? a.remote !== undefined : a.local !== undefined;
      const key = `${a.kind}\n${replaces ? 'r' : 'n'}\n${parentOf(a.path)}`;
      const group = groups.get(key) ?? [];
      group.push(a);
      groups.set(key, group);
    }
    // Queued together: each batch's planning (a stat per file, a quota check) waits on the server.
    const byTransfer = new Map<TransferId, SyncAction>();
    options.signal?.throwIfAborted();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = group[0]!;
        const dir = parentOf(first.path);
        const replace = first.kind === 'upload' ? first.remote !== undefined : first.local !== undefined;
        const conflict = replace ? ('overwrite' as const) : undefined;
        try {
          const views =
            first.kind === 'upload'
              ? await queue.upload(group.map((a) => localPath(a.path)), remotePath(dir), { conflict })
              : await queue.download(group.map((a) => remotePath(a.path)), localPath(dir), { conflict });
          const byPath = new Map(group.map((a) => [first.kind === 'upload' ? localPath(a.path) : remotePath(a.path), a]));
          for (const v of views) {
            const a = byPath.get(first.kind === 'upload' ? v.localPath : v.remotePath);
            if (a) byTransfer.set(v.id, a);
          }
          options.onTransfers?.(views);
        } catch (err) {
          for (const a of group) fail(a, err);
        }
      }),
    );
    const finals = await settled(queue, [...byTransfer.keys()], options.signal);
    for (const [id, a] of byTransfer) {
      const v = finals.get(id);
      // Where someone answered a conflict with "skip" or "rename", the two sides do not hold
      // the same file at this path: nothing is recorded for it (it is planned again next time).
      const landed = a.kind === 'upload' ? v?.remotePath === remotePath(a.path) : v?.localPath === localPath(a.path);
      if (v?.state === 'done' && landed) agreed(a, a.kind === 'upload' ? a.local : a.remote);
      else if (v?.state === 'done' || v?.state === 'skipped') continue;
      else {
        fail(a, v?.error ? new FerryError(v.error.code, v.error.message) : new FerryError('ECANCELED', `${a.path} was not transferred (${v?.state ?? 'removed'})`));
      }
    }
    options.signal?.throwIfAborted();

    // Deletions last (a copy never depends on them), deepest first.
    const deletions = chosen.filter((a) => a.kind === 'delete').sort((x, y) => y.path.split('/').length - x.path.split('/').length);
    for (const a of deletions) {
      options.signal?.throwIfAborted();
      const facts = a.side === 'remote' ? a.remote : a.local;
      try {
        if (a.side === 'remote') await remote.remove(remotePath(a.path), facts?.type === 'dir');
        else await rm(localPath(a.path), { recursive: facts?.type === 'dir', force: false });
        agreed(a, undefined);
      } catch (err) {
        fail(a, err);
      }
    }
  } finally {
    await state.save();
  }
  return { planId: plan.id, done, failed, skipped: plan.actions.length - done - failed.length };
}

/** The plan's lines that a run would carry out by default (for front ends). */
export function changesOf(plan: SyncPlan): SyncAction[] {
  return plan.actions.filter((a) => SYNC_CHANGES.has(a.kind));
}
