/**
 * A folder of 200,000 empty files, made straight on the server's disk: the engine lists it
 * page by page while ferryd's memory stays bounded, a client that does not page is told
 * ETOOBIG instead of being sent everything, and the user, at the limit of their entry
 * quota, cannot make one more empty file or folder (until they delete one).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_PAGE_BYTES, LIST_PAGE_MAX } from '../../shared/common/messages.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { connectSession, failure } from '../helpers/engine.js';
import { emptyFiles } from '../helpers/files.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { loggedIn, type RawClient } from './raw-client.js';

const COUNT = 200_000;
/** The files, and the folder that holds them: exactly the user's entry quota. */
const ENTRIES = COUNT + 1;
/**
 * ferryd's resident memory while it pages through the folder. It starts at about 65 MiB
 * and peaked at about 120 MiB here (garbage of 40 pages not yet collected). The listing
 * held whole, as before paging, adds about 127 MiB by itself (200,000 entries as objects
 * and 16.6 MB of JSON; measured 41 → 168 MiB in a bare Node process), past this bound.
 */
const RSS_BOUND = 150 * 1024 * 1024;
const dave: TestUser = { name: 'dave', password: 'dave pass phrase', entries: String(ENTRIES) };
const name = (i: number): string => `file-${String(i).padStart(6, '0')}.txt`;

let server: Ferryd;
let session: RemoteSession;
let raw: RawClient;

/** The resident memory of a process now, in bytes (Linux). */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

beforeAll(async () => {
  server = await startFerryd({ users: [dave], plain: true });
  const started = Date.now();
  await emptyFiles(path.join(server.root, 'homes', dave.name, 'many'), COUNT, name);
  console.log(`big folder: created ${COUNT} files in ${Date.now() - started} ms`);
  session = await connectSession(server, dave);
  raw = await loggedIn(server.port, dave.name, dave.password);
}, 180_000);

afterAll(async () => {
  session?.close();
  raw?.destroy();
  await cleanupAll();
});

describe('a folder of 200,000 entries', () => {
  it('is listed through the engine a page at a time, with ferryd holding one page', async () => {
    const pid = server.process.pid!;
    const before = await rss(pid);
    let peak = before;
    let pages = 0;
    let total = 0;
    const started = Date.now();
    for await (const page of session.listPages('many')) {
      pages++;
      total += page.entries.length;
      expect(page.path).toBe('/many');
      expect(page.entries.length).toBeLessThanOrEqual(LIST_PAGE_MAX);
      expect(page.bytes).toBeLessThanOrEqual(LIST_PAGE_BYTES);
      if (pages % 5 === 0) peak = Math.max(peak, await rss(pid));
    }
    const pagedMs = Date.now() - started;
    peak = Math.max(peak, await rss(pid));
    expect(total).toBe(COUNT);
    expect(pages).toBeGreaterThanOrEqual(COUNT / LIST_PAGE_MAX);

    // The whole listing, gathered and sorted by the engine (the Remote interface as before).
    const listed = await session.list('many');
    peak = Math.max(peak, await rss(pid));
    expect(listed.entries).toHaveLength(COUNT);
    expect(new Set(listed.entries.map((e) => e.name)).size).toBe(COUNT);
    expect(listed.entries[0]).toMatchObject({ name: name(0), type: 'file', size: 0 });
    expect(listed.entries[COUNT - 1]!.name).toBe(name(COUNT - 1));
    const MiB = 1024 * 1024;
    console.log(
      `big folder: ${pages} pages in ${pagedMs} ms; ferryd RSS ${Math.round(before / MiB)} MiB before, ${Math.round(peak / MiB)} MiB at most`,
    );
    expect(peak).toBeLessThan(RSS_BOUND);
  }, 120_000);

  it('answers a client that does not page with ETOOBIG, and one that does with a cursor', async () => {
    const whole = await raw.request({ type: 'list', path: 'many' }, undefined, 20_000);
    expect(whole.header).toMatchObject({ type: 'error', code: 'ETOOBIG', details: { max: LIST_PAGE_MAX } });

    const first = await raw.request({ type: 'list', path: 'many', limit: 10 }, undefined, 20_000);
    expect(first.header).toMatchObject({ type: 'ok', path: '/many', count: 10 });
    expect(JSON.parse(first.body.toString())).toHaveLength(10);
    const cursor = first.header.next as string;
    expect(typeof cursor).toBe('string');
    const second = await raw.request({ type: 'list', cursor, limit: 5 });
    expect(second.header).toMatchObject({ type: 'ok', count: 5 });
    // A cursor is used once: the next page has its own.
    expect(second.header.next).not.toBe(cursor);
    const again = await raw.request({ type: 'list', cursor });
    expect(again.header).toMatchObject({ type: 'error', code: 'EINVAL' });
  });

  it('a client-side cap stops a listing past it with ETOOBIG', async () => {
    const capped = await connectSession(server, dave, { listingMax: { entries: 50_000, bytes: 256 * 1024 * 1024 } });
    try {
      const err = await failure(capped.list('many'));
      expect(err.code).toBe('ETOOBIG');
      expect(err.message).toMatch(/50,000 entries/);
      expect(await capped.list('/')).toMatchObject({ path: '/', entries: [expect.objectContaining({ name: 'many' })] });
    } finally {
      capped.close();
    }
  });

  it('at the entry quota, not one more empty file or folder can be made', async () => {
    const folder = await failure(session.mkdir('more'));
    expect(folder.code).toBe('EQUOTA');
    expect(folder.details).toEqual({ entries: ENTRIES, maxEntries: ENTRIES });
    const file = await raw.put('many/one-more.txt', Buffer.alloc(0));
    expect(file.header).toMatchObject({ type: 'error', code: 'EQUOTA' });
    expect(await session.df()).toMatchObject({ entries: ENTRIES, maxEntries: ENTRIES, used: 0 });

    // A delete makes room for exactly one.
    await session.remove(`many/${name(0)}`);
    expect((await raw.put('many/one-more.txt', Buffer.alloc(0))).header).toMatchObject({ type: 'ok' });
    expect((await failure(session.mkdir('more'))).code).toBe('EQUOTA');
  }, 60_000);
});
