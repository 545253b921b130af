/**
 * The `walk` request: everything below a folder in pages of compact records, continued by
 * cursor like a listing (the same cursors, list-cursors.ts, and the same reply budget).
 */
import { LIST_PAGE_BYTES, LIST_PAGE_MAX, type WalkRecord } from '../shared/common/messages.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import { recordsForClient } from './walk-digests.js';

export async function walkRequest(conn: ConnectionScope, req: Req<'walk'>): Promise<void> {
  const { account, cwd } = conn.session;
  const limit = Math.min(req.limit ?? LIST_PAGE_MAX, LIST_PAGE_MAX);
  // Each page is reserved from the connection's reply budget, as a listing's page is.
  await conn.readBudget.reserve(LIST_PAGE_BYTES);
  try {
    let path: string;
    let records: WalkRecord[];
    let next: string | null = null;
    if (req.cursor !== undefined) {
      const walk = conn.listings.take('walk', req.cursor);
      path = walk.path;
      let page;
      try {
        page = await walk.pages.next(limit);
      } catch (err) {
        await walk.pages.close();
        throw err;
      }
      records = page.records;
      if (!page.done) next = conn.listings.add('walk', path, walk.pages);
    } else {
      const page = await conn.ctx.storage.walk(account, cwd, req.path ?? '.', limit);
      ({ path, records } = page);
      if (page.rest) next = conn.listings.add('walk', path, page.rest);
    }
    const body = Buffer.from(JSON.stringify(recordsForClient(records, req.checks)));
    await conn.send({ type: 'ok', id: req.id, path, count: records.length, next }, body);
  } finally {
    conn.readBudget.release(LIST_PAGE_BYTES);
  }
}
