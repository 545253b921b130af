/**
 * All the stores of one window, wired to one FerryApi: a new login resets the tree and
 * loads history and transfers; finished transfers refresh the quota; a `cd` in the console
 * moves the tree; edited files are listed again after a login.
 */
import type { FerryApi } from '../../../shared/common/contract.js';
import { applyLanguage, i18n } from '../i18n/i18n.js';
import { displayPath } from '../logic/remote-path.js';
import { openStartFolder } from './places.js';
import { createConsoleStore, type ConsoleStore } from './console-store.js';
import { createEditsStore, type EditsStore } from './edits-store.js';
import { createSearchStore, type SearchStore } from './search-store.js';
import { createSessionStore, type SessionStore } from './session-store.js';
import { createTransfersStore, type TransfersStore } from './transfers-store.js';
import { localSource, remoteSource, type TreeSource } from './tree-source.js';
import { createTreeStore, type TreeStore } from './tree-store.js';
import { createUiStore, type UiStore } from './ui-store.js';

export interface Stores {
  readonly api: FerryApi;
  readonly session: SessionStore;
  readonly tree: TreeStore;
  /** The local pane's tree (this computer's files; browser mode: the host's folder). */
  readonly localTree: TreeStore;
  readonly sources: { readonly remote: TreeSource; readonly local: TreeSource };
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

  const sources = { remote: remoteSource(api), local: localSource(api) };
  const tree = createTreeStore(api, sources.remote);
  const localTree = createTreeStore(api, sources.local);
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
        openStartFolder(session.getState().profiles, info, tree);
        search.getState().reset();
        consoleStore.getState().reset();
        // Output of an earlier session stays (people copy from it), marked off from this one.
        consoleStore.getState().note(i18n.t('console:line.connected', { where: `${info.user.name}@${info.host}:${info.port}` }));
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
      if (consoleStore.getState().running) consoleStore.getState().note(i18n.t('console:line.disconnected'));
      consoleStore.getState().reset();
    },
  });
  // The UI speaks the language chosen in Settings, or the system's until one is chosen:
  // applied once the settings load and whenever they change, without a reload.
  session.subscribe((now, before) => {
    if (now.settings?.language !== before.settings?.language) applyLanguage(now.settings?.language);
  });

  return { api, session, tree, localTree, sources, transfers, console: consoleStore, ui: createUiStore(), edits, search };
}
