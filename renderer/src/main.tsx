/** Entry: one FerryApi (Electron preload or the browser-mode WebSocket), the stores, the UI. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/app.js';
import { rememberLayout } from './layout-memory.js';
import { createStores } from './state/stores.js';
import { StoresContext } from './state/stores-context.js';
import { getApi } from './transport/api.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

try {
  const stores = createStores(getApi());
  rememberLayout(stores.ui);
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
