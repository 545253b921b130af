/**
 * Transfers as the engine reports them ('transfers:event' batches applied to a Map), the
 * conflicts it asks about, and the intents the transfers pane sends. No maths and no
 * rules here: bytes, speed, ETA, states and the totals come from the engine, and which
 * files an answer "for all" covers is the queue's business (its other questions never
 * come, or are withdrawn).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConflictPrompt, FerryApi, UploadFile, UploadShape } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { ConflictDecision, QueueTotals, TransferId, TransferView } from '../../../shared/common/transfer-model.js';
import { i18n } from '../i18n/i18n.js';
import { displayPath } from '../logic/remote-path.js';
import { EMPTY_TABLE, applyTransferEvent, tableOf, type TransferTable } from '../logic/transfer-table.js';

export interface UploadDrop extends UploadShape {
  readonly files: readonly UploadFile[];
  readonly relativePaths: readonly string[];
}

export interface TransfersState extends TransferTable {
  /** As the engine computed them with its last event (or list). */
  readonly totals: QueueTotals;
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
  /** How a remote folder is named to people (the session's home is "Home"). */
  folderName?(path: string): string;
}

/** Totals of an empty queue: what is shown before the engine's first word. */
const NO_TOTALS: QueueTotals = { count: 0, queued: 0, active: 0, paused: 0, done: 0, failed: 0, cancelled: 0, unfinished: 0, bytes: 0, size: 0 };

/** States a transfer ends in: each may have moved the quota (a failed or cancelled upload too). */
const FINISHED = new Set(['done', 'skipped', 'failed', 'cancelled']);

export function createTransfersStore(api: FerryApi, hooks: TransfersHooks = {}): TransfersStore {
  const store = createStore<TransfersState>()((set, get) => {
    const setTable = (table: TransferTable): void => {
      if (table.byId === get().byId && table.order === get().order) return;
      set({ byId: table.byId, order: table.order });
    };
    const intent = async (run: () => Promise<{ ok: boolean; error?: ErrorInfo }>, text: string): Promise<void> => {
      const r = await run();
      if (!r.ok && r.error) set({ refusal: { text, error: r.error } });
    };
    const added = (views: readonly TransferView[]): void => setTable(applyTransferEvent(get(), { kind: 'added', transfers: views }));

    return {
      ...EMPTY_TABLE,
      totals: NO_TOTALS,
      conflicts: [],
      refusal: null,
      preparing: 0,

      async load() {
        const r = await api.call('transfers:list');
        if (!r.ok) return;
        setTable(tableOf(r.value.transfers));
        set({ totals: r.value.totals });
      },

      async upload({ files, relativePaths, folders = [], roots = [] }, remoteDir) {
        if (files.length === 0 && folders.length === 0) return true;
        set({ refusal: null });
        get().addPreparing(files.length);
        const r = await api
          .uploadFiles(files, relativePaths, remoteDir, { folders, roots })
          .finally(() => get().addPreparing(-files.length));
        if (!r.ok) {
          set({ refusal: { text: i18n.t('transfers:refused.upload', { folder: (hooks.folderName ?? displayPath)(remoteDir) }), error: r.error } });
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
          set({ refusal: { text: i18n.t('transfers:refused.download'), error: r.error } });
          return false;
        }
        added(r.value);
        return true;
      },

      pause: (id) => intent(() => api.call('transfers:pause', id), i18n.t('transfers:refused.pause')),
      resume: (id) => intent(() => api.call('transfers:resume', id), i18n.t('transfers:refused.resume')),
      cancel: (id) => intent(() => api.call('transfers:cancel', id), i18n.t('transfers:refused.cancel')),
      retry: (id) => intent(() => api.call('transfers:retry', id), i18n.t('transfers:refused.retry')),
      pauseAll: () => intent(() => api.call('transfers:pauseAll'), i18n.t('transfers:refused.pause')),
      resumeAll: () => intent(() => api.call('transfers:resumeAll'), i18n.t('transfers:refused.resume')),
      cancelAll: () => intent(() => api.call('transfers:cancelAll'), i18n.t('transfers:refused.cancel')),
      clearFinished: () => intent(() => api.call('transfers:clear'), i18n.t('transfers:refused.clear')),

      async resolveConflict(decision, applyToAll) {
        const [first, ...rest] = get().conflicts;
        if (!first) return;
        // The answer goes once, to the question shown; the queue settles the rest of the
        // batch itself ("apply to all"), and withdraws any prompt that no longer needs an answer.
        set({ conflicts: rest });
        const r = await api.call('transfers:resolveConflict', first.conflictId, decision, applyToAll);
        if (!r.ok) set({ refusal: { text: i18n.t('transfers:refused.conflict', { name: first.transfer.name }), error: r.error } });

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
    store.setState({ byId: table.byId, order: table.order, totals: event.totals });
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
