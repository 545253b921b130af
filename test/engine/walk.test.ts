/**
 * The engine's side of `walk`: against a real ferryd, a sync's remote scan by walk gives
 * the same tree as folder by folder, without a listing; against a scripted hostile server,
 * every malformed record (a '..', a child before its folder, a bad hash) is EPROTO, the
 * sync's limits and name checks hold, and a server without `walk` is listed instead.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Remote, WalkPage } from '../../engine/remote/remote.js';
import { scanRemote } from '../../engine/sync/sync-scan.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, failure } from '../helpers/engine.js';
import { HostileFerryd, dirEntry, fileEntry, type HostileScript } from '../helpers/hostile-ferryd.js';

const alice: TestUser = { name: 'alice', password: 'alice walk pass' };
const MTIME = 1_700_000_000_000;
const file = (rel: string, size = 1): unknown[] => [rel, 0, size, MTIME, 0o644, ''];
const dir = (rel: string): unknown[] => [rel, 1, 0, MTIME, 0o755, ''];

/** The session as a Remote that can only list, and one that can only walk (a listing fails the test). */
function listingOnly(session: RemoteSession): Remote {
  return { list: (p?: string) => session.list(p) } as unknown as Remote;
}
function walkingOnly(session: RemoteSession): Remote {
  return {
    walk: (p: string, signal?: AbortSignal) => session.walk(p, signal),
    list: () => Promise.reject(new Error('listed while it could walk')),
  } as unknown as Remote;
}

describe('walk against a real ferryd', () => {
  let server: Ferryd;
  let session: RemoteSession;

  beforeAll(async () => {
    server = await startFerryd({ users: [alice], plain: true });
    session = await connectSession(server, alice);
    const root = path.join(server.root, 'homes', alice.name, 'tree');
    for (let d = 0; d < 12; d++) {
      await mkdir(path.join(root, `d${d}`, 'inner', 'empty'), { recursive: true });
      for (let f = 0; f < 30; f++) await writeFile(path.join(root, `d${d}`, `f${f}.txt`), 'x'.repeat(f));
      await writeFile(path.join(root, `d${d}`, 'inner', 'ünï.txt'), 'ü');
    }
    await symlink('/etc', path.join(root, 'out'));
  }, 60_000);

  afterAll(async () => {
    session?.close();
    await cleanupAll();
  });

  it('gives pages of checked records, and the same tree as listing every folder', async () => {
    const pages: WalkPage[] = [];
    for await (const page of session.walk('tree')) pages.push(page);
    expect(pages).toHaveLength(1);
    expect(pages[0]!.path).toBe('/tree');
    expect(pages[0]!.records).toContainEqual(['out', 2, 4, expect.any(Number), expect.any(Number), '']);
    const walked = await scanRemote(walkingOnly(session), '/tree');
    const listed = await scanRemote(listingOnly(session), '/tree');
    expect(walked.size).toBe(12 * 34 + 1);
    expect(walked).toEqual(listed);
    expect(walked.get('d3/inner/ünï.txt')).toMatchObject({ type: 'file', size: 2 });
    expect(walked.get('out')).toMatchObject({ type: 'other' });
  });

  it('is refused like a listing: ENOENT for nothing, ENOTDIR for a file, EACCES through a link out', async () => {
    const first = async (p: string): Promise<unknown> => {
      for await (const page of session.walk(p)) return page;
    };
    expect((await failure(first('nothing'))).code).toBe('ENOENT');
    expect((await failure(first('tree/d0/f1.txt'))).code).toBe('ENOTDIR');
    expect((await failure(first('tree/out'))).code).toBe('EACCES');
  });
});

describe('walk from a hostile server', () => {
  let fake: HostileFerryd | undefined;
  let session: RemoteSession | undefined;

  afterEach(async () => {
    session?.close();
    await fake?.close();
    fake = session = undefined;
  });

  async function connect(script: Partial<HostileScript>): Promise<RemoteSession> {
    fake = await HostileFerryd.start({ entry: () => null, list: () => null, ...script });
    session = await fake.connect();
    return session;
  }

  const scriptWith = (...pages: unknown[][]): Partial<HostileScript> => ({ walk: () => pages });

  it.each([
    ['a path with ..', [dir('a'), file('a/../../escape')]],
    ['an absolute path', [file('/etc/passwd')]],
    ['an empty name in a path', [dir('a'), file('a//b')]],
    ['a child before its folder', [file('a/b.txt'), dir('a')]],
    ['a child of a file', [file('a'), file('a/b')]],
    ['a record of 5', [['a', 0, 1, MTIME, 0o644]]],
    ['an unknown type', [['a', 7, 1, MTIME, 0o644, '']]],
    ['a negative size', [['a', 0, -1, MTIME, 0o644, '']]],
    ['a hash that is not one', [['a', 0, 1, MTIME, 0o644, 'abc']]],
    ['a hash on a folder', [['a', 1, 0, MTIME, 0o755, 'a'.repeat(64)]]],
    ['an object for a record', [{ rel: 'a' }]],
  ])('%s is EPROTO', async (_what, page) => {
    const remote = await connect(scriptWith(page));
    expect((await failure(scanRemote(remote, '/'))).code).toBe('EPROTO');
  });

  it('a child whose folder came on an earlier page is accepted; one whose folder never came is EPROTO', async () => {
    const good = await connect(scriptWith([dir('a')], [file('a/b.txt', 3)]));
    const tree = await scanRemote(good, '/');
    expect([...tree.keys()]).toEqual(['a', 'a/b.txt']);
    await fake!.close();
    good.close();
    const bad = await connect(scriptWith([dir('a')], [file('c/b.txt', 3)]));
    expect((await failure(scanRemote(bad, '/'))).code).toBe('EPROTO');
  });

  it('keeps the sync limits: a name the local side cannot hold is ENAME, a tree too deep ETOOBIG', async () => {
    const named = await connect(scriptWith([file('a\\b')]));
    expect((await failure(scanRemote(named, '/'))).code).toBe('ENAME');
    named.close();
    await fake!.close();
    const chain = ['d'];
    for (let i = 1; i < 8; i++) chain.push(`${chain[i - 1]}/d`);
    const deep = await connect(scriptWith(chain.map(dir)));
    const limits = { depth: 5, entries: 1000 };
    expect((await failure(scanRemote(deep, '/', undefined, limits))).details).toMatchObject({ limit: 'depth' });
    expect((await failure(scanRemote(deep, '/', undefined, { depth: 100, entries: 3 }))).details).toMatchObject({ limit: 'entries' });
  });

  it('a server that does not know `walk` is listed folder by folder (ENOTSUP from walk itself)', async () => {
    const remote = await connect({
      list: (p) => (p === '/' ? [dirEntry('a')] : p === '/a' ? [fileEntry('b.txt', 3)] : null),
    });
    const tree = await scanRemote(remote, '/');
    expect([...tree.keys()].sort()).toEqual(['a', 'a/b.txt']);
    expect(fake!.count('walk')).toBe(1);
    expect(fake!.count('list')).toBe(2);
    // Not asked again.
    await scanRemote(remote, '/');
    expect(fake!.count('walk')).toBe(1);
    const walking = remote.walk('/')[Symbol.asyncIterator]();
    expect((await failure(walking.next())).code).toBe('ENOTSUP');
  });
});
