/**
 * Where a tree's folders come from: the server (fs:list, and fs:cd so the session moves
 * with the tree) or this computer (local:list, for the local pane). One tree store, view
 * and keyboard serve both; only this small interface differs.
 */
import type { FerryApi, Result } from '../../../shared/common/contract.js';
import type { Entry } from '../../../shared/common/messages.js';

export interface Listing {
  readonly path: string;
  readonly entries: Entry[];
}

export interface TreeSource {
  readonly side: 'remote' | 'local';
  /** The entries of a folder. */
  list(path: string): Promise<Result<Listing>>;
  /** Go into a folder: where that is (and, when finding out listed it, its entries). */
  open(path: string): Promise<Result<{ readonly path: string; readonly entries?: Entry[] }>>;
  /** Folders whose contents changed (the remote's 'fs:changed'); returns the unsubscribe. */
  watch(changed: (paths: readonly string[]) => void): () => void;
}

export function remoteSource(api: FerryApi): TreeSource {
  return {
    side: 'remote',
    list: (path) => api.call('fs:list', path),
    async open(path) {
      // The session moves there too (the console and relative paths follow the tree).
      const r = await api.call('fs:cd', path);
      return r.ok ? { ok: true, value: { path: r.value } } : r;
    },
    watch: (changed) => api.on('fs:changed', ({ paths }) => changed(paths)),
  };
}

export function localSource(api: FerryApi): TreeSource {
  return {
    side: 'local',
    list: (path) => api.call('local:list', path),
    open: (path) => api.call('local:list', path),
    // Local folders are listed again on Refresh (F5) and after a download into them.
    watch: () => () => undefined,
  };
}
