/**
 * All the stores of one window, wired to one FerryApi: a new login resets the tree and
 * loads history and transfers; finished transfers refresh the quota; a `cd` in the console
 * moves the tree; edited files are listed again after a login.
 */
import type { FerryApi } from '../../../shared/common/contract.js';
import { displayPath } from '../logic/remote-path.js';
import { createConsoleStore, type ConsoleStore } from './console-store.js';
import { createEditsStore, type EditsStore } from './edits-store.js';
import { createSearchStore, type SearchStore } from './search-store.js';
import { createSessionStore, type SessionStore } from './session-store.js';
import { createTransfersStore, type TransfersStore } from './transfers-store.js';
import { createTreeStore, type TreeStore } from './tree-store.js';
import { createUiStore, type UiStore } from './ui-store.js';

export interface Stores {
  readonly api: FerryApi;
  readonly session: SessionStore;
  readonly tree: TreeStore;
  readonly transfers: TransfersStore;
  readonly console: ConsoleStore;
  readonly ui: UiStore;
  readonly edits: EditsStore;
  readonly search: SearchStore;
}

/** Quota refreshes after transfers are coalesced: at most one per this many ms. */
const DF_DELAY_MS = 750;

export function createStores(api: FerryApi): Stores {
  let dfTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshDfSoon = (): void => {
    if (dfTimer !== undefined) return;
    dfTimer = setTimeout(() => {
      dfTimer = undefined;
      void session.getState().refreshDf();
    }, DF_DELAY_MS);
  };

  const tree = createTreeStore(api);
  const transfers = createTransfersStore(api, { onFinished: refreshDfSoon, folderName: (p) => displayPath(p, tree.getState().home) });
  const consoleStore = createConsoleStore(api, {
    onExit: (cwd) => {
      void tree.getState().follow(cwd);
      refreshDfSoon();
    },
  });
  const edits = createEditsStore(api);
  const search = createSearchStore(api);
  const session = createSessionStore(api, {
    onConnected: (info, fresh) => {
      if (fresh || tree.getState().cwd === '') {
        tree.getState().reset(info.cwd, info.home);
        search.getState().reset();
        consoleStore.getState().reset();
        // Output of an earlier session stays (people copy from it), marked off from this one.
        consoleStore.getState().note(`── connected to ${info.user.name}@${info.host}:${info.port} ──`);
      } else {
        void tree.getState().refresh();
      }
      void consoleStore.getState().loadHistory();
      void transfers.getState().load();
      void edits.getState().load();
      void session.getState().refreshDf();
    },
    onDisconnected: () => {
      tree.getState().clear();
      if (consoleStore.getState().running) consoleStore.getState().note('[disconnected]');
      consoleStore.getState().reset();
    },
  });
  return { api, session, tree, transfers, console: consoleStore, ui: createUiStore(), edits, search };
}
