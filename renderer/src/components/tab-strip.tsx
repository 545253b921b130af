/**
 * The tab strip above the window body: one tab per session, named after its saved
 * connection or `user@host:port`, with a dot for its connection's state and a mark when
 * it waits for an answer (a host key, a conflict) while hidden; a close button on each
 * (once there are two) and "New tab". Arrow keys move between tabs, Delete closes one.
 */
import { useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useStore } from 'zustand';
import { MAX_TABS } from '../../../shared/common/tabs.js';
import { useTabs, useTabsStore } from '../state/tabs-context.js';
import { tabLabel, type Tab } from '../state/tabs-store.js';
import { Icon } from './icons.js';

/** DOM ids of a tab and of its panel (aria-controls, aria-labelledby). */
export const tabDomId = (id: string): string => `${id}-tab`;
export const panelDomId = (id: string): string => `${id}-panel`;

export function TabStrip({ onClose }: { readonly onClose: (tab: Tab) => void }) {
  const { t } = useTranslation('tabs');
  const registry = useTabsStore();
  const tabs = useTabs((s) => s.tabs);
  const activeId = useTabs((s) => s.activeId);
  const list = useRef<HTMLDivElement>(null);
  const full = tabs.length >= MAX_TABS;

  const show = (tab: Tab | undefined): void => {
    if (!tab) return;
    registry.getState().activate(tab.id);
    queueMicrotask(() => document.getElementById(tabDomId(tab.id))?.focus());
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const index = tabs.findIndex((tab) => tab.id === activeId);
    if (e.key === 'ArrowRight') show(tabs[(index + 1) % tabs.length]);
    else if (e.key === 'ArrowLeft') show(tabs[(index - 1 + tabs.length) % tabs.length]);
    else if (e.key === 'Home') show(tabs[0]);
    else if (e.key === 'End') show(tabs[tabs.length - 1]);
    else if (e.key === 'Delete' && tabs.length > 1 && tabs[index]) onClose(tabs[index]);
    else return;
    e.preventDefault();
  };

  return (
    <div className="tab-strip">
      <div ref={list} className="tab-list" role="tablist" aria-label={t('strip')} onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <TabItem key={tab.id} tab={tab} active={tab.id === activeId} closable={tabs.length > 1} onClose={onClose} />
        ))}
      </div>
      <button
        type="button"
        className="icon-button tab-new"
        aria-label={t('newTab')}
        title={full ? t('full', { count: MAX_TABS }) : t('newTabHint')}
        disabled={full}
        onClick={() => show(registry.getState().open() ?? undefined)}
      >
        <Icon name="plus" />
      </button>
    </div>
  );
}

interface TabItemProps {
  readonly tab: Tab;
  readonly active: boolean;
  readonly closable: boolean;
  readonly onClose: (tab: Tab) => void;
}

function TabItem({ tab, active, closable, onClose }: TabItemProps) {
  const { t } = useTranslation('tabs');
  const registry = useTabsStore();
  const title = useTabs((s) => s.titles.get(tab.id));
  const state = useStore(tab.stores.session, (s) => s.connection.state);
  const hostKey = useStore(tab.stores.session, (s) => s.hostKey !== null);
  const conflict = useStore(tab.stores.transfers, (s) => s.conflicts.length > 0);
  const waiting = (hostKey || conflict) && !active;
  const label = tabLabel(title) ?? t('untitled');
  const stateText = t(`state.${state}`);
  const id = tabDomId(tab.id);
  return (
    <div className={`tab-item state-${state}${active ? ' active' : ''}`} role="presentation">
      <button
        type="button"
        role="tab"
        id={id}
        className="tab"
        aria-selected={active}
        aria-controls={active ? panelDomId(tab.id) : undefined}
        aria-labelledby={`${id}-label`}
        aria-describedby={`${id}-state`}
        tabIndex={active ? 0 : -1}
        title={`${label} · ${stateText}`}
        onClick={() => registry.getState().activate(tab.id)}
        onAuxClick={(e) => {
          // A middle click closes, as in browsers.
          if (e.button === 1 && closable) onClose(tab);
        }}
      >
        <span className="dot" aria-hidden="true" />
        <span id={`${id}-label`} className="tab-label">
          {label}
        </span>
        {waiting && (
          <span className="tab-attention" aria-hidden="true">
            <Icon name="warning" />
          </span>
        )}
        <span id={`${id}-state`} className="visually-hidden">
          {waiting ? `${stateText} · ${t('attention')}` : stateText}
        </span>
      </button>
      {closable && (
        <button
          type="button"
          className="icon-button tab-close"
          aria-label={t('close', { name: label })}
          title={t('closeHint')}
          tabIndex={active ? 0 : -1}
          onClick={() => onClose(tab)}
        >
          <Icon name="close" />
        </button>
      )}
    </div>
  );
}
