/**
 * Entry: the page's FerryApi (Electron preload or the browser-mode WebSocket) as the first
 * tab, the tabs registry (each tab its own api and stores), the UI.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TabsRoot } from './components/tabs-root.js';
import { initReactI18next } from 'react-i18next';
import { i18n } from './i18n/i18n.js';
import { rememberLayout } from './layout-memory.js';
import { unsavedEdits } from './state/edits-store.js';
import { TabsContext } from './state/tabs-context.js';
import { createTabsStore } from './state/tabs-store.js';
import { getApi } from './transport/api.js';
import { openTabApi } from './transport/tab-apis.js';
import './styles.css';
import './panes.css';

// React's binding is attached here, not in i18n.ts, which the stores' tests run under Node.
initReactI18next.init(i18n);

const root = createRoot(document.getElementById('root')!);

try {
  const api = getApi();
  // Every tab starts from the layout last chosen (layout-memory.ts), and remembers its changes.
  const tabs = createTabsStore({ first: api, openApi: () => openTabApi(api), onTab: (stores) => rememberLayout(stores.ui) });
  // A browser tab closing with edits the server does not have yet, in any of its Ferry
  // tabs, asks first (the desktop app asks in its main process, before quitting).
  if (api.platform === 'browser') {
    window.addEventListener('beforeunload', (e) => {
      if (tabs.getState().tabs.some((tab) => unsavedEdits(tab.stores.edits.getState()).length > 0)) e.preventDefault();
    });
  }
  root.render(
    <StrictMode>
      <TabsContext value={tabs}>
        <TabsRoot />
      </TabsContext>
    </StrictMode>,
  );
} catch (err) {
  // No engine to talk to (opened outside Electron and the browser host): say so plainly.
  root.render(
    <div className="fatal" role="alert">
      <h1>{i18n.t('fatal.title')}</h1>
      <p className="selectable">{err instanceof Error ? err.message : String(err)}</p>
      <p>{i18n.t('fatal.hint')}</p>

    </div>
  );
}
