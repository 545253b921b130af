/**
 * The desktop app's tab routing: one backend per (window, tab), made on the tab's first
 * call, disposed when the tab or its window closes, at most MAX_TABS a window. Plain
 * TypeScript without Electron (ipc-main.ts feeds it), so a Node test drives it.
 */
import type { EventName, Events, Result } from '../../shared/common/contract.js';
import type { EditView } from '../../shared/common/edit-model.js';
import type { ErrorInfo } from '../../shared/common/errors.js';
import { MAX_TABS, isTabId, type TabId } from '../../shared/common/tabs.js';

/** What the routing needs of a backend (engine/app/backend.ts's Backend has it). */
export interface TabBackend {
  call(name: string, args: unknown): Promise<Result<unknown>>;
  on(listener: <E extends EventName>(event: E, payload: Events[E]) => void): () => void;
  unsavedEdits(): EditView[];
  dispose(): Promise<void>;
}

export interface TabBackendsOptions<B extends TabBackend> {
  readonly create: () => B;
  /** Send a tab's event to its window (the window may be gone: then drop it). */
  readonly send: (windowId: number, tabId: TabId, name: EventName, payload: unknown) => void;
  readonly maxTabs?: number;
}

interface WindowTabs<B> {
  readonly tabs: Map<TabId, B>;
  /** The lowest id not seen yet: an id below it that is not open belongs to a closed tab. */
  nextId: TabId;
}

const closedTab = (): ErrorInfo => ({ code: 'ECANCELED', message: 'This tab is closed.' });

export class TabBackends<B extends TabBackend> {
  private readonly windows = new Map<number, WindowTabs<B>>();
  private readonly maxTabs: number;

  constructor(private readonly options: TabBackendsOptions<B>) {
    this.maxTabs = options.maxTabs ?? MAX_TABS;
  }

  /** A window may now have tabs (until closeWindow). */
  openWindow(windowId: number): void {
    if (!this.windows.has(windowId)) this.windows.set(windowId, { tabs: new Map(), nextId: 0 });
  }

  /**
   * The backend of a tab, made now if this is the tab's first use. Refused: an id that is
   * not a tab id (EINVAL), a closed tab or window (ECANCELED), one tab too many (EBUSY).
   */
  backend(windowId: number, tabId: unknown): Result<B> {
    const window = this.windows.get(windowId);
    if (!window) return { ok: false, error: { code: 'ECANCELED', message: 'This window is closing.' } };
    if (!isTabId(tabId)) return { ok: false, error: { code: 'EINVAL', message: 'A call must name its tab.' } };
    const open = window.tabs.get(tabId);
    if (open) return { ok: true, value: open };
    if (tabId < window.nextId) return { ok: false, error: closedTab() };
    if (window.tabs.size >= this.maxTabs) {
      return { ok: false, error: { code: 'EBUSY', message: `A window holds at most ${this.maxTabs} tabs: close one to open another.` } };
    }
    const backend = this.options.create();
    window.tabs.set(tabId, backend);
    window.nextId = tabId + 1;
    backend.on((name, payload) => this.options.send(windowId, tabId, name, payload));
    return { ok: true, value: backend };
  }

  /** The backend of a tab that is open now (never makes one). */
  existing(windowId: number, tabId: unknown): B | undefined {
    return isTabId(tabId) ? this.windows.get(windowId)?.tabs.get(tabId) : undefined;
  }

  /** One call of a tab: routed to its backend, every refusal a Result. */
  call(windowId: number, tabId: unknown, name: string, args: unknown): Promise<Result<unknown>> {
    const backend = this.backend(windowId, tabId);
    return backend.ok ? backend.value.call(name, args) : Promise.resolve(backend);
  }

  /** A tab closed: its backend ends (transfers stop, partials kept), and its id is never used again. */
  async closeTab(windowId: number, tabId: unknown): Promise<void> {
    const window = this.windows.get(windowId);
    if (!window || !isTabId(tabId)) return;
    window.nextId = Math.max(window.nextId, tabId + 1);
    const backend = window.tabs.get(tabId);
    if (!backend) return;
    window.tabs.delete(tabId);
    await backend.dispose();
  }

  /** A window closed: every tab of it ends. */
  async closeWindow(windowId: number): Promise<void> {
    const window = this.windows.get(windowId);
    if (!window) return;
    this.windows.delete(windowId);
    await Promise.all([...window.tabs.values()].map((b) => b.dispose()));
  }

  /** How many tabs of a window have a backend now. */
  tabCount(windowId: number): number {
    return this.windows.get(windowId)?.tabs.size ?? 0;
  }

  /** Edited files of every tab of every window with a save not on the server yet (closing and quitting ask first). */
  unsavedEdits(windowId?: number): EditView[] {
    const windows = windowId === undefined ? [...this.windows.values()] : [this.windows.get(windowId)].filter((w) => w !== undefined);
    return windows.flatMap((w) => [...w.tabs.values()].flatMap((b) => b.unsavedEdits()));
  }

  async dispose(): Promise<void> {
    const ids = [...this.windows.keys()];
    await Promise.all(ids.map((id) => this.closeWindow(id)));
  }
}
