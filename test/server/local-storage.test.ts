import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../shared/common/errors.js';
import type { ExistsPolicy } from '../../shared/common/messages.js';
import { LocalStorage } from '../../server/local-storage.js';
import { numberedName } from '../../server/storage-admission.js';
import type { Account } from '../../server/storage.js';
import { SyncBatcher, type SyncItem } from '../../server/storage-sync.js';
import { probeFilesystemSync } from '../../server/fs-sync.js';

const MiB = 1024 * 1024;

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The FerryError code a promise rejects with ('resolved' if it does not). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return (err as FerryError).code;
  }
}

function syncCodeOf(fn: () => unknown): string {
  try {
    fn();
    return 'returned';
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return (err as FerryError).code;
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface Ctx {
  root: string;
  outside: string;
  storage: LocalStorage;
  alice: Account;
  bob: Account;
  home: string;
  bobHome: string;
}

let ctx: Ctx;

async function makeCtx(quota: number | null = null, syncDelayMs?: number): Promise<Ctx> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-storage-'));
  const outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-outside-'));
  const storage = new LocalStorage({ root, syncDelayMs });
  const alice: Account = { name: 'alice', quota };
  const bob: Account = { name: 'bob', quota: null };
  await storage.ensureHome(alice);
  await storage.ensureHome(bob);
  return {
    root,
    outside,
    storage,
    alice,
    bob,
    home: path.join(root, 'homes', 'alice'),
    bobHome: path.join(root, 'homes', 'bob'),
  };
}

async function put(
  storage: LocalStorage,
  account: Account,
  vpath: string,
  data: Buffer,
  exists: ExistsPolicy = 'overwrite',
  mtime?: number,
) {
  const upload = await storage.beginUpload(account, '/', vpath, { offset: 0, total: data.length, exists, mtime });
  await upload.write(data);
  return upload.commit(sha(data));
}

beforeEach(async () => {
  ctx = await makeCtx();
});

afterEach(async () => {
  await ctx.storage.close();
  await fsp.rm(ctx.root, { recursive: true, force: true });
  await fsp.rm(ctx.outside, { recursive: true, force: true });
});

describe('normalize', () => {
  it('joins, collapses and keeps absolute paths inside the home', () => {
    const s = ctx.storage;
    expect(s.normalize('/', '')).toBe('/');
    expect(s.normalize('/a/b', 'c')).toBe('/a/b/c');
    expect(s.normalize('/a/b', './c/../d/')).toBe('/a/b/d');
    expect(s.normalize('/a/b', '..')).toBe('/a');
    expect(s.normalize('/a', '//x///y/.')).toBe('/x/y');
    expect(s.normalize('/a', '/etc/passwd')).toBe('/etc/passwd');
  });

  it('refuses climbing above the home, NUL bytes and backslashes', () => {
    const s = ctx.storage;
    expect(syncCodeOf(() => s.normalize('/', '..'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/a', '../../b'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/', '/a/../../bob'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/', 'a\0b'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/', '..\\..\\etc'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/', 'a\\b'))).toBe('EACCES');
    expect(syncCodeOf(() => s.normalize('/../x', 'y'))).toBe('EACCES');
  });

  it('keeps encoded dots literal', async () => {
    const s = ctx.storage;
    expect(s.normalize('/', '%2e%2e/%2E%2E/x')).toBe('/%2e%2e/%2E%2E/x');
    expect(s.normalize('/', '..%2f..%2fetc')).toBe('/..%2f..%2fetc');
    await s.mkdir(ctx.alice, '/', '%2e%2e/%2e%2e', true);
    expect((await fsp.stat(path.join(ctx.home, '%2e%2e', '%2e%2e'))).isDirectory()).toBe(true);
  });

  it('maps absolute paths into the home, not onto the server', async () => {
    expect(await codeOf(ctx.storage.stat(ctx.alice, '/', '/etc/passwd'))).toBe('ENOENT');
    expect(await codeOf(ctx.storage.openDownload(ctx.alice, '/', '/etc/passwd', 0))).toBe('ENOENT');
  });

  it('numbers names for the rename policy', () => {
    expect(numberedName('a.txt', 1)).toBe('a (1).txt');
    expect(numberedName('archive.tar.gz', 2)).toBe('archive.tar (2).gz');
    expect(numberedName('.bashrc', 1)).toBe('.bashrc (1)');
    expect(numberedName('README', 3)).toBe('README (3)');
  });
});

describe('homes', () => {
  it('creates the home with mode 0700 and refuses unsafe account names', async () => {
    expect((await fsp.stat(ctx.home)).mode & 0o777).toBe(0o700);
    await ctx.storage.ensureHome(ctx.alice); // idempotent
    expect(await codeOf(ctx.storage.ensureHome({ name: '..', quota: null }))).toBe('EINVAL');
    expect(await codeOf(ctx.storage.ensureHome({ name: 'a/b', quota: null }))).toBe('EINVAL');
  });

  it("cannot reach another user's home", async () => {
    await fsp.writeFile(path.join(ctx.bobHome, 'secret'), 'bob');
    expect(await codeOf(ctx.storage.stat(ctx.alice, '/', '../bob/secret'))).toBe('EACCES');
    expect(await codeOf(ctx.storage.stat(ctx.alice, '/', '/bob/secret'))).toBe('ENOENT');
    await fsp.symlink(ctx.bobHome, path.join(ctx.home, 'bob'));
    expect(await codeOf(ctx.storage.list(ctx.alice, '/', '/bob'))).toBe('EACCES');
    expect(await codeOf(ctx.storage.openDownload(ctx.alice, '/', '/bob/secret', 0))).toBe('EACCES');
    expect(await codeOf(ctx.storage.remove(ctx.alice, '/', '/bob/secret', false))).toBe('EACCES');
    expect(await codeOf(put(ctx.storage, ctx.alice, '/bob/new', Buffer.from('x')))).toBe('EACCES');
    expect(await exists(path.join(ctx.bobHome, 'secret'))).toBe(true);
    expect(await exists(path.join(ctx.bobHome, 'new'))).toBe(false);
  });
});

describe('symlinks', () => {
  beforeEach(async () => {
    await fsp.writeFile(path.join(ctx.outside, 'secret.txt'), 'secret');
    await fsp.symlink(ctx.outside, path.join(ctx.home, 'out'));
    await fsp.symlink(path.join(ctx.outside, 'secret.txt'), path.join(ctx.home, 'secret-link'));
  });

  it('refuses reading through a link that leads out', async () => {
    const { storage, alice } = ctx;
    expect(await codeOf(storage.stat(alice, '/', '/out'))).toBe('EACCES');
    expect(await codeOf(storage.list(alice, '/', '/out'))).toBe('EACCES');
    expect(await codeOf(storage.chdir(alice, '/', '/out'))).toBe('EACCES');
    expect(await codeOf(storage.hostPath(alice, '/out'))).toBe('EACCES');
    expect(await codeOf(storage.stat(alice, '/', '/out/secret.txt'))).toBe('EACCES');
    expect(await codeOf(storage.openDownload(alice, '/', '/out/secret.txt', 0))).toBe('EACCES');
    expect(await codeOf(storage.openDownload(alice, '/', '/secret-link', 0))).toBe('EACCES');
    expect(await codeOf(storage.uploadInfo(alice, '/', '/out/secret.txt'))).toBe('EACCES');
  });

  it('says EACCES, not ENOENT, for missing paths beyond a link out', async () => {
    const { storage, alice } = ctx;
    expect(await codeOf(storage.stat(alice, '/', '/out/missing/deeper'))).toBe('EACCES');
    await fsp.symlink('/nonexistent-ferry-test/x', path.join(ctx.home, 'dangling-out'));
    await fsp.symlink('missing-inside', path.join(ctx.home, 'dangling-in'));
    expect(await codeOf(storage.stat(alice, '/', '/dangling-out'))).toBe('EACCES');
    expect(await codeOf(storage.stat(alice, '/', '/dangling-in'))).toBe('ENOENT');
  });

  it('refuses creating, renaming and deleting through a link out', async () => {
    const { storage, alice } = ctx;
    await fsp.writeFile(path.join(ctx.home, 'mine.txt'), 'mine');
    expect(await codeOf(put(storage, alice, '/out/new.txt', Buffer.from('x')))).toBe('EACCES');
    expect(await codeOf(storage.mkdir(alice, '/', '/out/newdir', false))).toBe('EACCES');
    expect(await codeOf(storage.mkdir(alice, '/', '/out/a/b', true))).toBe('EACCES');
    expect(await codeOf(storage.rename(alice, '/', '/out/secret.txt', '/stolen.txt', false))).toBe('EACCES');
    expect(await codeOf(storage.rename(alice, '/', '/mine.txt', '/out/mine.txt', false))).toBe('EACCES');
    expect(await codeOf(storage.remove(alice, '/', '/out/secret.txt', false))).toBe('EACCES');
    expect(await codeOf(storage.remove(alice, '/out', 'secret.txt', false))).toBe('EACCES');
    expect((await fsp.readdir(ctx.outside)).sort()).toEqual(['secret.txt']);
    expect(await exists(path.join(ctx.home, 'stolen.txt'))).toBe(false);
    expect(await exists(path.join(ctx.home, 'mine.txt'))).toBe(true);
  });

  it('lists links as links and deletes the link, never the target', async () => {
    const { storage, alice } = ctx;
    const { entries } = await storage.list(alice, '/', '/');
    expect(entries.find((e) => e.name === 'out')?.type).toBe('symlink');
    expect(entries.find((e) => e.name === 'secret-link')?.type).toBe('symlink');
    await storage.remove(alice, '/', '/out', true);
    await storage.remove(alice, '/', '/secret-link', false);
    expect(await exists(path.join(ctx.home, 'out'))).toBe(false);
    expect(await fsp.readFile(path.join(ctx.outside, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('lists small folders (one blocking pass) and big ones (asynchronously) alike, under the same jail', async () => {
    const { storage, alice } = ctx;
    // 256 entries is the most listed in one blocking pass; 257 take the asynchronous way.
    for (const [folder, count] of [['small', 256], ['big', 257]] as const) {
      await fsp.mkdir(path.join(ctx.home, folder));
      for (let i = 0; i < count; i++) await fsp.writeFile(path.join(ctx.home, folder, `f${String(i).padStart(3, '0')}`), 'x'.repeat(i % 7));
      await fsp.symlink(ctx.outside, path.join(ctx.home, folder, 'zz-out'));
      const listing = await storage.list(alice, '/', folder);
      expect(listing.path).toBe(`/${folder}`);
      expect(listing.entries).toHaveLength(count + 1);
      expect(listing.entries[0]).toMatchObject({ name: 'f000', type: 'file', size: 0 });
      expect(listing.entries[6]).toMatchObject({ name: 'f006', type: 'file', size: 6 });
      expect(listing.entries.at(-1)).toMatchObject({ name: 'zz-out', type: 'symlink' });
      // A link leading out of the home is listed, never followed.
      expect(await codeOf(storage.list(alice, `/${folder}`, 'zz-out'))).toBe('EACCES');
    }
    expect(await codeOf(storage.list(alice, '/', 'small/f001'))).toBe('ENOTDIR');
    expect(await codeOf(storage.list(alice, '/', 'nothing-here'))).toBe('ENOENT');
    expect(await codeOf(storage.list(alice, '/', '../bob'))).toBe('EACCES');
  });

  it('replaces a link when overwriting it, never writing through it', async () => {
    await put(ctx.storage, ctx.alice, '/secret-link', Buffer.from('replaced'));
    expect(await fsp.readFile(path.join(ctx.outside, 'secret.txt'), 'utf8')).toBe('secret');
    const st = await fsp.lstat(path.join(ctx.home, 'secret-link'));
    expect(st.isFile()).toBe(true);
  });

  it('allows links that stay inside the home', async () => {
    const { storage, alice } = ctx;
    await fsp.mkdir(path.join(ctx.home, 'sub'));
    await fsp.writeFile(path.join(ctx.home, 'sub', 'a.txt'), 'aaa');
    await fsp.symlink('sub', path.join(ctx.home, 'lnk'));
    expect(await storage.chdir(alice, '/', 'lnk')).toBe('/lnk');
    expect((await storage.list(alice, '/lnk', '.')).entries.map((e) => e.name)).toEqual(['a.txt']);
    expect((await storage.stat(alice, '/', '/lnk')).type).toBe('dir');
    await put(storage, alice, '/lnk/b.txt', Buffer.from('bb'));
    expect(await fsp.readFile(path.join(ctx.home, 'sub', 'b.txt'), 'utf8')).toBe('bb');
    await storage.mkdir(alice, '/', '/lnk/x/y', true);
    expect(await exists(path.join(ctx.home, 'sub', 'x', 'y'))).toBe(true);
    expect(await storage.hostPath(alice, '/lnk')).toBe(await fsp.realpath(path.join(ctx.home, 'sub')));
    const dl = await storage.openDownload(alice, '/', '/lnk/a.txt', 0);
    const got: Buffer[] = [];
    for await (const chunk of dl.chunks()) got.push(chunk);
    await dl.close();
    expect(Buffer.concat(got).toString()).toBe('aaa');
  });
});

describe('folder operations', () => {
  it('stats and lists with types, sizes, times and modes', async () => {
    const { storage, alice } = ctx;
    await fsp.writeFile(path.join(ctx.home, 'f.txt'), 'hello');
    await fsp.chmod(path.join(ctx.home, 'f.txt'), 0o640);
    await fsp.mkdir(path.join(ctx.home, 'd'));
    const when = new Date('2020-01-02T03:04:05.678Z');
    await fsp.utimes(path.join(ctx.home, 'f.txt'), when, when);
    const entry = await storage.stat(alice, '/', 'f.txt');
    expect(entry).toEqual({ name: 'f.txt', type: 'file', size: 5, mtime: when.getTime(), mode: 0o640 });
    expect((await storage.stat(alice, '/', '/')).type).toBe('dir');
    const listing = await storage.list(alice, '/', '.');
    expect(listing.path).toBe('/');
    expect(listing.entries.map((e) => [e.name, e.type])).toEqual([
      ['d', 'dir'],
      ['f.txt', 'file'],
    ]);
    expect(await codeOf(storage.list(alice, '/', 'f.txt'))).toBe('ENOTDIR');
    expect(await codeOf(storage.stat(alice, '/', 'nope'))).toBe('ENOENT');
  });

  it('changes folder', async () => {
    const { storage, alice } = ctx;
    await fsp.mkdir(path.join(ctx.home, 'd', 'e'), { recursive: true });
    await fsp.writeFile(path.join(ctx.home, 'f'), '');
    expect(await storage.chdir(alice, '/d', 'e/..')).toBe('/d');
    expect(await codeOf(storage.chdir(alice, '/', 'f'))).toBe('ENOTDIR');
    expect(await codeOf(storage.chdir(alice, '/', 'missing'))).toBe('ENOENT');
  });

  it('makes folders', async () => {
    const { storage, alice } = ctx;
    expect(await storage.mkdir(alice, '/', 'a', false)).toBe('/a');
    expect(await codeOf(storage.mkdir(alice, '/', 'a', false))).toBe('EEXIST');
    expect(await storage.mkdir(alice, '/', 'a', true)).toBe('/a');
    expect(await codeOf(storage.mkdir(alice, '/', 'x/y', false))).toBe('ENOENT');
    expect(await storage.mkdir(alice, '/a', 'x/y/z', true)).toBe('/a/x/y/z');
    expect((await fsp.stat(path.join(ctx.home, 'a', 'x', 'y', 'z'))).isDirectory()).toBe(true);
    await fsp.writeFile(path.join(ctx.home, 'file'), '');
    expect(await codeOf(storage.mkdir(alice, '/', 'file', true))).toBe('EEXIST');
    expect(await codeOf(storage.mkdir(alice, '/', 'file/sub', true))).toBe('ENOTDIR');
    expect(await codeOf(storage.mkdir(alice, '/', 'file/sub', false))).toBe('ENOTDIR');
    expect(await codeOf(storage.mkdir(alice, '/', '/', false))).toBe('EEXIST');
  });

  it('renames', async () => {
    const { storage, alice } = ctx;
    await fsp.mkdir(path.join(ctx.home, 'd', 'inner'), { recursive: true });
    await fsp.writeFile(path.join(ctx.home, 'a'), 'A');
    await fsp.writeFile(path.join(ctx.home, 'b'), 'B');
    expect(await codeOf(storage.rename(alice, '/', 'a', 'b', false))).toBe('EEXIST');
    expect(await storage.rename(alice, '/', 'a', 'b', true)).toBe('/b');
    expect(await fsp.readFile(path.join(ctx.home, 'b'), 'utf8')).toBe('A');
    expect(await storage.rename(alice, '/', 'b', 'd/c', false)).toBe('/d/c');
    expect(await codeOf(storage.rename(alice, '/', 'd', 'd/inner/d', false))).toBe('EINVAL');
    expect(await codeOf(storage.rename(alice, '/', 'd', 'd/x', false))).toBe('EINVAL');
    expect(await codeOf(storage.rename(alice, '/', '/', 'x', false))).toBe('EACCES');
    expect(await codeOf(storage.rename(alice, '/d', '.', '..', true))).toBe('EACCES');
    expect(await codeOf(storage.rename(alice, '/', 'missing', 'x', false))).toBe('ENOENT');
    expect(await storage.rename(alice, '/', 'd', 'e', false)).toBe('/e');
    expect(await exists(path.join(ctx.home, 'e', 'c'))).toBe(true);
  });

  it('removes', async () => {
    const { storage, alice } = ctx;
    await fsp.mkdir(path.join(ctx.home, 'd', 'e'), { recursive: true });
    await fsp.writeFile(path.join(ctx.home, 'd', 'e', 'f'), 'x');
    await fsp.mkdir(path.join(ctx.home, 'empty'));
    expect(await codeOf(storage.remove(alice, '/', 'd', false))).toBe('ENOTEMPTY');
    await storage.remove(alice, '/', 'empty', false);
    await storage.remove(alice, '/', 'd', true);
    expect(await fsp.readdir(ctx.home)).toEqual([]);
    expect(await codeOf(storage.remove(alice, '/', '/', true))).toBe('EACCES');
    expect(await codeOf(storage.remove(alice, '/d', '..', true))).toBe('EACCES');
    expect(await codeOf(storage.remove(alice, '/', 'missing', false))).toBe('ENOENT');
    expect(await exists(ctx.home)).toBe(true);
  });

  it('never puts server paths in error messages', async () => {
    const { storage, alice } = ctx;
    const errors = await Promise.all(
      [
        storage.stat(alice, '/', 'missing'),
        storage.list(alice, '/', 'missing/x'),
        storage.remove(alice, '/', 'missing', false),
        storage.rename(alice, '/', 'missing', 'x', false),
        storage.openDownload(alice, '/', 'missing', 0),
      ].map((p) => p.then(() => null, (err: unknown) => err)),
    );
    for (const err of errors) {
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).message).not.toContain(ctx.root);
      expect((err as FerryError).message).not.toContain(os.tmpdir());
    }
  });
});

describe('uploads', () => {
  it('uploads, hashes and sets the mtime', async () => {
    const data = bytes(3 * MiB + 123);
    const mtime = Date.UTC(2021, 5, 6, 7, 8, 9, 500);
    const upload = await ctx.storage.beginUpload(ctx.alice, '/', 'big.bin', {
      offset: 0,
      total: data.length,
      exists: 'fail',
      mtime,
    });
    expect(upload.path).toBe('/big.bin');
    expect(upload.skipped).toBe(false);
    // Odd chunk sizes cross the write buffer's boundaries.
    for (let i = 0; i < data.length; i += 70_001) await upload.write(data.subarray(i, i + 70_001));
    const result = await upload.commit(sha(data));
    expect(result).toEqual({ path: '/big.bin', size: data.length, sha256: sha(data) });
    const host = path.join(ctx.home, 'big.bin');
    expect((await fsp.readFile(host)).equals(data)).toBe(true);
    expect((await fsp.stat(host)).mtimeMs).toBe(mtime);
    expect((await ctx.storage.uploadInfo(ctx.alice, '/', 'big.bin')).partial).toBeNull();
  });

  it('uploads empty files', async () => {
    const result = await put(ctx.storage, ctx.alice, '/empty', Buffer.alloc(0));
    expect(result.size).toBe(0);
    expect((await fsp.stat(path.join(ctx.home, 'empty'))).size).toBe(0);
  });

  it('keeps partials outside the home', async () => {
    const upload = await ctx.storage.beginUpload(ctx.alice, '/', 'p.bin', { offset: 0, total: 10, exists: 'fail' });
    await upload.write(Buffer.from('12345'));
    await upload.abort(true);
    expect((await ctx.storage.list(ctx.alice, '/', '/')).entries).toEqual([]);
    const name = `${createHash('sha256').update('/p.bin').digest('hex')}.part`;
    const partial = path.join(ctx.root, 'state', 'partials', 'alice', name);
    expect(await fsp.readFile(partial, 'utf8')).toBe('12345');
    expect(await ctx.storage.uploadInfo(ctx.alice, '/', 'p.bin')).toEqual({ partial: 5, entry: null });
  });

  it('applies the exists policies', async () => {
    const { storage, alice } = ctx;
    await fsp.writeFile(path.join(ctx.home, 'a.txt'), 'old');
    expect(await codeOf(put(storage, alice, 'a.txt', Buffer.from('new'), 'fail'))).toBe('EEXIST');

    const skip = await storage.beginUpload(alice, '/', 'a.txt', { offset: 0, total: 5, exists: 'skip' });
    expect(skip.skipped).toBe(true);
    await skip.write(Buffer.from('abcde'));
    expect(await skip.commit(sha(Buffer.from('abcde')))).toEqual({ path: '/a.txt', size: 3, sha256: '', skipped: true });
    expect(await fsp.readFile(path.join(ctx.home, 'a.txt'), 'utf8')).toBe('old');

    const r1 = await put(storage, alice, 'a.txt', Buffer.from('one'), 'rename');
    expect(r1.path).toBe('/a (1).txt');
    const r2 = await storage.beginUpload(alice, '/', 'a.txt', { offset: 0, total: 3, exists: 'rename' });
    expect(r2.path).toBe('/a (2).txt');
    await r2.write(Buffer.from('two'));
    await r2.commit(sha(Buffer.from('two')));
    expect(await fsp.readFile(path.join(ctx.home, 'a (1).txt'), 'utf8')).toBe('one');
    expect(await fsp.readFile(path.join(ctx.home, 'a (2).txt'), 'utf8')).toBe('two');

    await put(storage, alice, 'a.txt', Buffer.from('overwritten'), 'overwrite');
    expect(await fsp.readFile(path.join(ctx.home, 'a.txt'), 'utf8')).toBe('overwritten');
  });

  it('re-checks the policy at commit when the target appeared meanwhile', async () => {
    const { storage, alice } = ctx;
    const renamed = await storage.beginUpload(alice, '/', 'n.txt', { offset: 0, total: 3, exists: 'rename' });
    const failing = await storage.beginUpload(alice, '/', 'm.txt', { offset: 0, total: 3, exists: 'fail' });
    expect(renamed.path).toBe('/n.txt');
    await fsp.writeFile(path.join(ctx.home, 'n.txt'), 'other');
    await fsp.writeFile(path.join(ctx.home, 'm.txt'), 'other');
    await renamed.write(Buffer.from('new'));
    await failing.write(Buffer.from('new'));
    expect((await renamed.commit(sha(Buffer.from('new')))).path).toBe('/n (1).txt');
    expect(await codeOf(failing.commit(sha(Buffer.from('new'))))).toBe('EEXIST');
    expect(await fsp.readFile(path.join(ctx.home, 'n.txt'), 'utf8')).toBe('other');
    expect(await fsp.readFile(path.join(ctx.home, 'n (1).txt'), 'utf8')).toBe('new');
    expect(await fsp.readFile(path.join(ctx.home, 'm.txt'), 'utf8')).toBe('other');
    expect((await storage.uploadInfo(alice, '/', 'm.txt')).partial).toBeNull();
    expect((await storage.uploadInfo(alice, '/', 'm.txt')).entry?.size).toBe(5);
  });

  it('applies backpressure while the disk is busy', async () => {
    const probe = await fsp.open(path.join(ctx.root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = proto.write;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    proto.write = async function (...args: unknown[]) {
      await gate;
      return original.apply(this, args);
    };
    try {
      const data = bytes(8 * MiB);
      const upload = await ctx.storage.beginUpload(ctx.alice, '/', 'bp.bin', { offset: 0, total: data.length, exists: 'fail' });
      let accepted = 0;
      const writing = (async () => {
        for (let i = 0; i < data.length; i += 256 * 1024) {
          await upload.write(data.subarray(i, i + 256 * 1024));
          accepted += 256 * 1024;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // One buffer on its way to the disk, one filling: no more is taken while the disk is stuck.
      expect(accepted).toBeLessThanOrEqual(2 * MiB);
      open();
      await writing;
      await upload.commit(sha(data));
      expect((await fsp.readFile(path.join(ctx.home, 'bp.bin'))).equals(data)).toBe(true);
    } finally {
      proto.write = original;
    }
  });

  it('gives concurrent renamed uploads distinct names', async () => {
    await fsp.writeFile(path.join(ctx.home, 'c.txt'), 'old');
    // 'c (1).txt' does not exist yet but is being uploaded: the renamed upload must skip it.
    const direct = await ctx.storage.beginUpload(ctx.alice, '/', 'c (1).txt', { offset: 0, total: 1, exists: 'fail' });
    const renamed = await ctx.storage.beginUpload(ctx.alice, '/', 'c.txt', { offset: 0, total: 1, exists: 'rename' });
    expect(renamed.path).toBe('/c (2).txt');
    // And its chosen name is taken while it runs.
    const req = { offset: 0, total: 1, exists: 'overwrite' as const };
    expect(await codeOf(ctx.storage.beginUpload(ctx.alice, '/', 'c (2).txt', req))).toBe('EBUSY');
    expect(await codeOf(ctx.storage.beginUpload(ctx.alice, '/', 'c.txt', req))).toBe('EBUSY');
    await direct.abort(false);
    await renamed.abort(false);
    expect(await fsp.readdir(ctx.home)).toEqual(['c.txt']);
  });

  it('refuses folders, missing parents and busy paths', async () => {
    const { storage, alice } = ctx;
    await fsp.mkdir(path.join(ctx.home, 'dir'));
    await fsp.writeFile(path.join(ctx.home, 'file'), '');
    const req = { offset: 0, total: 1, exists: 'overwrite' as const };
    expect(await codeOf(storage.beginUpload(alice, '/', 'dir', req))).toBe('EISDIR');
    expect(await codeOf(storage.beginUpload(alice, '/', '/', req))).toBe('EISDIR');
    expect(await codeOf(storage.beginUpload(alice, '/', 'nope/x', req))).toBe('ENOENT');
    expect(await codeOf(storage.beginUpload(alice, '/', 'file/x', req))).toBe('ENOTDIR');
    expect(await codeOf(storage.beginUpload(alice, '/', 'x', { ...req, offset: 2 }))).toBe('EINVAL');
    const first = await storage.beginUpload(alice, '/', 'x', req);
    expect(await codeOf(storage.beginUpload(alice, '/dir', '../x', req))).toBe('EBUSY');
    await first.abort(false);
    const again = await storage.beginUpload(alice, '/', 'x', req);
    await again.abort(false);
  });

  it('resumes from the right offset and refuses a wrong one', async () => {
    const { storage, alice } = ctx;
    const data = bytes(2 * MiB + 77, 3);
    const half = 1_000_003;
    expect(await codeOf(storage.beginUpload(alice, '/', 'r.bin', { offset: 10, total: data.length, exists: 'fail' }))).toBe(
      'EOFFSET',
    );
    const err = await storage
      .beginUpload(alice, '/', 'r.bin', { offset: 10, total: data.length, exists: 'fail' })
      .catch((e: unknown) => e);
    expect((err as FerryError).details).toEqual({ offset: 0 });

    const first = await storage.beginUpload(alice, '/', 'r.bin', { offset: 0, total: data.length, exists: 'fail' });
    await first.write(data.subarray(0, half));
    await first.abort(true);
    expect((await storage.uploadInfo(alice, '/', 'r.bin')).partial).toBe(half);

    const wrong = await storage
      .beginUpload(alice, '/', 'r.bin', { offset: half - 1, total: data.length, exists: 'fail' })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(FerryError);
    expect((wrong as FerryError).code).toBe('EOFFSET');
    expect((wrong as FerryError).details).toEqual({ offset: half });

    const second = await storage.beginUpload(alice, '/', 'r.bin', { offset: half, total: data.length, exists: 'fail' });
    await second.write(data.subarray(half));
    // The checksum covers the whole file, including the bytes sent before the resume.
    const result = await second.commit(sha(data));
    expect(result.size).toBe(data.length);
    expect((await fsp.readFile(path.join(ctx.home, 'r.bin'))).equals(data)).toBe(true);
  });

  it('starts over from offset 0 by truncating the partial', async () => {
    const { storage, alice } = ctx;
    const first = await storage.beginUpload(alice, '/', 't.txt', { offset: 0, total: 10, exists: 'fail' });
    await first.write(Buffer.from('XXXXXXX'));
    await first.abort(true);
    await put(storage, alice, 't.txt', Buffer.from('abc'), 'fail');
    expect(await fsp.readFile(path.join(ctx.home, 't.txt'), 'utf8')).toBe('abc');
  });

  it('deletes the partial on a checksum mismatch', async () => {
    const { storage, alice } = ctx;
    const upload = await storage.beginUpload(alice, '/', 'c.bin', { offset: 0, total: 4, exists: 'fail' });
    await upload.write(Buffer.from('abcd'));
    expect(await codeOf(upload.commit(sha(Buffer.from('abce'))))).toBe('ECHECKSUM');
    expect(await storage.uploadInfo(alice, '/', 'c.bin')).toEqual({ partial: null, entry: null });

    const short = await storage.beginUpload(alice, '/', 'c.bin', { offset: 0, total: 4, exists: 'fail' });
    await short.write(Buffer.from('abc'));
    expect(await codeOf(short.commit(sha(Buffer.from('abc'))))).toBe('ECHECKSUM');
    expect(await storage.uploadInfo(alice, '/', 'c.bin')).toEqual({ partial: null, entry: null });

    const long = await storage.beginUpload(alice, '/', 'c.bin', { offset: 0, total: 4, exists: 'fail' });
    expect(await codeOf(long.write(Buffer.from('abcde')))).toBe('EINVAL');
    await long.abort(false);
    expect(await storage.uploadInfo(alice, '/', 'c.bin')).toEqual({ partial: null, entry: null });
  });

  it('deletes the partial on abort(false) and refuses use after the end', async () => {
    const upload = await ctx.storage.beginUpload(ctx.alice, '/', 'x', { offset: 0, total: 4, exists: 'fail' });
    await upload.write(Buffer.from('ab'));
    await upload.abort(false);
    expect((await ctx.storage.uploadInfo(ctx.alice, '/', 'x')).partial).toBeNull();
    expect(await codeOf(upload.write(Buffer.from('cd')))).toBe('EINVAL');
    expect(await codeOf(upload.commit(sha(Buffer.from('abcd'))))).toBe('EINVAL');
  });

  it('turns ENOSPC into a FerryError and deletes the partial', async () => {
    const probe = await fsp.open(path.join(ctx.root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = proto.write;
    proto.write = function (...args: unknown[]) {
      const [, , , position] = args;
      if (typeof position === 'number' && position >= MiB) {
        return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write /secret/path'), { code: 'ENOSPC' }));
      }
      return original.apply(this, args);
    };
    try {
      const storage = new LocalStorage({ root: ctx.root });
      const account = { name: 'alice', quota: 100 * MiB };
      const data = bytes(4 * MiB);
      const upload = await storage.beginUpload(account, '/', 'full.bin', { offset: 0, total: data.length, exists: 'fail' });
      let error: unknown = null;
      try {
        for (let i = 0; i < data.length; i += 256 * 1024) await upload.write(data.subarray(i, i + 256 * 1024));
        await upload.commit(sha(data));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FerryError);
      expect((error as FerryError).code).toBe('ENOSPC');
      expect((error as FerryError).message).not.toContain('/secret/path');
      // Deleted by the failure itself, before anyone calls abort().
      expect(await storage.uploadInfo(account, '/', 'full.bin')).toEqual({ partial: null, entry: null });
      await upload.abort(false);
      expect((await storage.df(account)).used).toBe(0);
      await storage.close();
    } finally {
      proto.write = original;
    }
  });

  it('commits hundreds of small files in groups', async () => {
    const { storage, alice } = ctx;
    await storage.mkdir(alice, '/', 'many/a', true);
    await storage.mkdir(alice, '/', 'many/b', true);
    const count = 300;
    const uploads = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        storage.beginUpload(alice, '/many', `${i % 2 ? 'a' : 'b'}/f${i}.txt`, { offset: 0, total: 8, exists: 'fail' }),
      ),
    );
    const before = storage.syncGroups;
    const results = await Promise.all(
      uploads.map(async (upload, i) => {
        const data = Buffer.from(`file${String(i).padStart(4, '0')}`);
        await upload.write(data);
        return upload.commit(sha(data));
      }),
    );
    expect(results).toHaveLength(count);
    for (let i = 0; i < count; i++) {
      const host = path.join(ctx.home, 'many', i % 2 ? 'a' : 'b', `f${i}.txt`);
      expect(await fsp.readFile(host, 'utf8')).toBe(`file${String(i).padStart(4, '0')}`);
    }
    // Grouped, not one fsync round per file.
    expect(storage.syncGroups - before).toBeLessThan(count / 10);
    expect(await fsp.readdir(path.join(ctx.root, 'state', 'partials', 'alice'))).toEqual([]);
  });

  it('makes a burst of small files durable with a few filesystem syncs, not an fsync each', async () => {
    const { storage, alice } = ctx;
    // Linux with GNU coreutils (every machine this runs on): the batch path is taken.
    if (process.platform === 'linux') expect(await storage.syncMode()).toBe('syncfs');
    await storage.mkdir(alice, '/', 'burst', true);
    const count = 300;
    const before = storage.filesystemSyncs;
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const data = Buffer.from(`small${String(i).padStart(4, '0')}`);
        const { committed } = await storage.putWhole(alice, '/burst', `f${i}.txt`, { exists: 'fail' }, data, sha(data));
        return committed;
      }),
    );
    expect(results.map((r) => r.path)).toEqual(Array.from({ length: count }, (_, i) => `/burst/f${i}.txt`));
    for (let i = 0; i < count; i++) {
      expect(await fsp.readFile(path.join(ctx.home, 'burst', `f${i}.txt`), 'utf8')).toBe(`small${String(i).padStart(4, '0')}`);
    }
    const syncs = storage.filesystemSyncs - before;
    if (process.platform === 'linux') {
      expect(syncs).toBeGreaterThan(0);
      expect(syncs).toBeLessThan(count / 10);
    }
  });

  it('fsyncs small files one by one when told not to use a filesystem sync', async () => {
    const storage = new LocalStorage({ root: ctx.root, filesystemSync: false });
    expect(await storage.syncMode()).toBe('fsync');
    const data = Buffer.from('one by one');
    const { committed } = await storage.putWhole(ctx.alice, '/', 'each.txt', { exists: 'fail' }, data, sha(data));
    expect((await committed).sha256).toBe(sha(data));
    expect(await fsp.readFile(path.join(ctx.home, 'each.txt'), 'utf8')).toBe('one by one');
    expect(storage.filesystemSyncs).toBe(0);
    await storage.close();
  });

  it('waits for pending commits on close', async () => {
    const storage = new LocalStorage({ root: ctx.root, syncDelayMs: 50 });
    const data = Buffer.from('durable');
    const upload = await storage.beginUpload(ctx.alice, '/', 'late.txt', { offset: 0, total: data.length, exists: 'fail' });
    await upload.write(data);
    const committed = upload.commit(sha(data));
    await storage.close();
    expect(await fsp.readFile(path.join(ctx.home, 'late.txt'), 'utf8')).toBe('durable');
    await committed;
  });
});

describe('quota', () => {
  it('refuses an upload that does not fit and leaves nothing behind', async () => {
    const { storage } = ctx;
    const alice: Account = { name: 'alice', quota: 1000 };
    await fsp.writeFile(path.join(ctx.home, 'existing'), Buffer.alloc(600));
    expect(await storage.df(alice)).toMatchObject({ quota: 1000, used: 600, free: 400 });
    const err = await storage
      .beginUpload(alice, '/', 'big', { offset: 0, total: 500, exists: 'fail' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('EQUOTA');
    expect((err as FerryError).details).toEqual({ need: 500, free: 400 });
    expect((err as FerryError).message).toMatch(/500 B.*400 B/);
    expect(await storage.uploadInfo(alice, '/', 'big')).toEqual({ partial: null, entry: null });
    expect(await exists(path.join(ctx.root, 'state', 'partials', 'alice'))).toBe(false);
    expect((await storage.df(alice)).used).toBe(600);
    // The refusal reserved nothing: what does fit still fits.
    await put(storage, alice, 'fits', Buffer.alloc(400));
    expect(await storage.df(alice)).toMatchObject({ used: 1000, free: 0 });
  });

  it('does not let concurrent uploads jointly exceed the quota', async () => {
    const { storage } = ctx;
    const alice: Account = { name: 'alice', quota: 10_000 };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        storage.beginUpload(alice, '/', `f${i}`, { offset: 0, total: 3000, exists: 'fail' }),
      ),
    );
    const started = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o.reason as FerryError).code);
    expect(started).toHaveLength(3);
    expect(refused).toEqual(['EQUOTA', 'EQUOTA']);
    await Promise.all(
      started.map(async (upload) => {
        const data = bytes(3000);
        await upload.write(data);
        await upload.commit(sha(data));
      }),
    );
    expect(await storage.df(alice)).toMatchObject({ used: 9000, free: 1000 });
    expect(await codeOf(storage.beginUpload(alice, '/', 'more', { offset: 0, total: 1001, exists: 'fail' }))).toBe(
      'EQUOTA',
    );
  });

  it('counts partials, resumes and releases reservations', async () => {
    const { storage } = ctx;
    const alice: Account = { name: 'alice', quota: 2000 };
    const data = bytes(1500);
    const first = await storage.beginUpload(alice, '/', 'r', { offset: 0, total: 1500, exists: 'fail' });
    // While it runs, the reservation blocks others.
    expect(await codeOf(storage.beginUpload(alice, '/', 'other', { offset: 0, total: 600, exists: 'fail' }))).toBe(
      'EQUOTA',
    );
    await first.write(data.subarray(0, 400));
    await first.abort(true);
    expect((await storage.df(alice)).used).toBe(400);
    // Resuming needs only the missing bytes.
    const second = await storage.beginUpload(alice, '/', 'r', { offset: 400, total: 1500, exists: 'fail' });
    await second.write(data.subarray(400));
    await second.commit(sha(data));
    expect((await storage.df(alice)).used).toBe(1500);
    // A failed commit gives everything back.
    const bad = await storage.beginUpload(alice, '/', 'bad', { offset: 0, total: 500, exists: 'fail' });
    await bad.write(Buffer.alloc(500));
    await bad.commit('0'.repeat(64)).catch(() => undefined);
    expect((await storage.df(alice)).used).toBe(1500);
    await put(storage, alice, 'last', Buffer.alloc(500));
  });

  it('tracks deletes, overwrites and renames over files', async () => {
    const { storage } = ctx;
    const alice: Account = { name: 'alice', quota: 1_000_000 };
    await put(storage, alice, 'a', Buffer.alloc(1000));
    await put(storage, alice, 'b', Buffer.alloc(300));
    expect((await storage.df(alice)).used).toBe(1300);
    await put(storage, alice, 'a', Buffer.alloc(200), 'overwrite');
    expect((await storage.df(alice)).used).toBe(500);
    await storage.rename(alice, '/', 'a', 'b', true);
    expect((await storage.df(alice)).used).toBe(200);
    await storage.mkdir(alice, '/', 'd/e', true);
    await put(storage, alice, 'd/e/f', Buffer.alloc(50));
    expect((await storage.df(alice)).used).toBe(250);
    await storage.remove(alice, '/', 'd', true);
    expect((await storage.df(alice)).used).toBe(200);
    await storage.remove(alice, '/', 'b', false);
    expect((await storage.df(alice)).used).toBe(0);
  });

  it('shares usage between sessions and re-walks after invalidateUsage', async () => {
    const { storage } = ctx;
    const alice: Account = { name: 'alice', quota: 5000 };
    expect((await storage.df(alice)).used).toBe(0);
    // Changed behind the storage layer's back (as exec does).
    await fsp.writeFile(path.join(ctx.home, 'exec-made'), Buffer.alloc(700));
    expect((await storage.df({ ...alice })).used).toBe(0);
    storage.invalidateUsage(alice);
    expect((await storage.df({ ...alice })).used).toBe(700);
  });

  it('never reports more free space than the disk has', async () => {
    const st = await fsp.statfs(ctx.home);
    const disk = st.bavail * st.bsize;
    const unlimited = await ctx.storage.df({ name: 'alice', quota: null });
    expect(unlimited.quota).toBeNull();
    expect(Math.abs(unlimited.free - disk)).toBeLessThan(1024 * MiB);
    const huge = await ctx.storage.df({ name: 'alice', quota: Number.MAX_SAFE_INTEGER });
    expect(huge.free).toBeLessThanOrEqual(disk + 1024 * MiB);
    expect(huge.free).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });
});

describe('downloads', () => {
  it('reads from an offset in large chunks and hashes the whole file', async () => {
    const data = bytes(3 * MiB + 5000, 7);
    await fsp.writeFile(path.join(ctx.home, 'd.bin'), data);
    const offset = MiB + 17;
    const dl = await ctx.storage.openDownload(ctx.alice, '/', 'd.bin', offset);
    expect(dl.total).toBe(data.length);
    expect(dl.offset).toBe(offset);
    expect(dl.path).toBe('/d.bin');
    expect(() => dl.digest()).toThrow(FerryError);
    const chunks: Buffer[] = [];
    for await (const chunk of dl.chunks()) chunks.push(chunk);
    await dl.close();
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(MiB);
    expect(Buffer.concat(chunks).equals(data.subarray(offset))).toBe(true);
    expect(dl.digest().hex).toBe(sha(data));
  });

  it('downloads from the end and refuses folders and offsets past the end', async () => {
    await fsp.writeFile(path.join(ctx.home, 'f'), 'abc');
    await fsp.mkdir(path.join(ctx.home, 'dir'));
    const dl = await ctx.storage.openDownload(ctx.alice, '/', 'f', 3);
    const chunks: Buffer[] = [];
    for await (const chunk of dl.chunks()) chunks.push(chunk);
    await dl.close();
    expect(chunks).toEqual([]);
    expect(dl.digest().hex).toBe(sha(Buffer.from('abc')));
    expect(await codeOf(ctx.storage.openDownload(ctx.alice, '/', 'f', 4))).toBe('EINVAL');
    expect(await codeOf(ctx.storage.openDownload(ctx.alice, '/', 'dir', 0))).toBe('EISDIR');
    expect(await codeOf(ctx.storage.openDownload(ctx.alice, '/', 'missing', 0))).toBe('ENOENT');
  });
});

describe('hostPath', () => {
  it('returns the real folder, jail-checked', async () => {
    await fsp.mkdir(path.join(ctx.home, 'work'));
    await fsp.writeFile(path.join(ctx.home, 'file'), '');
    expect(await ctx.storage.hostPath(ctx.alice, '/work')).toBe(await fsp.realpath(path.join(ctx.home, 'work')));
    expect(await ctx.storage.hostPath(ctx.alice, '/')).toBe(await fsp.realpath(ctx.home));
    expect(await codeOf(ctx.storage.hostPath(ctx.alice, '/file'))).toBe('ENOTDIR');
    expect(await codeOf(ctx.storage.hostPath(ctx.alice, '/..'))).toBe('EACCES');
  });
});

describe.runIf(process.platform === 'linux')('filesystem sync (sync -f through a helper)', () => {
  it('syncs on request, many times through one helper, and refuses once closed', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-syncfs-'));
    try {
      const sync = await probeFilesystemSync(dir);
      expect(sync).not.toBeNull();
      await Promise.all([sync!.run(), sync!.run(), sync!.run()]);
      for (let i = 0; i < 5; i++) await sync!.run();
      sync!.close();
      await expect(sync!.run()).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('says why and gives up when sync -f cannot work there (small files are then fsynced one by one)', async () => {
    const lines: string[] = [];
    const missing = path.join(os.tmpdir(), `ferry-no-such-dir-${process.pid}-${Date.now()}`);
    expect(await probeFilesystemSync(missing, (line) => lines.push(line))).toBeNull();
    expect(lines.join('\n')).toMatch(/sync -f does not work here \(could not make the files durable: sync -f failed: .*No such file/);
  });
});

describe('SyncBatcher', () => {
  it('with a filesystem sync: writes small items, syncs once, then places them; a failed sync places none', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-sync-'));
    try {
      const batcher = new SyncBatcher(1);
      const events: string[] = [];
      let fail = false;
      batcher.useFilesystemSync({
        run: async () => {
          events.push('syncfs');
          if (fail) throw new FerryError('EIO', 'sync -f failed');
        },
        close: () => undefined,
      });
      const item = (i: number, batchable: boolean): SyncItem => ({
        batchable,
        prepare: async (fsync) => {
          events.push(`prepare${i} fsync=${fsync}`);
        },
        place: async () => {
          events.push(`place${i}`);
          return dir;
        },
        discard: async () => {
          events.push(`discard${i}`);
        },
      });
      const ok = await Promise.all([batcher.commit(item(1, true), () => 1), batcher.commit(item(2, true), () => 2), batcher.commit(item(3, false), () => 3)]);
      expect(ok).toEqual([1, 2, 3]);
      expect(events).toContain('prepare1 fsync=false');
      expect(events).toContain('prepare2 fsync=false');
      expect(events).toContain('prepare3 fsync=true'); // not batchable: an fsync of its own
      const firstSync = events.indexOf('syncfs');
      expect(firstSync).toBeGreaterThan(events.indexOf('prepare1 fsync=false'));
      expect(events.indexOf('place1')).toBeGreaterThan(firstSync);
      expect(events.indexOf('place2')).toBeGreaterThan(firstSync);
      expect(batcher.filesystemSyncs).toBeGreaterThanOrEqual(1);

      events.length = 0;
      fail = true;
      const failed = await Promise.allSettled([batcher.commit(item(4, true), () => 4), batcher.commit(item(5, true), () => 5)]);
      expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as FerryError).code : 'ok'))).toEqual(['EIO', 'EIO']);
      expect(events).toEqual(expect.arrayContaining(['discard4', 'discard5']));
      expect(events).not.toContain('place4');
      expect(events).not.toContain('place5');
      await batcher.drain();
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('fsyncs a group before moving any of it, and fails items one by one', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-sync-'));
    try {
      const batcher = new SyncBatcher(5);
      const events: string[] = [];
      const item = (i: number, failPrepare = false): SyncItem => ({
        prepare: async () => {
          events.push(`prepare${i}`);
          if (failPrepare) throw new Error('EIO');
        },
        place: async () => {
          events.push(`place${i}`);
          return dir;
        },
        discard: async () => {
          events.push(`discard${i}`);
        },
      });
      const results = await Promise.allSettled([
        batcher.commit(item(1), () => 1),
        batcher.commit(item(2, true), () => 2),
        batcher.commit(item(3), () => 3),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(batcher.groups).toBe(1);
      const lastPrepare = Math.max(...['prepare1', 'prepare2', 'prepare3'].map((e) => events.indexOf(e)));
      expect(events.indexOf('place1')).toBeGreaterThan(lastPrepare);
      expect(events).toContain('discard2');
      expect(events).not.toContain('place2');
      await batcher.drain();
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
