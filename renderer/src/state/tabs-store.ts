/**
 * The window's tabs: each tab is one session with its own FerryApi and its own stores
 * (stores.ts), kept while the tab is open whether it is shown or not. This registry also
 * lists every tab's transfers as one queue for the transfers pane, each row naming its
 * tab, and adds up the tabs' totals (each tab's totals are its engine's).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FerryApi } from '../../../shared/common/contract.js';
import { MAX_TABS } from '../../../shared/common/tabs.js';
import type { QueueTotals, TransferId } from '../../../shared/common/transfer-model.js';
import { shownSession } from './session-store.js';
import { createStores, type Stores } from './stores.js';

export interface Tab {
  /** Unique in this page, never reused ('tab-1', 'tab-2', …). */
  readonly id: string;
  readonly stores: Stores;
}

/** What a tab is called: its connection's name, else where it is connected; both null before its first login. */
export interface TabTitle {
  /** The saved connection's name, when the session came from one. */
  readonly name: string | null;
  /** `user@host:port` of the session it has, or had last. */
  readonly where: string | null;
}

/** One row of the all-tabs queue: a transfer of one tab. */
export interface QueueRow {
  /** Unique across tabs (a tab id and a transfer id). */
  readonly key: string;
  readonly tab: Tab;
  readonly id: TransferId;
}

export interface TabsState {
  readonly tabs: readonly Tab[];
  readonly activeId: string;
  readonly titles: ReadonlyMap<string, TabTitle>;
  /** Every tab's transfers, tab by tab in each tab's own order. */
  readonly rows: readonly QueueRow[];
  /** The tabs' totals added up. */
  readonly totals: QueueTotals;

  /** A new tab, shown at once (its saved connections to pick from); null when the window is full. */
  open(): Tab | null;
  /** End a tab's session and drop its stores (asking first is the UI's job). The last tab stays. */
  close(id: string): void;
  activate(id: string): void;
  /** The next (+1) or previous (-1) tab, wrapping around. */
  step(delta: 1 | -1): void;
  /** Apply an intent to every tab's queue (Pause all, Cancel all, …). */
  everyQueue(run: (stores: Stores) => Promise<void>): Promise<void>;
}

export type TabsStore = StoreApi<TabsState>;

export interface TabsOptions {
  /** The first tab's API (the page's own). */
  readonly first: FerryApi;
  /** A further tab's API (transport/tab-apis.ts). */
  readonly openApi: () => FerryApi;
  /** Set up what a tab needs beyond its stores (layout memory); the cleanup runs when it closes. */
  readonly onTab?: (stores: Stores) => () => void;
  readonly maxTabs?: number;
}

const ZERO: QueueTotals = { count: 0, queued: 0, active: 0, paused: 0, done: 0, failed: 0, cancelled: 0, unfinished: 0, bytes: 0, size: 0 };

function addTotals(all: readonly QueueTotals[]): QueueTotals {
  if (all.length === 1) return all[0]!;
  const sum: Record<keyof QueueTotals, number> = { ...ZERO };
  for (const totals of all) for (const key of Object.keys(ZERO) as Array<keyof QueueTotals>) sum[key] += totals[key];
  return sum;
}

