/**
 * The engine treats the server as untrusted and the local disk as something a download
 * must not escape: hostile names are refused (ENAME), nothing is written through a local
 * symlink that leads out of the chosen folder (EACCES), and paths that try to leave the
 * home (.., backslashes, NUL, links) are refused by the server (EACCES).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { assertSafeName, safeLocalPath } from '../../engine/queue/local-files.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { uploadFile } from '../../engine/queue/transfers.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { FerryError } from '../../shared/common/errors.js';

const alice: TestUser = { name: 'alice', password: 'alice pass' };
const bob: TestUser = { name: 'bob', password: 'bob pass' };

/** The FerryError code a call fails with (or 'ok'). */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return err instanceof FerryError ? err.code : `not a FerryError: ${String(err)}`;
  }
}

/** Every regular file under `dir` (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!e.isDirectory()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('names from the server', () => {
  const hostile = [
    '',
    '.',
    '..',
    'a/b',
    '/etc',
    '\\',
    'a\\b',
    '..\\..\\x',
    'C:x',
    'c:',
    'Z:\\evil',
    'CON',
    'con.txt',
    'NUL',
    'aux.tar.gz',
    'COM1',
    'LPT9.log',
    'a\u0000b',
    'line\nbreak',
    'tab\there',
    'esc\u001b[31mred',
    'del\u007f',
    'csi\u009b31m', // a C1 control: CSI on some terminals
    'x'.repeat(256),
    'é'.repeat(128), // 256 bytes in UTF-8
  ];
  for (const name of hostile) {
    it(`assertSafeName refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 12)}…(${name.length})` : name)} with ENAME`, async () => {
      expect(await codeOf(() => assertSafeName(name))).toBe('ENAME');
    });
  }

  it('accepts ordinary names, dots and unicode included', () => {
    for (const name of ['a.txt', '.hidden', '..a', 'a..', 'naïve café.txt', 'CONSOLE', 'COM10', 'connect.txt', 'x'.repeat(255), '日本語.pdf']) {
      expect(() => assertSafeName(name), name).not.toThrow();
    }
  });

  it('the ENAME message never carries the raw control characters', async () => {
    try {
      assertSafeName('evil\u001b]0;pwned\u0007');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
  });
});

describe('local paths for downloads', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await tempDir('ferry-dl-root-');
    outside = await tempDir('ferry-dl-outside-');
    await mkdir(path.join(root, 'inside'));
    await symlink(outside, path.join(root, 'out-dir'));
    await symlink(path.join(outside, 'target.txt'), path.join(root, 'out-file'));
    await symlink(path.join(root, 'inside'), path.join(root, 'in-link'));
    await symlink('/nonexistent/dangling', path.join(root, 'dangling'));
  });

  it('hostile relative paths are ENAME', async () => {
    for (const rel of ['../x', 'a/../../x', 'inside/../..', 'a\\..\\b', 'CON/x', 'a/b\u0000c']) {
      expect(await codeOf(() => safeLocalPath(root, rel)), rel).toBe('ENAME');
    }
  });

  it('a symlink that leads outside (folder, file or dangling) is EACCES', async () => {
    for (const rel of ['out-dir', 'out-dir/x.txt', 'out-dir/deep/er.txt', 'out-file', 'dangling', 'dangling/x']) {
      expect(await codeOf(() => safeLocalPath(root, rel)), rel).toBe('EACCES');
    }
  });

  it('a symlink that stays inside is fine, and plain paths resolve under the root', async () => {
    const real = await realpath(root);
    expect(await safeLocalPath(root, 'in-link/x.txt')).toBe(path.join(real, 'in-link', 'x.txt'));
    expect(await safeLocalPath(root, 'new/deeper/file')).toBe(path.join(real, 'new', 'deeper', 'file'));
  });
});

describe('against a real server', () => {
  let server: Ferryd;
  let session: RemoteSession;
  let work: string;
  let home: string;

  beforeAll(async () => {
    server = await startFerryd({ users: [alice, bob], plain: true });
    session = await connectSession(server, alice);
    work = await tempDir('ferry-untrusted-');
    home = path.join(server.root, 'homes', alice.name);
    await mkdir(path.join(home, 'photos'));
    await writeFile(path.join(home, 'photos', 'cat.jpg'), 'meow');
    await writeFile(path.join(home, 'secret.txt'), 'remote secret');
    // Names a server (or anyone with shell access to it) can create, that are unsafe locally.
    for (const [dir, name] of [
      ['hostile-backslash', '..\\..\\evil.txt'],
      ['hostile-device', 'CON'],
      ['hostile-control', 'bell\u0007and\u001b[2Jclear.txt'],
      ['hostile-drive', 'C:evil.txt'],
    ]) {
      await mkdir(path.join(home, dir!, 'sub'), { recursive: true });
      await writeFile(path.join(home, dir!, 'fine.txt'), 'fine');
      await writeFile(path.join(home, dir!, 'sub', name!), 'evil');
    }
    await mkdir(path.join(server.root, 'homes', 'bob'), { recursive: true }); // made at bob's first login otherwise
    await writeFile(path.join(server.root, 'homes', 'bob', 'bobs.txt'), 'bob only');
  });

  afterAll(async () => {
    session.close();
    await cleanupAll();
  });

  it('a folder download with a hostile name inside is refused (ENAME) before anything is written', async () => {
    for (const dir of ['hostile-backslash', 'hostile-device', 'hostile-control', 'hostile-drive']) {
      const dest = path.join(work, `dl-${dir}`);
      const queue = new TransferQueue(session);
      expect(await codeOf(() => queue.download([`/${dir}`], dest)), dir).toBe('ENAME');
      await queue.idle();
      expect(queue.list()).toEqual([]);
      expect(await filesUnder(dest)).toEqual([]);
      expect(await filesUnder(path.dirname(work))).not.toContain('evil.txt');
    }
  });

  it('a download into a folder whose entry is a symlink leading outside is refused (EACCES)', async () => {
    const dest = path.join(work, 'dl-links');
    const outside = await tempDir('ferry-outside-');
    await mkdir(dest);
    await writeFile(path.join(outside, 'target.txt'), 'local, outside');
    await symlink(outside, path.join(dest, 'photos'));
    await symlink(path.join(outside, 'target.txt'), path.join(dest, 'secret.txt'));
    const queue = new TransferQueue(session, { conflict: 'overwrite' });
    expect(await codeOf(() => queue.download(['/photos'], dest))).toBe('EACCES');
    expect(await codeOf(() => queue.download(['/secret.txt'], dest))).toBe('EACCES');
    await queue.idle();
    expect((await readdir(outside)).sort()).toEqual(['target.txt']);
    expect(await readFile(path.join(outside, 'target.txt'), 'utf8')).toBe('local, outside');
    // The same downloads into a plain folder work.
    const plain = path.join(work, 'dl-plain');
    await queue.download(['/photos', '/secret.txt'], plain);
    await queue.idle();
    expect(await readFile(path.join(plain, 'photos', 'cat.jpg'), 'utf8')).toBe('meow');
    expect(await readFile(path.join(plain, 'secret.txt'), 'utf8')).toBe('remote secret');
  });

  it('paths with NUL, backslashes or .. above the home are EACCES for every operation', async () => {
    const bad = ['a\u0000b', '/photos/cat.jpg\u0000.txt', 'photos\\cat.jpg', '..', '../bob', '/../bob/bobs.txt', 'photos/../../bob'];
    for (const p of bad) {
      expect(await codeOf(() => session.list(p)), `list ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.stat(p)), `stat ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.mkdir(`${p}/new`, true)), `mkdir ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.remove(p, true)), `rm ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.rename('/secret.txt', p)), `mv to ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.uploadInfo(p)), `upload-info ${JSON.stringify(p)}`).toBe('EACCES');
      expect(await codeOf(() => session.cd(p)), `cd ${JSON.stringify(p)}`).toBe('EACCES');
    }
    const local = path.join(work, 'up.txt');
    await writeFile(local, 'x');
    expect(await codeOf(() => uploadFile(session, local, 'a\u0000b.txt', { exists: 'overwrite', resume: false }))).toBe('EACCES');
    expect(await codeOf(() => uploadFile(session, local, '../bob/planted.txt', { exists: 'overwrite', resume: false }))).toBe('EACCES');
    const queue = new TransferQueue(session);
    expect(await codeOf(() => queue.download(['/photos/cat.jpg\u0000'], path.join(work, 'nul')))).toBe('EACCES');
    expect(await readdir(path.join(server.root, 'homes', 'bob'))).toEqual(['bobs.txt']);
    expect(await session.pwd()).toBe('/');
  });
});
