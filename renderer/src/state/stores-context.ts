/** The window's stores, handed to components through context (tests build their own). */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { ConsoleState } from './console-store.js';
import type { EditsState } from './edits-store.js';
import type { SearchState } from './search-store.js';
import type { SessionState } from './session-store.js';
import type { Stores } from './stores.js';
import type { TransfersState } from './transfers-store.js';
import type { TreeState } from './tree-store.js';
import type { UiState } from './ui-store.js';

export const StoresContext = createContext<Stores | null>(null);

export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('useStores outside <StoresContext>');
  return stores;
}

export const useSession = <T,>(selector: (s: SessionState) => T): T => useStore(useStores().session, selector);
export const useTree = <T,>(selector: (s: TreeState) => T): T => useStore(useStores().tree, selector);
export const useTransfers = <T,>(selector: (s: TransfersState) => T): T => useStore(useStores().transfers, selector);
export const useConsole = <T,>(selector: (s: ConsoleState) => T): T => useStore(useStores().console, selector);
export const useUi = <T,>(selector: (s: UiState) => T): T => useStore(useStores().ui, selector);
export const useSearch = <T,>(selector: (s: SearchState) => T): T => useStore(useStores().search, selector);
export const useEdits = <T,>(selector: (s: EditsState) => T): T => useStore(useStores().edits, selector);
