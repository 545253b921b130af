/**
 * The search panel's state: whether it is open, the folder it searches, the pattern, and
 * the search running or ended with its results as the engine sends them ('search:found',
 * 'search:end'). The engine searches; this store only keeps what it reported.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FerryApi } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { SearchEnd, SearchEndEvent, SearchFoundEvent, SearchHit } from '../../../shared/common/search-model.js';

/** Where a search is: not started, asked for (no id yet), running, or ended (with how). */
export type SearchPhase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'starting' }
  | { readonly kind: 'running'; readonly searchId: string }
  | { readonly kind: 'ended'; readonly end: SearchEnd };

export interface SearchState {
  readonly open: boolean;
  /** The folder searched (the tree's current folder when the panel opened or the search started). */
  readonly folder: string;
  readonly pattern: string;
  readonly caseSensitive: boolean;
  readonly phase: SearchPhase;
  readonly hits: readonly SearchHit[];
  /** The call itself failed (a bad pattern, no session). */
  readonly refusal: ErrorInfo | null;
  openPanel(folder: string): void;
  close(): void;
  setPattern(pattern: string): void;
  setCaseSensitive(on: boolean): void;
  start(): Promise<void>;
  stop(): void;
  /** A new session: nothing of the last one's searches is shown. */
  reset(): void;
}

export type SearchStore = StoreApi<SearchState>;

export function createSearchStore(api: FerryApi): SearchStore {
  // Events that came before the call's id did (kept for the search being started only).
  let early: Array<{ found?: SearchFoundEvent; end?: SearchEndEvent }> = [];
  const store = createStore<SearchState>()((set, get) => ({
    open: false,
    folder: '/',
    pattern: '',
    caseSensitive: false,
    phase: { kind: 'idle' },
    hits: [],
    refusal: null,

    openPanel(folder) {
      // A search under way keeps its folder; otherwise the panel follows the tree.
      const busy = get().phase.kind === 'running' || get().phase.kind === 'starting';
      set({ open: true, ...(busy ? {} : { folder }) });
    },

    close() {
      get().stop();
      set({ open: false });
    },

    setPattern: (pattern) => set({ pattern }),
    setCaseSensitive: (caseSensitive) => set({ caseSensitive }),

    async start() {
      const { pattern, caseSensitive, folder } = get();
      if (pattern.trim() === '') return;
      get().stop();
      early = [];
      set({ phase: { kind: 'starting' }, hits: [], refusal: null });
      const r = await api.call('search:start', folder, pattern.trim(), { caseSensitive });
      if (get().phase.kind !== 'starting') {
        // Stopped (or started again) before the id came: stop this one too.
        if (r.ok) void api.call('search:cancel', r.value);
        return;
      }
      if (!r.ok) return set({ phase: { kind: 'idle' }, refusal: r.error });
      set({ phase: { kind: 'running', searchId: r.value } });
      const waiting = early;
      early = [];
      for (const e of waiting) {
        if (e.found?.searchId === r.value) found(e.found);
        if (e.end?.searchId === r.value) ended(e.end);
      }
    },

    reset() {
      get().stop();
      early = [];
      set({ open: false, folder: '/', phase: { kind: 'idle' }, hits: [], refusal: null });
    },

    stop() {
      const { phase } = get();
      if (phase.kind === 'running') void api.call('search:cancel', phase.searchId);
      if (phase.kind === 'starting') set({ phase: { kind: 'ended', end: { kind: 'stopped' } } });
    },
  }));

  const found = (e: SearchFoundEvent): void => {
    const { phase, hits } = store.getState();
    if (phase.kind === 'starting') early.push({ found: e });
    else if (phase.kind === 'running' && phase.searchId === e.searchId) store.setState({ hits: hits.concat(e.hits) });
  };
  const ended = (e: SearchEndEvent): void => {
    const { phase } = store.getState();
    if (phase.kind === 'starting') early.push({ end: e });
    else if (phase.kind === 'running' && phase.searchId === e.searchId) store.setState({ phase: { kind: 'ended', end: e.end } });
  };
  api.on('search:found', found);
  api.on('search:end', ended);
  return store;
}
