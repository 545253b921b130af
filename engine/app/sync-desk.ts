/**
 * Folder sync for one front end: 'sync:plan' builds a plan against the session's remote
 * and keeps it (with what it learnt: hashes, the base) until 'sync:run' carries out the
 * lines the person left ticked, through the session's transfer queue, or 'sync:cancel'.
 * A plan belongs to the session it was made on and runs at most once.
 */
import path from 'node:path';
import { FerryError } from '../../shared/common/errors.js';
import type { SyncOutcome, SyncPlan, SyncRequest } from '../../shared/common/sync-model.js';
import type { Remote } from '../remote/remote.js';
import { prepareSync, type PreparedSync } from '../sync/sync-prepare.js';
import { runSync } from '../sync/sync-run.js';
import type { ChangeFeed } from './change-feed.js';
import type { QueueRelay } from './queue-relay.js';

/** Plans kept at once (a person previews, changes options, previews again). */
const PLANS_KEPT = 4;

interface Kept {
  readonly prepared: PreparedSync;
  readonly remote: Remote;
  running: AbortController | null;
}

export class SyncDesk {
  private readonly plans = new Map<string, Kept>();

  constructor(
    private readonly session: () => Remote,
    private readonly transfers: QueueRelay,
    private readonly changes: ChangeFeed,
    private readonly stateDir: string,
  ) {}

  async plan(request: SyncRequest): Promise<SyncPlan> {
    const remote = this.session();
    // Compared by the check the transfers make (the setting may ask for SHA-256).
    const check = this.transfers.current?.check;
    const prepared = await prepareSync(remote, request, { stateDir: this.stateDir, ...(check ? { check } : {}) });
    this.plans.set(prepared.plan.id, { prepared, remote, running: null });
    for (const id of this.plans.keys()) {
      if (this.plans.size <= PLANS_KEPT) break;
      if (!this.plans.get(id)!.running) this.plans.delete(id);
    }
    return prepared.plan;
  }

  async run(planId: string, selected: readonly number[]): Promise<SyncOutcome> {
    const kept = this.plans.get(planId);
    if (!kept) throw new FerryError('ENOENT', 'This sync plan is no longer known: preview it again.');
    if (kept.running) throw new FerryError('EBUSY', 'This sync is already running.');
    if (kept.remote !== this.session()) throw new FerryError('EINVAL', 'The plan was made on an earlier connection: preview it again.');
    const controller = (kept.running = new AbortController());
    const { remoteRoot } = kept.prepared;
    try {
      return await runSync(kept.prepared, kept.remote, this.transfers.requireQueue(), { selected: new Set(selected), signal: controller.signal });
    } finally {
      this.plans.delete(planId);
      // Folders made and deletions are not transfers: say where the tree changed.
      const touched = kept.prepared.plan.actions.filter((a) => a.side === 'remote' && (a.kind === 'mkdir' || a.kind === 'delete'));
      this.changes.now(remoteRoot, ...touched.map((a) => this.changes.parentOf(path.posix.join(remoteRoot, a.path))));
    }
  }

  cancel(planId: string): void {
    const kept = this.plans.get(planId);
    if (kept?.running) kept.running.abort();
    else this.plans.delete(planId);
  }

  /** The session ended: its plans cannot run any more. */
  clear(): void {
    for (const kept of this.plans.values()) kept.running?.abort();
    this.plans.clear();
  }
}
