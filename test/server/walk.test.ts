/**
 * `walk` against a real ferryd: a tree's records come folder before contents, links are
 * listed and never followed, pages continue by cursor (only on their own connection), stored
 * hashes show while they hold, and the jail answers EACCES, ENOTDIR and ENOENT as for `list`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WALK_TYPES, type WalkRecord } from '../../shared/common/messages.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { loggedIn, rootWithUsers, type Frame, type RawClient } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-walk-pass', exec: true };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let server: Ferryd;
let home: string;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = await loggedIn(server.port, ALICE.name, ALICE.password);
  clients.push(c);
  return c;
}

function records(reply: Frame): WalkRecord[] {
  expect(reply.header).toMatchObject({ type: 'ok', count: expect.any(Number) });
  expect(reply.header.size ?? 0).toBe(reply.body.length);
  const parsed = JSON.parse(reply.body.toString('utf8')) as WalkRecord[];
  expect(parsed).toHaveLength(reply.header.count as number);
  return parsed;
}

/** Every page of a walk, in order, with the number of pages it took. */
async function walkAll(c: RawClient, folder: string, limit?: number): Promise<{ records: WalkRecord[]; pages: number }> {
  const all: WalkRecord[] = [];
  let reply = await c.request({ type: 'walk', path: folder, ...(limit ? { limit } : {}) });
  let pages = 1;
  for (;;) {
    all.push(...records(reply));
    const next = reply.header.next;
    if (next === null) break;
    expect(typeof next).toBe('string');
    reply = await c.request({ type: 'walk', cursor: next, ...(limit ? { limit } : {}) });
    pages++;
  }
  return { records: all, pages };
}

const byRel = (list: WalkRecord[]): Map<string, WalkRecord> => new Map(list.map((r) => [r[0], r]));

/** Each record's folder came before it, and nothing came twice. */
function expectParentsFirst(list: WalkRecord[]): void {
  const dirs = new Set<string>();
  const seen = new Set<string>();
  for (const [rel, type] of list) {
    expect(seen.has(rel)).toBe(false);
    seen.add(rel);
    const i = rel.lastIndexOf('/');
    if (i > 0) expect(dirs.has(rel.slice(0, i))).toBe(true);
    if (type === 1) dirs.add(rel);
  }
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true });
  const c = await client();
  home = path.join(server.root, 'homes', ALICE.name);
  await c.request({ type: 'ping' });
  const t = path.join(home, 't');
  await mkdir(path.join(t, 'a', 'b', 'c'), { recursive: true });
  await mkdir(path.join(t, 'empty'));
  await mkdir(path.join(t, 'ünï cødé'));
  await writeFile(path.join(t, 'a', 'x.txt'), 'x');
  await writeFile(path.join(t, 'a', 'b', 'c', 'deep.txt'), 'deep!');
  await writeFile(path.join(t, 'ünï cødé', '名前.txt'), 'なまえ');
  await symlink('a', path.join(t, 'link-in'));
  await symlink('/etc', path.join(t, 'link-out'));
  await symlink('/etc', path.join(home, 'out'));
  await writeFile(path.join(home, 'plain.txt'), 'not a folder');
  // A wide folder, for paging.
  await mkdir(path.join(home, 'wide', 'sub'), { recursive: true });
  for (let i = 0; i < 40; i++) await writeFile(path.join(home, 'wide', `f${i}`), String(i));
  for (let i = 0; i < 10; i++) await writeFile(path.join(home, 'wide', 'sub', `g${i}`), String(i));
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await cleanupAll();
});

