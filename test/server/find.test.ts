/**
 * `find` against a real ferryd: matches come in `find-found` frames before the `ok`, links
 * are listed and never followed, the pattern means what name-pattern.ts says, each bound
 * ends the search with `truncated`, `cancel` stops it, and the jail answers as for `walk`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WalkRecord } from '../../shared/common/messages.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { loggedIn, rootWithUsers, type Frame, type RawClient } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-find-pass', exec: false };
/** Files in t/many: more than one step of the walk (1,000 records), so a search of it takes several. */
const MANY = 2500;

let server: Ferryd;
/** Servers with a search's bounds lowered: 10 entries looked at; no time (one step of the walk). */
let small: Ferryd;
let timed: Ferryd;
const clients: RawClient[] = [];

async function client(on: Ferryd = server): Promise<RawClient> {
  const c = await loggedIn(on.port, ALICE.name, ALICE.password);
  clients.push(c);
  return c;
}

/** A find's frames: the matches of its `find-found` frames in order, and its final reply. */
async function find(c: RawClient, request: Record<string, unknown>): Promise<{ found: WalkRecord[]; frames: number; final: Frame }> {
  const id = c.newId();
  c.send({ type: 'find', id, ...request });
  const found: WalkRecord[] = [];
  let frames = 0;
  for (;;) {
    const frame = await c.nextFor(id, 10_000);
    if (frame.header.type !== 'find-found') return { found, frames, final: frame };
    const records = JSON.parse(frame.body.toString('utf8')) as WalkRecord[];
    expect(records).toHaveLength(frame.header.count as number);
    found.push(...records);
    frames++;
  }
}

const rels = (found: WalkRecord[]): string[] => found.map((r) => r[0]).sort();

async function makeTree(home: string): Promise<void> {
  const t = path.join(home, 't');
  await mkdir(path.join(t, 'a', 'b', 'c'), { recursive: true });
  await mkdir(path.join(t, 'many'));
  await writeFile(path.join(t, 'a', 'x.txt'), 'x');
  await writeFile(path.join(t, 'a', 'Photo.JPG'), 'jpg');
  await writeFile(path.join(t, 'a', 'b', 'c', 'deep.txt'), 'deep!');
  await writeFile(path.join(t, 'a', 'b', 'report-1.md'), '1');
  await writeFile(path.join(t, 'a', 'b', 'report-2.md'), '2');
  await writeFile(path.join(t, 'a', 'b', 'report-x.md'), 'x');
  await symlink('a', path.join(t, 'link-in'));
  await symlink('/etc', path.join(t, 'link-out'));
  await Promise.all(Array.from({ length: MANY }, (_, i) => writeFile(path.join(t, 'many', `f${i}.log`), '')));
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true });
  small = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true, env: { FERRYD_LIMITS: JSON.stringify({ findMaxVisited: 10 }) } });
  timed = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true, env: { FERRYD_LIMITS: JSON.stringify({ findMaxMs: 0 }) } });
  for (const s of [server, small, timed]) {
    await client(s);
    await makeTree(path.join(s.root, 'homes', ALICE.name));
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await cleanupAll();
});

