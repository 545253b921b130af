/**
 * The window: header, connections on the left (collapsible once connected), the remote
 * tree in the middle (with the local pane beside it when shown), transfers and console side by side below it, the status bar.
 */
import { useRef, type KeyboardEvent, type PointerEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { MIN_BOTTOM } from '../state/ui-store.js';
import { useSession, useStores, useUi } from '../state/stores-context.js';
import { ConflictDialog } from './conflict-dialog.js';
import { ConnectionPanel } from './connection-panel.js';
import { ConsolePane } from './console-pane.js';
import { EditorDialog } from './editor-dialog.js';
import { Dialogs } from './file-dialogs.js';
import { HeaderBar } from './header-bar.js';
import { HostKeyDialog } from './host-key-dialog.js';
import { LocalPane } from './local-pane.js';
import { RemotePane } from './remote-pane.js';
import { StatusBar } from './status-bar.js';
import { TransfersPane } from './transfers-pane.js';
import { Welcome } from './welcome.js';

export function App() {
  const { t } = useTranslation();
  const live = useSession((s) => s.connection.state === 'connected' || s.connection.state === 'reconnecting');
  const sidebarOpen = useUi((s) => s.sidebarOpen);
  const bottomHeight = useUi((s) => s.bottomHeight);
  const showLocal = useUi((s) => s.showLocal);
  const showSidebar = !live || sidebarOpen;
  return (
    <div className="app" style={bottomHeight === null ? undefined : { ['--bottom-height' as string]: `${bottomHeight}px` }}>
      <HeaderBar />
      <div className={`app-body${showSidebar ? '' : ' sidebar-closed'}`}>
        {showSidebar && (
          <aside id="sidebar" className="sidebar" aria-label={t('app.connections')}>
            <Welcome />
            <ConnectionPanel />
          </aside>
        )}
        <main className="workspace">
          <div className={`panes${showLocal ? ' two' : ''}`}>
            {showLocal && <LocalPane />}
            <RemotePane />
          </div>
          <Splitter />
          <div className="bottom">
            <TransfersPane />
            <ConsolePane />
          </div>
        </main>
      </div>
      <StatusBar />
      <HostKeyDialog />
      <ConflictDialog />
      <Dialogs />
      <EditorDialog />
    </div>
  );
}

/** Drag (or use ↑/↓ on) the bar between the tree and the bottom panes to resize them. */
function Splitter() {
  const { ui } = useStores();
  const { t } = useTranslation();
  const chosen = useUi((s) => s.bottomHeight);
  const ref = useRef<HTMLDivElement>(null);
  // Until resized, the height is the CSS default: read what is on screen.
  const height = chosen ?? Math.round(ref.current?.nextElementSibling?.getBoundingClientRect().height ?? 300);
  const drag = useRef<{ y: number; h: number } | null>(null);
  const max = (): number => Math.max(MIN_BOTTOM, window.innerHeight - 260);
  const setHeight = (h: number): void => ui.getState().setBottomHeight(Math.min(max(), h));
  return (
    <div
      ref={ref}
      className="splitter"
      role="separator"
      aria-orientation="horizontal"
      aria-label={t('app.resize')}

      aria-valuemin={MIN_BOTTOM}
      aria-valuemax={max()}
      aria-valuenow={height}
      tabIndex={0}
      onPointerDown={(e: PointerEvent<HTMLDivElement>) => {
        drag.current = { y: e.clientY, h: height };
        e.currentTarget.setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        if (drag.current) setHeight(drag.current.h + (drag.current.y - e.clientY));
      }}
      onPointerUp={() => {
        drag.current = null;
      }}
      onKeyDown={(e: KeyboardEvent<HTMLDivElement>) => {
        if (e.key === 'ArrowUp') setHeight(height + 24);
        else if (e.key === 'ArrowDown') setHeight(height - 24);
        else return;
        e.preventDefault();
      }}
    />
  );
}
