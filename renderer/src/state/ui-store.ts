/** Which dialog or menu is open, and the layout choices of the window. */
import { createStore, type StoreApi } from 'zustand/vanilla';

export type DialogState =
  | { readonly kind: 'delete'; readonly paths: readonly string[] }
  | { readonly kind: 'rename'; readonly path: string }
  | { readonly kind: 'mkdir'; readonly parent: string }
  | { readonly kind: 'settings' }
  | { readonly kind: 'sync'; readonly remoteRoot: string }
  | { readonly kind: 'chmod'; readonly paths: readonly string[] };

export interface MenuState {
  readonly x: number;
  readonly y: number;
  /** What the menu acts on (the selection when it opened). */
  readonly paths: readonly string[];
}

export interface UiState {
  readonly dialog: DialogState | null;
  readonly menu: MenuState | null;
  readonly sidebarOpen: boolean;
  /** Height of the transfers/console area in px, once someone resized it (else a share of the window). */
  readonly bottomHeight: number | null;
  /** The local pane is shown beside the remote one. */
  readonly showLocal: boolean;
  openDialog(dialog: DialogState): void;
  closeDialog(): void;
  openMenu(menu: MenuState): void;
  closeMenu(): void;
  setSidebarOpen(open: boolean): void;
  setBottomHeight(px: number): void;
  setShowLocal(show: boolean): void;
}

export type UiStore = StoreApi<UiState>;

export const MIN_BOTTOM = 120;

export function createUiStore(): UiStore {
  return createStore<UiState>()((set) => ({
    dialog: null,
    menu: null,
    sidebarOpen: true,
    bottomHeight: null,
    showLocal: false,
    openDialog: (dialog) => set({ dialog, menu: null }),
    closeDialog: () => set({ dialog: null }),
    openMenu: (menu) => set({ menu }),
    closeMenu: () => set({ menu: null }),
    setSidebarOpen: (sidebarOpen) => set({ sidebarOpen }),
    setShowLocal: (showLocal) => set({ showLocal }),
    setBottomHeight: (px) => set({ bottomHeight: Math.max(MIN_BOTTOM, Math.round(px)) }),
  }));
}
