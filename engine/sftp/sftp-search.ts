/**
 * Search by name over SFTP: the engine walks (engine/remote/tree-search.ts), reading each
 * folder with readdir on the browsing channel. Entries are taken as the server lists them
 * (lstat: a link is a link, never followed); Ferry's upload partials are left out, as in
 * a listing.
 */
import { FerryError } from '../../shared/common/errors.js';
import type { Entry } from '../../shared/common/messages.js';
import type { SearchBatch } from '../../shared/common/search-model.js';
import type { SearchRequest } from '../remote/remote.js';
import { DEFAULT_SEARCH_BOUNDS, searchTree, type SearchBounds } from '../remote/tree-search.js';
import { toEntry, type SftpCalls } from './sftp-calls.js';
import { isPartialName } from './sftp-lane.js';

/** A folder's entries as readdir gives them. */
async function readFolder(calls: SftpCalls, folder: string): Promise<Entry[]> {
  const handle = await calls.opendir(folder);
  const entries: Entry[] = [];
  try {
    for (let batch = await calls.readdirBatch(handle, folder); batch !== null; batch = await calls.readdirBatch(handle, folder)) {
      for (const item of batch) {
        if (item.filename === '.' || item.filename === '..' || isPartialName(item.filename)) continue;
        entries.push(toEntry(item.filename, item.attrs));
      }
    }
  } finally {
    await calls.close(handle, folder).catch(() => undefined);
  }
  return entries;
}

/**
 * The search of `root` (an absolute path). The folder itself may be reached through a
 * link, as with ferryd's `find`; anything but a folder is ENOTDIR.
 */
export async function* searchSftp(
  calls: SftpCalls,
  root: string,
  pattern: string,
  request: SearchRequest = {},
  bounds: SearchBounds = DEFAULT_SEARCH_BOUNDS,
): AsyncGenerator<SearchBatch> {
  const top = await calls.stat(root);
  if (!top.isDirectory()) throw new FerryError('ENOTDIR', `${root} is not a folder.`);
  yield* searchTree((folder) => readFolder(calls, folder), root, pattern, request, bounds);
}
