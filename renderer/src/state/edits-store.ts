/**
 * Edited files as the engine reports them ('edit:changed'), which one the built-in editor
 * shows, and the intents the editor and the Edited files list send. Every rule (when to
 * save, what a conflict is, whether a save may be dropped) is the engine's.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FerryApi } from '../../../shared/common/contract.js';
import { unsaved, type EditChoice, type EditId, type EditOpener, type EditView } from '../../../shared/common/edit-model.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';

/** Opening failed: why, and whether the system's app may open it instead (the desktop app). */
export interface EditRefusal {
  readonly path: string;
  readonly error: ErrorInfo;
  readonly systemApp: boolean;
}

export interface EditsState {
  readonly edits: readonly EditView[];
  /** The edit the built-in editor shows, or null. */
  readonly editorId: EditId | null;
  readonly refusal: EditRefusal | null;
  load(): Promise<void>;
  open(path: string, opener: EditOpener): Promise<void>;
  /** Show an edited file in the built-in editor again. */
  show(id: EditId): void;
  hideEditor(): void;
  read(id: EditId, which: 'mine' | 'theirs'): Promise<{ ok: true; text: string } | { ok: false; error: ErrorInfo }>;
  write(id: EditId, text: string): Promise<ErrorInfo | null>;
  resolve(id: EditId, choice: EditChoice): Promise<ErrorInfo | null>;
  retry(id: EditId): Promise<ErrorInfo | null>;
  close(id: EditId, discard: boolean): Promise<ErrorInfo | null>;
  dismissRefusal(): void;
}

export type EditsStore = StoreApi<EditsState>;

/** Edited files with a save not on the server yet (closing the page asks first). */
export function unsavedEdits(state: Pick<EditsState, 'edits'>): readonly EditView[] {
  return state.edits.filter(unsaved);
}

export function createEditsStore(api: FerryApi): EditsStore {
  const store = createStore<EditsState>()((set, get) => {
    const merge = (view: EditView): void => {
      const others = get().edits.filter((e) => e.id !== view.id);
      set({ edits: [...others, view] });
    };
    const errorOf = (r: { ok: boolean; error?: ErrorInfo }): ErrorInfo | null => (r.ok ? null : (r.error ?? null));
    return {
      edits: [],
      editorId: null,
      refusal: null,

      async load() {
        const r = await api.call('edit:list');
        if (r.ok) set({ edits: r.value });
      },

      async open(path, opener) {
        set({ refusal: null });
        const r = await api.call('edit:open', path, opener);
        if (!r.ok) {
          set({ refusal: { path, error: r.error, systemApp: r.error.details?.systemApp === true } });
          return;
        }
        merge(r.value);
        if (opener === 'builtin') set({ editorId: r.value.id });
      },

      show(id) {
        set({ editorId: id });
      },

      hideEditor() {
        set({ editorId: null });
      },

      async read(id, which) {
        const r = await api.call('edit:read', id, which);
        return r.ok ? { ok: true, text: r.value.text } : { ok: false, error: r.error };
      },

      async write(id, text) {
        const r = await api.call('edit:write', id, text);
        if (r.ok) merge(r.value);
        return errorOf(r);
      },

      async resolve(id, choice) {
        const r = await api.call('edit:resolve', id, choice);
        if (r.ok) merge(r.value);
        return errorOf(r);
      },

      async retry(id) {
        const r = await api.call('edit:retry', id);
        if (r.ok) merge(r.value);
        return errorOf(r);
      },

      async close(id, discard) {
        const r = await api.call('edit:close', id, discard);
        if (r.ok) set({ edits: get().edits.filter((e) => e.id !== id), editorId: get().editorId === id ? null : get().editorId });
        return errorOf(r);
      },

      dismissRefusal() {
        set({ refusal: null });
      },
    };
  });
  api.on('edit:changed', ({ edits }) => store.setState({ edits: [...edits] }));
  return store;
}
