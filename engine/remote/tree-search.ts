/**
 * A search by name walked by the engine, for a remote that cannot search itself (SFTP, or
 * a ferryd older than `find`): folders read a few at a time, links listed and never
 * followed, the same matcher and the same bounds as ferryd's `find` (search-model.ts).
 */
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { Entry } from '../../shared/common/messages.js';
import { compileNamePattern } from '../../shared/common/name-pattern.js';
import {
  SEARCH_BATCH_MAX,
  SEARCH_RESULTS_DEFAULT,
  SEARCH_RESULTS_MAX,
  SEARCH_TIME_MAX_MS,
  SEARCH_VISITED_MAX,
  type SearchBatch,
  type SearchBound,
  type SearchHit,
} from '../../shared/common/search-model.js';
import type { SearchRequest } from './remote.js';

/** Folders read at once: enough to hide a round trip, few enough to leave the channel to browsing. */
const FOLDERS_IN_FLIGHT = 4;

/** The bounds of one search; tests lower them. */
export interface SearchBounds {
  readonly maxVisited: number;
  readonly maxMs: number;
}

export const DEFAULT_SEARCH_BOUNDS: SearchBounds = { maxVisited: SEARCH_VISITED_MAX, maxMs: SEARCH_TIME_MAX_MS };

/** A child's path below a folder, '/'-separated. */
export const childPath = (folder: string, name: string): string => (folder.endsWith('/') ? `${folder}${name}` : `${folder}/${name}`);

/**
 * Search the tree below `root` (an absolute path) by reading its folders with `readFolder`,
 * which lists a folder's entries as they are, links as links. The root's errors end the
 * search; a folder below it that cannot be read (gone, or not allowed) is skipped.
 */
export async function* searchTree(
  readFolder: (folder: string) => Promise<readonly Entry[]>,
  root: string,
  pattern: string,
  request: SearchRequest = {},
  bounds: SearchBounds = DEFAULT_SEARCH_BOUNDS,
): AsyncGenerator<SearchBatch> {
  const matches = compileNamePattern(pattern, { caseSensitive: request.caseSensitive ?? false });
  const maxResults = Math.min(request.maxResults ?? SEARCH_RESULTS_DEFAULT, SEARCH_RESULTS_MAX);
  const { signal } = request;
  const started = Date.now();
  let found = 0;
  let visited = 0;
  let truncated: SearchBound | undefined;
  // Depth first, as ferryd walks: the stack of folders to read stays shallow.
  const folders: string[] = [];
  const reading = new Map<number, Promise<{ key: number; folder: string; entries: readonly Entry[] }>>();
  let nextKey = 0;
  const start = (folder: string): void => {
    const key = nextKey++;
    reading.set(
      key,
      readFolder(folder).then(
        (entries) => ({ key, folder, entries }),
        (err: unknown) => {
          const e = toFerryError(err);
          // A folder below the root that went away or may not be read: the rest is still searched.
          if (folder !== root && (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOTDIR')) return { key, folder, entries: [] };
          throw e;
        },
      ),
    );
  };
  start(root);
  try {
    while (reading.size > 0) {
      if (signal?.aborted) throw new FerryError('ECANCELED', 'The search was stopped.');
      const { key, folder, entries } = await Promise.race(reading.values());
      reading.delete(key);
      let hits: SearchHit[] = [];
      for (const entry of entries) {
        if (visited >= bounds.maxVisited) {
          truncated = 'visited';
          break;
        }
        visited++;
        const path = childPath(folder, entry.name);
        if (entry.type === 'dir') folders.push(path);
        if (!matches(entry.name)) continue;
        if (found >= maxResults) {
          truncated = 'results';
          break;
        }
        hits.push({ path, entry });
        found++;
        if (hits.length >= SEARCH_BATCH_MAX) {
          yield { path: root, hits };
          hits = [];
        }
      }
      if (hits.length > 0) yield { path: root, hits };
      if (truncated) break;
      if (Date.now() - started >= bounds.maxMs && (folders.length > 0 || reading.size > 0)) {
        truncated = 'time';
        break;
      }
      while (reading.size < FOLDERS_IN_FLIGHT && folders.length > 0) start(folders.pop()!);
    }
    if (truncated) yield { path: root, hits: [], truncated };
  } finally {
    // Reads still under way are not waited for; their answers are dropped.
    for (const pending of reading.values()) pending.catch(() => undefined);
  }
}
