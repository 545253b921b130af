/** Entry: one FerryApi (Electron preload or the browser-mode WebSocket), the stores, the UI. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/app.js';
import './i18n/i18n.js';
import { rememberLayout } from './layout-memory.js';
import { unsavedEdits } from './state/edits-store.js';
import { createStores } from './state/stores.js';
import { StoresContext } from './state/stores-context.js';
import { getApi } from './transport/api.js';
import './styles.css';
import './panes.css';

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
      <h1>Ferry cannot reach its engine</h1>
      <p className="selectable">{err instanceof Error ? err.message : String(err)}</p>
      <p>Start Ferry from the desktop app, or open the address the browser host printed.</p>
    </div>
  );
}
