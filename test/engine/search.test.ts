/**
 * Remote.search on both transports: against a real ferryd the server searches (`find`),
 * over a real sshd the engine walks; both give the same hits with absolute paths, never
 * follow links, honour the results bound with `truncated`, and stop when aborted. A
 * ferryd without `find` is searched folder by folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Remote } from '../../engine/remote/remote.js';
import { SftpRemote } from '../../engine/sftp/sftp-remote.js';
import { searchTree } from '../../engine/remote/tree-search.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import type { SearchBatch } from '../../shared/common/search-model.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, failure } from '../helpers/engine.js';
import { HostileFerryd, HOSTILE_USER, dirEntry, fileEntry } from '../helpers/hostile-ferryd.js';
import { sftpOptions, startTestSshd, type TestSshd } from '../helpers/sshd.js';

const alice: TestUser = { name: 'alice', password: 'alice search pass' };
const MANY = 1500;

async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'a', 'b'), { recursive: true });
  await mkdir(path.join(root, 'many'));
  await writeFile(path.join(root, 'a', 'Notes.TXT'), 'n');
  await writeFile(path.join(root, 'a', 'b', 'deep.txt'), 'deep');
  await writeFile(path.join(root, 'a', 'b', 'image.png'), 'png');
  await symlink('a', path.join(root, 'loop'));
  await symlink('/etc', path.join(root, 'etc-link'));
  await Promise.all(Array.from({ length: MANY }, (_, i) => writeFile(path.join(root, 'many', `m${i}.log`), '')));
}

async function collect(batches: AsyncIterable<SearchBatch>): Promise<{ paths: string[]; batches: SearchBatch[] }> {
  const all: SearchBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return { paths: all.flatMap((b) => b.hits.map((h) => h.path)).sort(), batches: all };
}

/** The same expectations for any transport: `root` is the tree's absolute path there. */
function searchSuite(name: string, remote: () => Remote, root: () => string): void {
  describe(name, () => {
    it('finds names below the folder as absolute paths, without following links', async () => {
      const { paths, batches } = await collect(remote().search(root(), '*.txt'));
      expect(paths).toEqual([`${root()}/a/Notes.TXT`, `${root()}/a/b/deep.txt`]);
      expect(batches.every((b) => b.truncated === undefined)).toBe(true);
      const hit = batches.flatMap((b) => b.hits).find((h) => h.path.endsWith('deep.txt'))!;
      expect(hit.entry).toMatchObject({ name: 'deep.txt', type: 'file', size: 4 });
      const links = await collect(remote().search(root(), 'LINK'));
      expect(links.paths).toEqual([`${root()}/etc-link`]);
      expect(links.batches.flatMap((b) => b.hits)[0]!.entry.type).toBe('symlink');
      expect((await collect(remote().search(root(), 'notes', { caseSensitive: true }))).paths).toEqual([]);
    });

    it('stops at maxResults and says so in its last batch', async () => {
      const { paths, batches } = await collect(remote().search(root(), '*.log', { maxResults: 10 }));
      expect(paths).toHaveLength(10);
      expect(batches.at(-1)!.truncated).toBe('results');
    });

    it('stops when aborted (ECANCELED), and the remote goes on', async () => {
      const controller = new AbortController();
      const err = await failure(
        (async () => {
          for await (const batch of remote().search(root(), '*', { signal: controller.signal })) {
            if (batch.hits.length > 0) controller.abort();
          }
        })(),
      );
      expect(err.code).toBe('ECANCELED');
      expect((await remote().list(root())).entries.length).toBeGreaterThan(0);
    });

    it('refuses a file (ENOTDIR), a missing folder (ENOENT) and a bad pattern (EINVAL)', async () => {
      expect((await failure(collect(remote().search(`${root()}/a/b/deep.txt`, 'x')))).code).toBe('ENOTDIR');
      expect((await failure(collect(remote().search(`${root()}/nope`, 'x')))).code).toBe('ENOENT');
      expect((await failure(collect(remote().search(root(), '[z-a]')))).code).toBe('EINVAL');
    });
  });
}

let server: Ferryd;
let session: RemoteSession;
let sshd: TestSshd;
let sftp: SftpRemote;

beforeAll(async () => {
  server = await startFerryd({ users: [alice], plain: true });
  await makeTree(path.join(server.root, 'homes', alice.name, 'tree'));
  session = await connectSession(server, alice);
  sshd = await startTestSshd();
  await makeTree(path.join(sshd.home, 'tree'));
  sftp = await SftpRemote.connect(sftpOptions(sshd));
}, 60_000);

afterAll(async () => {
  session?.close();
  sftp?.close();
  await sshd?.stop();
  await cleanupAll();
});

searchSuite('search over Ferry (the server searches)', () => session, () => '/tree');
searchSuite('search over SFTP (the engine walks)', () => sftp, () => `${sshd.home}/tree`);

describe('search edge cases', () => {
  it('over Ferry, refuses a folder outside the home (EACCES), a link out included', async () => {
    expect((await failure(collect(session.search('/tree/etc-link', 'passwd')))).code).toBe('EACCES');
    expect((await failure(collect(session.search('../..', 'passwd')))).code).toBe('EACCES');
  });

  it('the engine’s walk stops at its bounds of entries looked at and of time', async () => {
    const read = async (folder: string) => (folder === '/' ? [dirEntry('d'), fileEntry('x1', 1), fileEntry('x2', 1)] : [fileEntry('x3', 1), fileEntry('x4', 1)]);
    const visited = await collect(searchTree(read, '/', 'x', {}, { maxVisited: 2, maxMs: 60_000 }));
    expect(visited.paths).toEqual(['/x1']);
    expect(visited.batches.at(-1)!.truncated).toBe('visited');
    const timed = await collect(searchTree(read, '/', 'x', {}, { maxVisited: 100, maxMs: 0 }));
    expect(timed.paths).toEqual(['/x1', '/x2']);
    expect(timed.batches.at(-1)!.truncated).toBe('time');
  });

  it('a ferryd without `find` is searched folder by folder', async () => {
    const hostile = await HostileFerryd.start({
      entry: (p) => (p === '/' || p === '/d' ? dirEntry(p) : null),
      list: (p) => (p === '/' ? [dirEntry('d'), fileEntry('top.txt', 1)] : p === '/d' ? [fileEntry('inner.txt', 2), fileEntry('other.bin', 3)] : null),
    });
    try {
      const old = await hostile.connect();
      try {
        expect((await collect(old.search('/', '*.txt'))).paths).toEqual(['/d/inner.txt', '/top.txt']);
        // Known since: straight to the engine's walk.
        expect((await collect(old.search('/d', 'other'))).paths).toEqual(['/d/other.bin']);
      } finally {
        old.close();
      }
    } finally {
      await hostile.close();
    }
  });
});