describe('walk', () => {
  it('gives every folder, file and link below the folder, each folder before what it holds, in one page', async () => {
    const c = await client();
    const reply = await c.request({ type: 'walk', path: 't' });
    expect(reply.header).toMatchObject({ type: 'ok', path: '/t', next: null });
    const list = records(reply);
    expectParentsFirst(list);
    expect([...byRel(list).keys()].sort()).toEqual(
      ['a', 'a/b', 'a/b/c', 'a/b/c/deep.txt', 'a/x.txt', 'empty', 'link-in', 'link-out', 'ünï cødé', 'ünï cødé/名前.txt'].sort(),
    );
    const rec = byRel(list);
    expect(rec.get('a/b/c/deep.txt')).toEqual(['a/b/c/deep.txt', 0, 5, expect.any(Number), expect.any(Number), '']);
    expect(rec.get('ünï cødé/名前.txt')![2]).toBe(Buffer.byteLength('なまえ'));
    expect(rec.get('empty')![1]).toBe(1);
    // Links are listed (their own size: the length of the path they hold), never followed.
    expect(rec.get('link-in')).toEqual(['link-in', 2, 1, expect.any(Number), expect.any(Number), '']);
    expect(rec.get('link-out')).toEqual(['link-out', 2, 4, expect.any(Number), expect.any(Number), '']);
    expect(WALK_TYPES[rec.get('a')![1]]).toBe('dir');
  });

  it('pages by `limit` and continues by cursor, the same records as one page', async () => {
    const c = await client();
    const whole = await walkAll(c, '/wide');
    expect(whole.pages).toBe(1);
    expect(whole.records).toHaveLength(51);
    const paged = await walkAll(c, '/wide', 7);
    expect(paged.pages).toBe(Math.ceil(51 / 7));
    expectParentsFirst(paged.records);
    expect([...byRel(paged.records).keys()].sort()).toEqual([...byRel(whole.records).keys()].sort());
    // A cursor is used once.
    const first = await c.request({ type: 'walk', path: '/wide', limit: 10 });
    const next = first.header.next as string;
    expect((await c.request({ type: 'walk', cursor: next })).header.type).toBe('ok');
    expect((await c.request({ type: 'walk', cursor: next })).header).toMatchObject({ type: 'error', code: 'EINVAL' });
  });

  it('walks the home itself, and from the cwd by default', async () => {
    const c = await client();
    const all = byRel((await walkAll(c, '/')).records);
    expect(all.get('t/a/b/c/deep.txt')).toBeDefined();
    expect(all.get('out')![1]).toBe(2);
    expect([...all.keys()].some((k) => k.startsWith('out/'))).toBe(false);
    await c.request({ type: 'cd', path: 't/a' });
    const reply = await c.request({ type: 'walk' });
    expect(reply.header).toMatchObject({ path: '/t/a' });
    expect([...byRel(records(reply)).keys()].sort()).toEqual(['b', 'b/c', 'b/c/deep.txt', 'x.txt']);
  });

  it('carries the stored hash of a committed file, and none once a command changed it', async () => {
    const c = await client();
    const data = Buffer.from('stored and vouched for');
    await c.request({ type: 'mkdir', path: 'h' });
    expect((await c.put('h/put.bin', data)).header.type).toBe('ok');
    expect(byRel(records(await c.request({ type: 'walk', path: 'h' }))).get('put.bin')).toEqual(['put.bin', 0, data.length, expect.any(Number), expect.any(Number), sha(data)]);
    const run = await c.request({ type: 'exec', command: 'chmod 600 h/put.bin' }, undefined, 10_000);
    expect(run.header).toMatchObject({ type: 'ok', code: 0 });
    expect(byRel(records(await c.request({ type: 'walk', path: 'h' }))).get('put.bin')).toEqual(['put.bin', 0, data.length, expect.any(Number), 0o600, '']);
  });

  it('is jailed: outside the home EACCES, a file ENOTDIR, nothing there ENOENT', async () => {
    const c = await client();
    expect((await c.request({ type: 'walk', path: '/..' })).header).toMatchObject({ type: 'error', code: 'EACCES' });
    expect((await c.request({ type: 'walk', path: 'out' })).header).toMatchObject({ type: 'error', code: 'EACCES' });
    expect((await c.request({ type: 'walk', path: 't/link-out' })).header).toMatchObject({ type: 'error', code: 'EACCES' });
    expect((await c.request({ type: 'walk', path: 'plain.txt' })).header).toMatchObject({ type: 'error', code: 'ENOTDIR' });
    expect((await c.request({ type: 'walk', path: 'nothing/here' })).header).toMatchObject({ type: 'error', code: 'ENOENT' });
    // A link to a folder inside the home is followed at the top, like a listing's path.
    expect(byRel(records(await c.request({ type: 'walk', path: 't/link-in' }))).has('b/c/deep.txt')).toBe(true);
  });

  it("refuses another connection's cursor, and a listing's cursor, with EINVAL", async () => {
    const c = await client();
    const other = await client();
    const first = await c.request({ type: 'walk', path: '/wide', limit: 5 });
    const cursor = first.header.next as string;
    expect((await other.request({ type: 'walk', cursor })).header).toMatchObject({ type: 'error', code: 'EINVAL' });
    // Still good on its own connection.
    expect((await c.request({ type: 'walk', cursor })).header.type).toBe('ok');
    const listing = await c.request({ type: 'list', path: '/wide', limit: 5 });
    const listCursor = listing.header.next as string;
    expect((await c.request({ type: 'walk', cursor: listCursor })).header).toMatchObject({ type: 'error', code: 'EINVAL' });
  });
});
