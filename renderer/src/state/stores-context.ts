/** The window's stores, handed to components through context (tests build their own). */
import { createContext, useContext, useMemo } from 'react';
import { useStore } from 'zustand';
import { fileActions, type FileActions } from '../file-actions.js';
import type { ConsoleState } from './console-store.js';
import type { EditsState } from './edits-store.js';
import type { SearchState } from './search-store.js';
import type { SessionState } from './session-store.js';
import type { Stores } from './stores.js';
import type { TransfersState } from './transfers-store.js';
import type { TreeSource } from './tree-source.js';
import type { TreeState, TreeStore } from './tree-store.js';
import type { UiState } from './ui-store.js';

export const StoresContext = createContext<Stores | null>(null);

export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('useStores outside <StoresContext>');
  return stores;
}

export const useSession = <T,>(selector: (s: SessionState) => T): T => useStore(useStores().session, selector);
/**
 * One pane of files: its tree, where its folders come from, and what its keys and buttons
 * do. Components of a tree (the view, the path bar, sort, filter) use the pane around
 * them: the local pane provides its own; without one it is the remote tree.
 */
export interface Pane {
  readonly tree: TreeStore;
  readonly source: TreeSource;
  readonly actions: FileActions;
}

export const PaneContext = createContext<Pane | null>(null);

export function usePane(): Pane {
  const pane = useContext(PaneContext);
  const stores = useStores();
  const remote = useMemo(() => ({ tree: stores.tree, source: stores.sources.remote, actions: fileActions(stores) }), [stores]);
  return pane ?? remote;
}

export const useTreeStore = (): TreeStore => usePane().tree;
export const useTree = <T,>(selector: (s: TreeState) => T): T => useStore(useTreeStore(), selector);
export const useTransfers = <T,>(selector: (s: TransfersState) => T): T => useStore(useStores().transfers, selector);
export const useConsole = <T,>(selector: (s: ConsoleState) => T): T => useStore(useStores().console, selector);
export const useUi = <T,>(selector: (s: UiState) => T): T => useStore(useStores().ui, selector);
export const useSearch = <T,>(selector: (s: SearchState) => T): T => useStore(useStores().search, selector);
export const useEdits = <T,>(selector: (s: EditsState) => T): T => useStore(useStores().edits, selector);
