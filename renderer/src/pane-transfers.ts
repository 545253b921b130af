/**
 * Dragging between the panes: local rows dropped on the remote tree are uploaded by their
 * paths ('transfers:uploadPaths'), remote rows dropped on the local tree are downloaded
 * into the folder dropped on ('transfers:download' with a target). Both go through the
 * queue like any other transfer; a refusal shows where upload and download refusals do.
 */
import { i18n } from './i18n/i18n.js';
import { displayPath } from './logic/remote-path.js';
import type { Stores } from './state/stores.js';

/** The type a drag of local rows carries (remote rows carry TREE_DRAG_TYPE, drop.ts). */
export const LOCAL_DRAG_TYPE = 'application/x-ferry-local-paths';

export async function uploadLocal({ api, tree, transfers }: Stores, localPaths: readonly string[], remoteDir: string): Promise<boolean> {
  if (localPaths.length === 0) return false;
  const r = await api.call('transfers:uploadPaths', [...localPaths], remoteDir);
  if (!r.ok) transfers.getState().refuse(i18n.t('panes:drop.uploadRefused', { folder: displayPath(remoteDir, tree.getState().home) }), r.error);
  return r.ok;
}

export async function downloadInto({ api, transfers, localTree }: Stores, remotePaths: readonly string[], localDir: string): Promise<boolean> {
  if (remotePaths.length === 0) return false;
  const r = await api.call('transfers:download', [...remotePaths], localDir);
  if (!r.ok) {
    transfers.getState().refuse(i18n.t('panes:drop.downloadRefused', { folder: displayPath(localDir, localTree.getState().home) }), r.error);
    return false;
  }
  return true;
}

/** Paths a drag carries under `type`, or none (a drag from elsewhere, or damaged data). */
export function draggedPaths(data: DataTransfer, type: string): string[] {
  try {
    const parsed: unknown = JSON.parse(data.getData(type));
    return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}