describe('find', () => {
  it('finds names anywhere below the folder, as paths relative to it, without following links', async () => {
    const c = await client();
    const { found, final } = await find(c, { path: 't', pattern: '*.txt' });
    expect(final.header).toMatchObject({ type: 'ok', path: '/t', count: 2, truncated: null });
    // The link to `a` is listed, not followed: a/x.txt is found once, not again as link-in/x.txt.
    expect(rels(found)).toEqual(['a/b/c/deep.txt', 'a/x.txt']);
    expect(final.header.visited).toBe(MANY + 12);
    const links = await find(c, { path: 't', pattern: 'link' });
    expect(rels(links.found)).toEqual(['link-in', 'link-out']);
    expect(links.found.every((r) => r[1] === 2)).toBe(true);
  });

  it('matches globs against the whole name and plain text anywhere in it, case-insensitive unless asked', async () => {
    const c = await client();
    expect(rels((await find(c, { path: 't', pattern: 'photo' })).found)).toEqual(['a/Photo.JPG']);
    expect((await find(c, { path: 't', pattern: 'photo', caseSensitive: true })).found).toEqual([]);
    expect(rels((await find(c, { path: 't', pattern: 'report-?.md' })).found)).toEqual(['a/b/report-1.md', 'a/b/report-2.md', 'a/b/report-x.md']);
    expect(rels((await find(c, { path: 't', pattern: 'report-[0-9].md' })).found)).toEqual(['a/b/report-1.md', 'a/b/report-2.md']);
    expect(rels((await find(c, { path: 't', pattern: 'report-[!0-9].md' })).found)).toEqual(['a/b/report-x.md']);
    // A glob matches the whole name: `*.t` is not a substring test.
    expect((await find(c, { path: 't', pattern: '*.t' })).found).toEqual([]);
    // A folder's name is matched too.
    expect(rels((await find(c, { path: 't', pattern: 'b' })).found)).toContain('a/b');
  });

  it('streams matches in frames before the ok, each within the batch bound', async () => {
    const c = await client();
    const { found, frames, final } = await find(c, { path: 't', pattern: '*.log' });
    expect(final.header).toMatchObject({ type: 'ok', count: MANY, truncated: null });
    expect(found).toHaveLength(MANY);
    expect(frames).toBeGreaterThanOrEqual(3);
  });

  it('stops at `max` results and says so; exactly `max` matches is not truncated', async () => {
    const c = await client();
    const cut = await find(c, { path: 't', pattern: '*.log', max: 100 });
    expect(cut.final.header).toMatchObject({ type: 'ok', count: 100, truncated: 'results' });
    expect(cut.found).toHaveLength(100);
    const exact = await find(c, { path: 't', pattern: '*.md', max: 3 });
    expect(exact.final.header).toMatchObject({ type: 'ok', count: 3, truncated: null });
  });

  it('stops at the server’s bounds of entries looked at and of time', async () => {
    const { final } = await find(await client(small), { path: 't', pattern: 'zzz' });
    expect(final.header).toMatchObject({ type: 'ok', count: 0, visited: 10, truncated: 'visited' });
    // No time at all: the first step of the walk (1,000 records) is searched, then the time is up.
    const late = await find(await client(timed), { path: 't/many', pattern: '*.log' });
    expect(late.final.header).toMatchObject({ type: 'ok', count: 1000, visited: 1000, truncated: 'time' });
    expect(late.found).toHaveLength(1000);
    // A tree that fits one step is searched whole.
    expect((await find(await client(timed), { path: 't/a', pattern: '*' })).final.header).toMatchObject({ truncated: null });
  });

  it('is stopped by cancel (ECANCELED), and the connection goes on', async () => {
    const c = await client();
    const id = c.newId();
    const cancelId = c.newId();
    // Pipelined: the cancel arrives while the first step of the walk is read.
    c.send({ type: 'find', id, path: 't', pattern: '*.log' });
    c.send({ type: 'cancel', id: cancelId, target: id });
    const seen: Frame[] = [];
    const final = await c.reply(id, 10_000, seen);
    expect(final.header).toMatchObject({ type: 'error', code: 'ECANCELED' });
    expect((await c.nextFor(cancelId)).header).toMatchObject({ type: 'ok', found: true });
    expect((await c.request({ type: 'ping' })).header.type).toBe('ok');
  });

  it('runs at most 2 searches at once per session: a third is refused with EBUSY', async () => {
    const c = await client();
    const ids = [c.newId(), c.newId(), c.newId()];
    // Pipelined: all three are running before the first has read its first folder.
    for (const id of ids) c.send({ type: 'find', id, path: 't', pattern: '*.log' });
    const finals = await Promise.all(ids.map((id) => c.reply(id, 10_000)));
    expect(finals.map((f) => f.header.type === 'error' ? f.header.code : 'ok')).toEqual(['ok', 'ok', 'EBUSY']);
  });

  it('is jailed: outside the home EACCES, a file ENOTDIR, nothing there ENOENT; a bad pattern EINVAL', async () => {
    const c = await client();
    expect((await find(c, { path: '../..', pattern: 'x' })).final.header).toMatchObject({ type: 'error', code: 'EACCES' });
    expect((await find(c, { path: 't/link-out', pattern: 'passwd' })).final.header).toMatchObject({ type: 'error', code: 'EACCES' });
    expect((await find(c, { path: 't/a/x.txt', pattern: 'x' })).final.header).toMatchObject({ type: 'error', code: 'ENOTDIR' });
    expect((await find(c, { path: 'nope', pattern: 'x' })).final.header).toMatchObject({ type: 'error', code: 'ENOENT' });
    expect((await find(c, { path: 't', pattern: '[z-a]' })).final.header).toMatchObject({ type: 'error', code: 'EINVAL' });
  });
});
