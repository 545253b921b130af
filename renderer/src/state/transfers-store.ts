/**
 * Transfers as the engine reports them ('transfers:event' batches applied to a Map), the
 * conflicts it asks about, and the intents the transfers pane sends. No maths here: bytes,
 * speed, ETA and state all come from the engine.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConflictPrompt, FerryApi, UploadFile, UploadShape } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { ConflictDecision, TransferId, TransferView } from '../../../shared/common/transfer-model.js';
import { displayPath } from '../logic/remote-path.js';
import { EMPTY_TABLE, applyTransferEvent, tableOf, totalsOf, type Totals, type TransferTable } from '../logic/transfer-table.js';

export interface UploadDrop extends UploadShape {
  readonly files: readonly UploadFile[];
  readonly relativePaths: readonly string[];
}

export interface TransfersState extends TransferTable {
  readonly totals: Totals;
  /** Conflicts the engine asked about, oldest first; the dialog shows the first. */
  readonly conflicts: readonly ConflictPrompt[];
  /** An upload or download refused before it started (EQUOTA says how much is needed and left). */
  readonly refusal: { readonly text: string; readonly error: ErrorInfo } | null;
  /**
   * Files being read and handed to the engine, not yet in the list (a big dropped folder
   * takes a moment; in browser mode its bytes first travel to the host). 0 when none.
   */
  readonly preparing: number;

  load(): Promise<void>;
  /** Upload a drop or a pick (its files, their relative paths, and its folders) into remoteDir. */
  upload(drop: UploadDrop, remoteDir: string): Promise<boolean>;
  download(remotePaths: readonly string[]): Promise<boolean>;
  pause(id: TransferId): Promise<void>;
  resume(id: TransferId): Promise<void>;
  cancel(id: TransferId): Promise<void>;
  retry(id: TransferId): Promise<void>;
  pauseAll(): Promise<void>;
  resumeAll(): Promise<void>;
  cancelAll(): Promise<void>;
  clearFinished(): Promise<void>;
  resolveConflict(decision: ConflictDecision, applyToAll: boolean): Promise<void>;
  /** Count files being walked or handed over (+n when starting, -n when done). */
  addPreparing(delta: number): void;
  refuse(text: string, error: ErrorInfo): void;
  dismissRefusal(): void;
}

export type TransfersStore = StoreApi<TransfersState>;

export interface TransfersHooks {
  /** Some transfers finished (the quota shown in the status bar may have moved). */
  onFinished?(): void;
}

/** States a transfer ends in: each may have moved the quota (a failed or cancelled upload too). */
const FINISHED = new Set(['done', 'skipped', 'failed', 'cancelled']);

export function createTransfersStore(api: FerryApi, hooks: TransfersHooks = {}): TransfersStore {
  const store = createStore<TransfersState>()((set, get) => {
    const setTable = (table: TransferTable): void => {
      if (table.byId === get().byId && table.order === get().order) return;
      set({ byId: table.byId, order: table.order, totals: totalsOf(table) });
    };
    const intent = async (run: () => Promise<{ ok: boolean; error?: ErrorInfo }>, text: string): Promise<void> => {
      const r = await run();
      if (!r.ok && r.error) set({ refusal: { text, error: r.error } });
    };
    const added = (views: readonly TransferView[]): void => setTable(applyTransferEvent(get(), { kind: 'added', transfers: views }));

    return {
      ...EMPTY_TABLE,
      totals: totalsOf(EMPTY_TABLE),
      conflicts: [],
      refusal: null,
      preparing: 0,

      async load() {
        const r = await api.call('transfers:list');
        if (r.ok) setTable(tableOf(r.value));
      },

      async upload({ files, relativePaths, folders = [], roots = [] }, remoteDir) {
        if (files.length === 0 && folders.length === 0) return true;
        set({ refusal: null });
        get().addPreparing(files.length);
        const r = await api
          .uploadFiles(files, relativePaths, remoteDir, { folders, roots })
          .finally(() => get().addPreparing(-files.length));
        if (!r.ok) {
          set({ refusal: { text: `Upload to ${displayPath(remoteDir)} refused`, error: r.error } });
          return false;
        }
        added(r.value);
        return true;
      },

      async download(remotePaths) {
        if (remotePaths.length === 0) return true;
        set({ refusal: null });
        const r = await api.call('transfers:download', [...remotePaths]);
        if (!r.ok) {
          set({ refusal: { text: 'Download refused', error: r.error } });
          return false;
        }
        added(r.value);
        return true;
      },

      pause: (id) => intent(() => api.call('transfers:pause', id), 'Could not pause'),
      resume: (id) => intent(() => api.call('transfers:resume', id), 'Could not resume'),
      cancel: (id) => intent(() => api.call('transfers:cancel', id), 'Could not cancel'),
      retry: (id) => intent(() => api.call('transfers:retry', id), 'Could not retry'),
      pauseAll: () => intent(() => api.call('transfers:pauseAll'), 'Could not pause'),
      resumeAll: () => intent(() => api.call('transfers:resumeAll'), 'Could not resume'),
      cancelAll: () => intent(() => api.call('transfers:cancelAll'), 'Could not cancel'),
      clearFinished: () => intent(() => api.call('transfers:clear'), 'Could not clear'),

      async resolveConflict(decision, applyToAll) {
        const [first, ...rest] = get().conflicts;
        if (!first) return;
        // With "apply to all", prompts of the same drop already waiting get the same answer.
        const sameBatch = (c: ConflictPrompt): boolean => applyToAll && c.batch === first.batch;
        const answered = [first, ...rest.filter(sameBatch)];
        set({ conflicts: rest.filter((c) => !sameBatch(c)) });
        for (const c of answered) {
          const r = await api.call('transfers:resolveConflict', c.conflictId, decision, applyToAll);
          if (!r.ok) set({ refusal: { text: `Could not answer the conflict for “${c.transfer.name}”`, error: r.error } });
        }
      },

      addPreparing(delta) {
        set({ preparing: Math.max(0, get().preparing + delta) });
      },

      refuse(text, error) {
        set({ refusal: { text, error } });
      },

      dismissRefusal() {
        set({ refusal: null });
      },
    };
  });

  api.on('transfers:event', (event) => {
    const before = store.getState();
    const table = applyTransferEvent(before, event);
    if (table.byId === before.byId && table.order === before.order) return;
    store.setState({ byId: table.byId, order: table.order, totals: totalsOf(table) });
    if (event.kind === 'updated' && event.transfers.some((t) => FINISHED.has(t.state) && !FINISHED.has(before.byId.get(t.id)?.state ?? 'queued'))) {
      hooks.onFinished?.();
    }
  });
  api.on('transfers:conflict', (prompt) => {
    store.setState({ conflicts: [...store.getState().conflicts, prompt] });
  });
  api.on('transfers:conflictWithdrawn', ({ conflictId }) => {
    store.setState({ conflicts: store.getState().conflicts.filter((c) => c.conflictId !== conflictId) });
  });
  return store;
}