export function createTabsStore(options: TabsOptions): TabsStore {
  const maxTabs = options.maxTabs ?? MAX_TABS;
  let serial = 0;
  const cleanups = new Map<string, () => void>();
  /** Rows by key, so a row keeps its identity while its tab's order changes around it. */
  let rowCache = new Map<string, QueueRow>();

  const rowsOf = (tabs: readonly Tab[]): QueueRow[] => {
    const next = new Map<string, QueueRow>();
    const rows: QueueRow[] = [];
    for (const tab of tabs) {
      for (const id of tab.stores.transfers.getState().order) {
        const key = `${tab.id}/${id}`;
        const row = rowCache.get(key) ?? { key, tab, id };
        next.set(key, row);
        rows.push(row);
      }
    }
    rowCache = next;
    return rows;
  };
  const totalsOf = (tabs: readonly Tab[]): QueueTotals => addTotals(tabs.map((t) => t.stores.transfers.getState().totals));

  const titleOf = (stores: Stores, before: TabTitle | undefined): TabTitle => {
    const session = stores.session.getState();
    const info = shownSession(session);
    if (!info) return before ?? { name: null, where: null };
    const profile = info.profileId === null ? undefined : session.profiles.find((p) => p.id === info.profileId);
    return { name: profile?.name ?? null, where: `${info.user.name}@${info.host}:${info.port}` };
  };

  function makeTab(api: FerryApi): Tab {
    const tab: Tab = { id: `tab-${++serial}`, stores: createStores(api) };
    const { transfers, session } = tab.stores;
    const offTransfers = transfers.subscribe((now, before) => {
      if (!store.getState().tabs.includes(tab)) return;
      if (now.order !== before.order) store.setState({ rows: rowsOf(store.getState().tabs) });
      if (now.totals !== before.totals) store.setState({ totals: totalsOf(store.getState().tabs) });
    });
    const offSession = session.subscribe((now, before) => {
      if (now.connection === before.connection && now.profiles === before.profiles) return;
      const titles = store.getState().titles;
      const title = titleOf(tab.stores, titles.get(tab.id));
      const old = titles.get(tab.id);
      if (old?.name === title.name && old?.where === title.where) return;
      store.setState({ titles: new Map(titles).set(tab.id, title) });
    });
    const offExtra = options.onTab?.(tab.stores) ?? (() => undefined);
    cleanups.set(tab.id, () => {
      offTransfers();
      offSession();
      offExtra();
    });
    void session.getState().init();
    return tab;
  }

  const store = createStore<TabsState>()((set, get) => ({
    tabs: [],
    activeId: '',
    titles: new Map(),
    rows: [],
    totals: ZERO,

    open() {
      if (get().tabs.length >= maxTabs) return null;
      const tab = makeTab(options.openApi());
      const tabs = [...get().tabs, tab];
      set({ tabs, activeId: tab.id, rows: rowsOf(tabs), totals: totalsOf(tabs) });
      return tab;
    },

    close(id) {
      const { tabs, activeId, titles } = get();
      const index = tabs.findIndex((t) => t.id === id);
      if (index < 0 || tabs.length === 1) return;
      const tab = tabs[index]!;
      const rest = tabs.filter((t) => t !== tab);
      // The tab to its right takes its place (or the one to its left, at the end).
      const nextActive = activeId === id ? rest[Math.min(index, rest.length - 1)]!.id : activeId;
      const nextTitles = new Map(titles);
      nextTitles.delete(id);
      set({ tabs: rest, activeId: nextActive, titles: nextTitles, rows: rowsOf(rest), totals: totalsOf(rest) });
      cleanups.get(id)?.();
      cleanups.delete(id);
      tab.stores.api.close?.();
      if (nextActive !== activeId) refreshShared(rest.find((t) => t.id === nextActive)!);
    },

    activate(id) {
      const tab = get().tabs.find((t) => t.id === id);
      if (!tab || id === get().activeId) return;
      set({ activeId: id });
      refreshShared(tab);
    },

    step(delta) {
      const { tabs, activeId } = get();
      const index = tabs.findIndex((t) => t.id === activeId);
      get().activate(tabs[(index + delta + tabs.length) % tabs.length]!.id);
    },

    async everyQueue(run) {
      await Promise.all(get().tabs.map((t) => run(t.stores)));
    },
  }));

  /**
   * What all tabs share (settings and saved connections are the app's) may have changed
   * in another tab: a tab shown again reads them afresh.
   */
  function refreshShared(tab: Tab): void {
    void tab.stores.session.getState().loadSettings();
    void tab.stores.session.getState().loadProfiles();
  }

  const first = makeTab(options.first);
  store.setState({ tabs: [first], activeId: first.id, rows: rowsOf([first]), totals: totalsOf([first]) });
  return store;
}

/** The tab's name in the strip and in dialogs: its connection's name, where it is connected, or null (a new tab). */
export function tabLabel(title: TabTitle | undefined): string | null {
  return title?.name ?? title?.where ?? null;
}

/** The tab shown now. */
export function activeTab(state: Pick<TabsState, 'tabs' | 'activeId'>): Tab {
  return state.tabs.find((t) => t.id === state.activeId) ?? state.tabs[0]!;
}
