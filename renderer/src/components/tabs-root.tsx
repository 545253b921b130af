/**
 * The window with tabs: the tab strip, then the shown tab's window body (app.tsx) with
 * that tab's own stores. Hidden tabs keep their stores and sessions (their transfers run,
 * their console output is buffered); only the shown tab's body is on screen, so its
 * dialogs (host keys, conflicts, settings) are the ones asked. Ctrl+T opens a tab, Ctrl+W
 * closes one (asking when it has unfinished transfers or unsaved edits), Ctrl+Tab and
 * Ctrl+Shift+Tab (or Ctrl+PageDown/PageUp) switch.
 */
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { unsavedEdits } from '../state/edits-store.js';
import { StoresContext } from '../state/stores-context.js';
import { useTabs, useTabsStore } from '../state/tabs-context.js';
import { activeTab, tabLabel, type Tab, type TabsStore } from '../state/tabs-store.js';
import { App } from './app.js';
import { Modal } from './modal.js';
import { TabStrip, panelDomId, tabDomId } from './tab-strip.js';
import './tabs.css';

/** What closing a tab would lose: its unfinished transfers and its edits the server does not have. */
function atStake(tab: Tab): { transfers: number; edits: number } {
  return { transfers: tab.stores.transfers.getState().totals.unfinished, edits: unsavedEdits(tab.stores.edits.getState()).length };
}

export function TabsRoot() {
  const registry = useTabsStore();
  const active = useTabs(activeTab);
  const [closing, setClosing] = useState<Tab | null>(null);

  const requestClose = useCallback(
    (tab: Tab) => {
      if (registry.getState().tabs.length <= 1) return;
      const stake = atStake(tab);
      if (stake.transfers > 0 || stake.edits > 0) setClosing(tab);
      else registry.getState().close(tab.id);
    },
    [registry],
  );
  useTabKeys(registry, requestClose);

  return (
    <div className="tabs-root">
      <TabStrip onClose={requestClose} />
      <div role="tabpanel" id={panelDomId(active.id)} aria-labelledby={tabDomId(active.id)} className="tab-panel">
        <StoresContext key={active.id} value={active.stores}>
          <App />
        </StoresContext>
      </div>
      {closing && <CloseTabDialog tab={closing} onDone={() => setClosing(null)} />}
    </div>
  );
}

/** The window's tab keys. While a dialog is open they do nothing: it belongs to the tab shown. */
function useTabKeys(registry: TabsStore, requestClose: (tab: Tab) => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || document.querySelector('dialog[open]')) return;
      const tabs = registry.getState();
      const key = e.key.toLowerCase();
      if (key === 't' && !e.shiftKey) tabs.open();
      else if (key === 'w' && !e.shiftKey) requestClose(activeTab(tabs));
      else if (key === 'tab') tabs.step(e.shiftKey ? -1 : 1);
      else if (key === 'pagedown' && !e.shiftKey) tabs.step(1);
      else if (key === 'pageup' && !e.shiftKey) tabs.step(-1);
      else return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [registry, requestClose]);
}

function CloseTabDialog({ tab, onDone }: { readonly tab: Tab; readonly onDone: () => void }) {
  const { t } = useTranslation('tabs');
  const registry = useTabsStore();
  const label = useTabs((s) => tabLabel(s.titles.get(tab.id))) ?? t('untitled');
  const stake = atStake(tab);
  return (
    <Modal title={t('confirm.title', { name: label })} tone="warning" onCancel={onDone} describedBy="close-tab-text">
      <div id="close-tab-text">
        {stake.transfers > 0 && <p>{t('confirm.transfers', { count: stake.transfers })}</p>}
        {stake.edits > 0 && <p>{t('confirm.edits', { count: stake.edits })}</p>}
      </div>
      <div className="button-row end">
        <button type="button" className="button" data-autofocus onClick={onDone}>
          {t('confirm.cancel')}
        </button>
        <button
          type="button"
          className="button danger"
          onClick={() => {
            registry.getState().close(tab.id);
            onDone();
          }}
        >
          {t('confirm.close')}
        </button>
      </div>
    </Modal>
  );
}
