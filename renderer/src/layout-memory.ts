/**
 * The window's layout (connections column shown or hidden, the height of the transfers
 * and console area, the local pane shown or not) remembered across runs in the page's own storage. In the desktop app
 * that storage belongs to the app and lasts; in browser mode it lasts as long as the web
 * host keeps its port (`--port`). Best effort: without storage nothing is remembered.
 */
import type { UiStore } from './state/ui-store.js';

const KEY = 'ferry.layout';

interface Layout {
  readonly sidebarOpen?: boolean;
  readonly bottomHeight?: number;
  readonly showLocal?: boolean;
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function rememberLayout(ui: UiStore): () => void {
  const store = storage();
  if (!store) return () => undefined;
  try {
    const saved = JSON.parse(store.getItem(KEY) ?? '{}') as Layout;
    if (typeof saved.sidebarOpen === 'boolean') ui.getState().setSidebarOpen(saved.sidebarOpen);
    if (typeof saved.showLocal === 'boolean') ui.getState().setShowLocal(saved.showLocal);
    if (typeof saved.bottomHeight === 'number' && Number.isFinite(saved.bottomHeight)) {
      // Never taller than this window leaves room for.
      ui.getState().setBottomHeight(Math.min(saved.bottomHeight, Math.max(120, window.innerHeight - 260)));
    }
  } catch {
    // a damaged entry: start from the defaults
  }
  let last = '';
  return ui.subscribe((s) => {
    const layout: Layout = { sidebarOpen: s.sidebarOpen, showLocal: s.showLocal, ...(s.bottomHeight !== null ? { bottomHeight: s.bottomHeight } : {}) };
    const text = JSON.stringify(layout);
    if (text === last) return;
    last = text;
    try {
      store.setItem(KEY, text);
    } catch {
      // full or refused: not remembered
    }
  });
}
