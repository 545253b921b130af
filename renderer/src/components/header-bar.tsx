/** The top bar: the app, the connections toggle, where we are connected, settings, Disconnect. */
import { useTranslation } from 'react-i18next';
import { fileActions } from '../file-actions.js';
import { shownSession } from '../state/session-store.js';
import { useSession, useStores, useUi } from '../state/stores-context.js';
import { Icon } from './icons.js';
import { LocalPaneToggle } from './local-pane.js';
import { connectionLabel } from './status-bar.js';

export function HeaderBar() {
  const stores = useStores();
  const { t } = useTranslation();
  const { session, ui } = stores;
  const connection = useSession((s) => s.connection);
  const info = useSession(shownSession);
  const sidebarOpen = useUi((s) => s.sidebarOpen);
  const live = connection.state === 'connected' || connection.state === 'reconnecting';
  return (
    <header className="app-header">
      <div className="brand">
        <svg className="brand-mark" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path d="M3 15.5h18l-2.6 4H5.6z" fill="currentColor" opacity=".85" />
          <path d="M7 13.5V7.5l5-3 5 3v6" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
        </svg>
        <span className="brand-name">Ferry</span>
      </div>
      {live && (
        <button
          type="button"
          className="icon-button header-toggle"
          aria-expanded={sidebarOpen}
          aria-controls="sidebar"
          aria-label={sidebarOpen ? t('header.hideConnections') : t('header.showConnections')}
          title={sidebarOpen ? t('header.hideConnections') : t('header.showConnections')}
          onClick={() => ui.getState().setSidebarOpen(!sidebarOpen)}
        >
          <Icon name="sidebar" />
        </button>
      )}
      <div className="header-session">
        {info ? (
          <>
            <span className={`dot ${connection.state === 'connected' ? 'ok' : 'warn'}`} aria-hidden="true" />
            <span className="selectable">
              {info.user.name}@{info.host}:{info.port}
            </span>
            {connection.state === 'reconnecting' && <span className="muted">{connectionLabel(connection.state, connection.attempt)}</span>}
          </>
        ) : (
          <span className="muted">{connectionLabel(connection.state, connection.state === 'reconnecting' ? connection.attempt : undefined)}</span>
        )}
      </div>
      <span className="toolbar-spacer" />
      <LocalPaneToggle />
      {connection.state === 'connected' && (
        <button type="button" className="button subtle" onClick={() => fileActions(stores).askSync()}>
          <Icon name="sync" /> {t('header.sync')}
        </button>
      )}
      <button type="button" className="button subtle" onClick={() => ui.getState().openDialog({ kind: 'settings' })}>
        <Icon name="settings" /> {t('header.settings')}
      </button>
      {live && (
        <button type="button" className="button" onClick={() => void session.getState().disconnect()}>
          {t('header.disconnect')}

        </button>
      )}
    </header>
  );
}
