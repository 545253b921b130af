/** Entry: one FerryApi (Electron preload or the browser-mode WebSocket), the stores, the UI. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/app.js';
import { initReactI18next } from 'react-i18next';
import { i18n } from './i18n/i18n.js';
import { rememberLayout } from './layout-memory.js';
import { unsavedEdits } from './state/edits-store.js';
import { createStores } from './state/stores.js';
import { StoresContext } from './state/stores-context.js';
import { getApi } from './transport/api.js';
import './styles.css';

// React's binding is attached here, not in i18n.ts, which the stores' tests run under Node.
initReactI18next.init(i18n);

const root = createRoot(document.getElementById('root')!);

try {
  const api = getApi();
  const stores = createStores(api);
  rememberLayout(stores.ui);
  // A browser tab closing with edits the server does not have yet asks first (the desktop
  // app asks in its main process, before quitting).
  if (api.platform === 'browser') {
    window.addEventListener('beforeunload', (e) => {
      if (unsavedEdits(stores.edits.getState()).length > 0) e.preventDefault();
    });
  }
  void stores.session.getState().init();
  root.render(
    <StrictMode>
      <StoresContext value={stores}>
        <App />
      </StoresContext>
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
