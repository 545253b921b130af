/**
 * The window's tabs registry (tabs-store.ts) handed to components, and the transfers
 * pane's view of every tab's queue: its rows (each with its own tab, whose stores and api
 * its controls use), the tabs' totals added up, and the pane-wide intents sent to every tab.
 */
import { createContext, useContext, useMemo } from 'react';
import { useStore } from 'zustand';
import type { QueueTotals } from '../../../shared/common/transfer-model.js';
import type { TransfersState } from './transfers-store.js';
import type { QueueRow, TabsState, TabsStore } from './tabs-store.js';

export const TabsContext = createContext<TabsStore | null>(null);

export function useTabsStore(): TabsStore {
  const tabs = useContext(TabsContext);
  if (!tabs) throw new Error('useTabsStore outside <TabsContext>');
  return tabs;
}

export const useTabs = <T,>(selector: (s: TabsState) => T): T => useStore(useTabsStore(), selector);

/** The rows of the transfers pane: every tab's transfers, each with its tab. */
export const useQueueRows = (): readonly QueueRow[] => useTabs((s) => s.rows);

/** The totals the transfers pane shows: every tab's, added up. */
export const useQueueTotals = (): QueueTotals => useTabs((s) => s.totals);

/** Whether the window has more than one tab (rows then say where each transfer goes). */
export const useSeveralTabs = (): boolean => useTabs((s) => s.tabs.length > 1);

export type QueueIntents = Pick<TransfersState, 'pauseAll' | 'resumeAll' | 'cancelAll' | 'clearFinished'>;

/** The pane-wide queue intents (Pause all, …), each sent to every tab's queue. */
export function useQueueIntents(): QueueIntents {
  const tabs = useTabsStore();
  return useMemo(() => {
    const every = (intent: keyof QueueIntents) => () => tabs.getState().everyQueue((s) => s.transfers.getState()[intent]());
    return { pauseAll: every('pauseAll'), resumeAll: every('resumeAll'), cancelAll: every('cancelAll'), clearFinished: every('clearFinished') };
  }, [tabs]);
}
