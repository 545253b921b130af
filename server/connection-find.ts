/**
 * The `find` request: names matching a pattern anywhere below a folder. The server walks
 * the tree with the walk's own traversal (storage-walk.ts: jailed, links listed and never
 * followed) and streams only the matches, in `find-found` frames as they are found, then
 * an `ok` that says whether a bound (results, entries looked at, time) stopped it early.
 * `cancel` stops it between two steps of the walk (ECANCELED).
 */
import { FerryError } from '../shared/common/errors.js';
import type { WalkRecord } from '../shared/common/messages.js';
import { compileNamePattern } from '../shared/common/name-pattern.js';
import { SEARCH_BATCH_MAX, SEARCH_RESULTS_DEFAULT, type SearchBound } from '../shared/common/search-model.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import type { Session } from './sessions.js';
import type { TreePages } from './storage.js';
import { recordsForClient } from './walk-digests.js';

/** Records the walk reads per step: between two steps a search checks its bounds and a cancel. */
const WALK_STEP = 1000;
/** The most JSON one `find-found` frame carries (a result is a walk record: ~50 bytes plus its path). */
const FOUND_FRAME_BYTES = 256 * 1024;

/** Searches running per session, over all its connections (Limits.maxFindsPerSession). */
const runningFinds = new WeakMap<Session, number>();

const nameOf = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);

export async function findRequest(conn: ConnectionScope, req: Req<'find'>): Promise<void> {
  const { limits } = conn.ctx;
  const ses = conn.session;
  // The pattern is checked before anything is opened: a bad one costs nothing.
  const matches = compileNamePattern(req.pattern, { caseSensitive: req.caseSensitive ?? false });
  const busy = runningFinds.get(ses) ?? 0;
  if (busy >= limits.maxFindsPerSession) {
    throw new FerryError('EBUSY', `At most ${limits.maxFindsPerSession} searches may run at once: stop one, or wait for it to end.`);
  }
  runningFinds.set(ses, busy + 1);
  let cancelled = false;
  conn.running.set(req.id, () => (cancelled = true));
  const started = Date.now();
  const maxResults = Math.min(req.max ?? SEARCH_RESULTS_DEFAULT, limits.findMaxResults);
  let pages: TreePages | null = null;
  try {
    const first = await conn.ctx.storage.walk(ses.account, ses.cwd, req.path ?? '.', WALK_STEP);
    pages = first.rest;
    let records: readonly WalkRecord[] = first.records;
    let count = 0;
    let visited = 0;
    let truncated: SearchBound | null = null;
    for (;;) {
      const found: WalkRecord[] = [];
      for (const record of records) {
        if (visited >= limits.findMaxVisited) {
          truncated = 'visited';
          break;
        }
        visited++;
        if (!matches(nameOf(record[0]))) continue;
        if (count >= maxResults) {
          // One match more than may be given: there is more, and the reply says so.
          truncated = 'results';
          break;
        }
        found.push(record);
        count++;
      }
      await sendFound(conn, req.id, first.path, recordsForClient(found, req.checks));
      if (truncated !== null || pages === null) break;
      if (cancelled || conn.closed) throw new FerryError('ECANCELED', 'The search was stopped.');
      if (Date.now() - started >= limits.findMaxMs) {
        truncated = 'time';
        break;
      }
      const page = await pages.next(WALK_STEP);
      records = page.records;
      if (page.done) pages = null;
    }
    conn.ctx.log(`find user=${ses.account.name} ${count} found, ${visited} looked at${truncated ? ` (${truncated} bound)` : ''} ${Date.now() - started} ms`);
    await conn.send({ type: 'ok', id: req.id, path: first.path, count, visited, truncated });
  } finally {
    conn.running.delete(req.id);
    runningFinds.set(ses, (runningFinds.get(ses) ?? 1) - 1);
    await pages?.close();
  }
}

/**
 * Matches as `find-found` frames of at most SEARCH_BATCH_MAX records and FOUND_FRAME_BYTES
 * of JSON. Each send waits until the socket takes it: a client that does not read holds
 * the walk, not the server's memory.
 */
async function sendFound(conn: ConnectionScope, id: number, path: string, found: readonly WalkRecord[]): Promise<void> {
  let batch: WalkRecord[] = [];
  let bytes = 2;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await conn.send({ type: 'find-found', id, path, count: batch.length }, Buffer.from(JSON.stringify(batch)));
    batch = [];
    bytes = 2;
  };
  for (const record of found) {
    const size = Buffer.byteLength(JSON.stringify(record)) + 1;
    if (batch.length >= SEARCH_BATCH_MAX || (batch.length > 0 && bytes + size > FOUND_FRAME_BYTES)) await flush();
    batch.push(record);
    bytes += size;
  }
  await flush();
}
