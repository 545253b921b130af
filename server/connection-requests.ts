/**
 * The requests that run concurrently and answer by id: browsing and changing the tree
 * (list, stat, cd, mkdir, rename, delete, chmod, df, upload-info), a tree's walk
 * (connection-walk.ts), a search by name (connection-find.ts), downloads (get, read), a file's hash (connection-hash.ts), cancel.
 * Writes first ask whether the session's account still exists (Sessions.current).
 */
import { digestField } from '../shared/common/checks.js';
import { FerryError } from '../shared/common/errors.js';
import { LIST_PAGE_BYTES, LIST_PAGE_MAX, READ_MAX, type Entry, type Request } from '../shared/common/messages.js';
import { findRequest } from './connection-find.js';
import { hashRequest } from './connection-hash.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import { walkRequest } from './connection-walk.js';
import { chmodRequest } from './connection-chmod.js';

export async function handleRequest(conn: ConnectionScope, req: Request): Promise<void> {
  const { storage } = conn.ctx;
  const ses = conn.session;
  const { account, cwd } = ses;
  switch (req.type) {
    case 'ping':
      return conn.send({ type: 'ok', id: req.id });
    case 'pwd':
      return conn.send({ type: 'ok', id: req.id, cwd });
    case 'cd':
      ses.cwd = await storage.chdir(account, cwd, req.path);
      return conn.send({ type: 'ok', id: req.id, cwd: ses.cwd });
    case 'list':
      return list(conn, req);
    case 'walk':
      return walkRequest(conn, req);
    case 'find':
      return findRequest(conn, req);
    case 'stat':
      return conn.send({ type: 'ok', id: req.id, entry: await storage.stat(account, cwd, req.path) });
    case 'mkdir':
      await conn.ctx.sessions.current(ses);
      return conn.send({ type: 'ok', id: req.id, path: await storage.mkdir(account, cwd, req.path, req.parents ?? false, req.mode) });
    case 'chmod':
      return chmodRequest(conn, req);
    case 'rename': {
      await conn.ctx.sessions.current(ses);
      const path = await storage.rename(account, cwd, req.from, req.to, req.overwrite ?? false);
      return conn.send({ type: 'ok', id: req.id, path });
    }
    case 'delete':
      await conn.ctx.sessions.current(ses);
      await storage.remove(account, cwd, req.path, req.recursive ?? false);
      return conn.send({ type: 'ok', id: req.id });
    case 'df':
      return conn.send({ type: 'ok', id: req.id, ...(await storage.df(account)) });
    case 'upload-info':
      return conn.send({ type: 'ok', id: req.id, ...(await storage.uploadInfo(account, cwd, req.path)) });
    case 'get':
      return get(conn, req);
    case 'read':
      return read(conn, req);
    case 'hash':
      return hashRequest(conn, req);
    case 'cancel': {
      const stop = conn.running.get(req.target);
      stop?.();
      return conn.send({ type: 'ok', id: req.id, found: stop !== undefined });
    }
    case 'hello':
    case 'auth':
    case 'auth-final':
    case 'attach':
      throw new FerryError('EPROTO', `"${req.type}" is only valid at the start of a connection`);
    case 'put':
    case 'put-end':
    case 'exec':
      throw new FerryError('EPROTO', 'unreachable');
  }
}

/**
 * A page of a folder. Without `limit` or `cursor` (a client that does not page), a folder
 * that does not fit one reply is refused with ETOOBIG rather than cut short in silence.
 * Each page is reserved from the connection's reply budget: what a client that does not
 * read its socket can make the server hold stays bounded.
 */
async function list(conn: ConnectionScope, req: Req<'list'>): Promise<void> {
  const { account, cwd } = conn.session;
  const paging = req.limit !== undefined || req.cursor !== undefined;
  const limit = Math.min(req.limit ?? LIST_PAGE_MAX, LIST_PAGE_MAX);
  await conn.readBudget.reserve(LIST_PAGE_BYTES);
  try {
    let path: string;
    let entries: Entry[];
    let next: string | undefined;
    if (req.cursor !== undefined) {
      const listing = conn.listings.take('list', req.cursor);
      path = listing.path;
      let page;
      try {
        page = await listing.pages.next(limit);
      } catch (err) {
        await listing.pages.close();
        throw err;
      }
      entries = page.entries;
      if (!page.done) next = conn.listings.add('list', path, listing.pages);
    } else {
      const page = await conn.ctx.storage.list(account, cwd, req.path ?? '.', limit);
      ({ path, entries } = page);
      if (page.rest && !paging) {
        await page.rest.close();
        throw new FerryError(
          'ETOOBIG',
          `This folder has more entries than one listing holds (${LIST_PAGE_MAX}, or 1 MiB): list it in pages (limit and cursor).`,
          { max: LIST_PAGE_MAX },
        );
      }
      if (page.rest) next = conn.listings.add('list', path, page.rest);
    }
    const body = Buffer.from(JSON.stringify(entries));
    await conn.send({ type: 'ok', id: req.id, path, count: entries.length, ...(next ? { next } : {}) }, body);
  } finally {
    conn.readBudget.release(LIST_PAGE_BYTES);
  }
}

async function get(conn: ConnectionScope, req: Req<'get'>): Promise<void> {
  const { account, cwd } = conn.session;
  const download = await conn.ctx.storage.openDownload(account, cwd, req.path, req.offset ?? 0, req.check ?? 'sha256');
  const started = Date.now();
  conn.running.set(req.id, () => conn.destroy());
  try {
    await conn.writer.sendStream(
      { type: 'data', id: req.id, offset: download.offset, total: download.total, mtime: download.mtime },
      download.total - download.offset,
      download.chunks(),
      (chunk) => download.release(chunk),
    );
    await conn.send({ type: 'ok', id: req.id, ...digestField(download.digest()) });
    conn.ctx.log(`get user=${account.name} ${download.total - download.offset} bytes ok ${Date.now() - started} ms`);
  } finally {
    conn.running.delete(req.id);
    await download.close();
  }
}

/** A whole small file in one `ok` frame with its digest (ETOOBIG: use `get`). */
async function read(conn: ConnectionScope, req: Req<'read'>): Promise<void> {
  const { account } = conn.session;
  const started = Date.now();
  // Reserved before the disk read, given back once the socket took the reply: what a
  // client that does not read its socket can make the server hold is bounded.
  const reserved = Math.min(req.max, READ_MAX);
  await conn.readBudget.reserve(reserved);
  try {
    const file = await conn.ctx.storage.readWhole(account, conn.session.cwd, req.path, req.max, req.check ?? 'sha256');
    conn.ctx.log(`read user=${account.name} ${file.data.length} bytes ok ${Date.now() - started} ms`);
    await conn.send(
      { type: 'ok', id: req.id, path: file.path, fileSize: file.data.length, mtime: file.mtime, ...digestField(file.digest) },
      file.data,
      true,
    );
  } finally {
    conn.readBudget.release(reserved);
  }
}
