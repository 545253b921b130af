/**
 * Permission bits on a real ferryd: a new file or folder gets the client's bits less the
 * server's umask (never setuid, setgid or sticky), an overwrite keeps the replaced file's
 * bits unless the put preserves the source's, and `chmod` is jailed, never follows a link,
 * refuses a mode above 0o777, walks a tree (bounded, cancellable) and keeps stored hashes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WHOLE_FILE_MAX, type Entry } from '../../shared/common/messages.js';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { loggedIn, rootWithUsers, type RawClient } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-chmod-pass' };
const BOB: TestUser = { name: 'bob', password: 'bob-chmod-pass' };
const CAROL: TestUser = { name: 'carol', password: 'carol-chmod-pass' };
const SMALL: TestUser = { name: 'small', password: 'small-chmod-pass', entries: '12' };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const bitsOf = (file: string): number => lstatSync(file).mode & 0o7777;

let server: Ferryd;
let home: string;
let alice: RawClient;
const clients: RawClient[] = [];

async function client(s: Ferryd, user: TestUser): Promise<RawClient> {
  const c = await loggedIn(s.port, user.name, user.password);
  clients.push(c);
  return c;
}

async function listed(c: RawClient, folder: string): Promise<Map<string, Entry>> {
  const reply = await c.request({ type: 'list', path: folder });
  expect(reply.header.type).toBe('ok');
  return new Map((JSON.parse(reply.body.toString('utf8')) as Entry[]).map((e) => [e.name, e]));
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE, BOB, SMALL]), plain: true });
  alice = await client(server, ALICE);
  home = path.join(server.root, 'homes', ALICE.name);
  await (await client(server, BOB)).request({ type: 'ping' });
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await cleanupAll();
});

describe('the mode of what an upload creates', () => {
  it('gives a new file the client bits less the default umask 022, and never set-id or sticky bits', async () => {
    const cases: Array<[string, number | undefined, number]> = [
      ['script.sh', 0o755, 0o755],
      ['open.txt', 0o777, 0o755],
      ['setuid', 0o4755, 0o755],
      ['private', 0o600, 0o600],
      ['plain.txt', undefined, 0o644],
    ];
    for (const [name, mode, expected] of cases) {
      const reply = await alice.put(name, Buffer.from(`#!/bin/sh\necho ${name}\n`), { extra: mode === undefined ? {} : { mode } });
      expect(reply.header.type).toBe('ok');
      expect(bitsOf(path.join(home, name)), name).toBe(expected);
    }
    // A streamed upload (bigger than a whole one) gets them the same way.
    const big = Buffer.alloc(WHOLE_FILE_MAX + 4096, 7);
    expect((await alice.put('big.bin', big, { extra: { mode: 0o750 } })).header.type).toBe('ok');
    expect(bitsOf(path.join(home, 'big.bin'))).toBe(0o750);
    // Listings report the bits.
    expect((await listed(alice, '/')).get('script.sh')!.mode & 0o777).toBe(0o755);
  });

  it('refuses a put mode beyond 0o7777 as a malformed request', async () => {
    // (A malformed request ends its connection: not alice's.)
    const c = await client(server, ALICE);
    const reply = await c.put('bad-mode', Buffer.from('x'), { extra: { mode: 0o10000 } });
    expect(reply.header).toMatchObject({ type: 'error', code: 'EPROTO' });
  });

  it('gives a new folder the client bits less the umask (mkdir mode)', async () => {
    expect((await alice.request({ type: 'mkdir', path: 'locked', mode: 0o700 })).header.type).toBe('ok');
    expect((await alice.request({ type: 'mkdir', path: 'deep/er/est', parents: true, mode: 0o777 })).header.type).toBe('ok');
    expect((await alice.request({ type: 'mkdir', path: 'default' })).header.type).toBe('ok');
    expect(bitsOf(path.join(home, 'locked'))).toBe(0o700);
    expect(bitsOf(path.join(home, 'deep/er/est'))).toBe(0o755);
    expect(bitsOf(path.join(home, 'deep'))).toBe(0o755);
    expect(bitsOf(path.join(home, 'default'))).toBe(0o755);
  });

  it('keeps the bits of a file it replaces, unless the put preserves the source mode', async () => {
    const target = path.join(home, 'kept.sh');
    writeFileSync(target, 'old');
    chmodSync(target, 0o700);
    expect((await alice.put('kept.sh', Buffer.from('new'), { extra: { mode: 0o644 } })).header.type).toBe('ok');
    expect(bitsOf(target)).toBe(0o700);
    // Streamed the same.
    const big = Buffer.alloc(WHOLE_FILE_MAX + 10, 1);
    expect((await alice.put('kept.sh', big, { extra: { mode: 0o644 } })).header.type).toBe('ok');
    expect(bitsOf(target)).toBe(0o700);
    expect((await alice.put('kept.sh', Buffer.from('newer'), { extra: { mode: 0o640, preserveMode: true } })).header.type).toBe('ok');
    expect(bitsOf(target)).toBe(0o640);
    // Preserved bits still pass the umask.
    expect((await alice.put('kept.sh', Buffer.from('newest'), { extra: { mode: 0o777, preserveMode: true } })).header.type).toBe('ok');
    expect(bitsOf(target)).toBe(0o755);
  });

  it('applies the umask the server was started with (--umask)', async () => {
    const other = await startFerryd({ root: await rootWithUsers([CAROL]), plain: true, args: ['--umask', '027'] });
    try {
      const c = await client(other, CAROL);
      expect((await c.put('x.sh', Buffer.from('x'), { extra: { mode: 0o777 } })).header.type).toBe('ok');
      expect((await c.request({ type: 'mkdir', path: 'd', mode: 0o777 })).header.type).toBe('ok');
      const otherHome = path.join(other.root, 'homes', CAROL.name);
      expect(bitsOf(path.join(otherHome, 'x.sh'))).toBe(0o750);
      expect(bitsOf(path.join(otherHome, 'd'))).toBe(0o750);
      c.destroy();
    } finally {
      await other.stop();
    }
  });
});

describe('chmod', () => {
  it('sets the bits of a file and of a folder, and answers with the path and the count', async () => {
    writeFileSync(path.join(home, 'c1.txt'), 'c1');
    chmodSync(path.join(home, 'c1.txt'), 0o644);
    const reply = await alice.request({ type: 'chmod', path: 'c1.txt', mode: 0o600 });
    expect(reply.header).toMatchObject({ type: 'ok', path: '/c1.txt', changed: 1 });
    expect(bitsOf(path.join(home, 'c1.txt'))).toBe(0o600);
    mkdirSync(path.join(home, 'cdir'));
    writeFileSync(path.join(home, 'cdir', 'inside'), 'i');
    chmodSync(path.join(home, 'cdir', 'inside'), 0o644);
    // Not recursive: the folder only.
    expect((await alice.request({ type: 'chmod', path: '/cdir', mode: 0o711 })).header).toMatchObject({ type: 'ok', changed: 1 });
    expect(bitsOf(path.join(home, 'cdir'))).toBe(0o711);
    expect(bitsOf(path.join(home, 'cdir', 'inside'))).toBe(0o644);
  });

  it('refuses a mode above 0o777 (set-id and sticky bits) with EINVAL', async () => {
    for (const mode of [0o1777, 0o4755, 0o2755, 0o10000]) {
      const reply = await alice.request({ type: 'chmod', path: 'c1.txt', mode });
      expect(reply.header, mode.toString(8)).toMatchObject({ type: 'error', code: 'EINVAL' });
    }
    expect(bitsOf(path.join(home, 'c1.txt'))).toBe(0o600);
  });

  it('refuses paths out of the home, and never follows a link', async () => {
    const outside = await tempDir('ferry-chmod-outside-');
    const victim = path.join(outside, 'victim');
    writeFileSync(victim, 'v');
    chmodSync(victim, 0o644);
    const bobFile = path.join(server.root, 'homes', BOB.name, 'bob.txt');
    writeFileSync(bobFile, 'b');
    chmodSync(bobFile, 0o644);
    symlinkSync(victim, path.join(home, 'to-victim'));
    symlinkSync(outside, path.join(home, 'to-outside'));
    for (const p of ['../bob/bob.txt', '/../bob/bob.txt', 'to-outside/victim']) {
      const reply = await alice.request({ type: 'chmod', path: p, mode: 0o777 });
      expect(reply.header, p).toMatchObject({ type: 'error', code: 'EACCES' });
    }
    const link = await alice.request({ type: 'chmod', path: 'to-victim', mode: 0o777 });
    expect(link.header).toMatchObject({ type: 'error', code: 'EINVAL' });
    const linkTree = await alice.request({ type: 'chmod', path: 'to-outside', mode: 0o777, recursive: true });
    expect(linkTree.header).toMatchObject({ type: 'error', code: 'EINVAL' });
    expect(bitsOf(victim)).toBe(0o644);
    expect(bitsOf(outside)).toBe(0o700);
    expect(bitsOf(bobFile)).toBe(0o644);
  });

  it('changes a whole tree with recursive, skipping links, contents before their folder', async () => {
    const outside = await tempDir('ferry-chmod-tree-');
    writeFileSync(path.join(outside, 'o'), 'o');
    chmodSync(path.join(outside, 'o'), 0o644);
    const tree = path.join(home, 'tree');
    mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
    for (const f of ['t1', 'a/t2', 'a/b/t3']) writeFileSync(path.join(tree, f), f);
    symlinkSync(path.join(outside, 'o'), path.join(tree, 'a', 'link-out'));
    symlinkSync(outside, path.join(tree, 'a', 'b', 'dir-out'));
    // 0600 on folders: no x for the owner, so the walk must change a folder after its contents.
    const reply = await alice.request({ type: 'chmod', path: 'tree', mode: 0o600, recursive: true });
    expect(reply.header).toMatchObject({ type: 'ok', path: '/tree', changed: 6 });
    chmodSync(tree, 0o700);
    chmodSync(path.join(tree, 'a'), 0o700);
    for (const f of ['t1', 'a/t2', 'a/b']) expect(bitsOf(path.join(tree, f)), f).toBe(0o600);
    chmodSync(path.join(tree, 'a', 'b'), 0o700);
    expect(bitsOf(path.join(tree, 'a/b/t3'))).toBe(0o600);
    expect(bitsOf(path.join(outside, 'o'))).toBe(0o644);
    expect(bitsOf(outside)).toBe(0o700);
    expect(lstatSync(path.join(tree, 'a', 'link-out')).isSymbolicLink()).toBe(true);
  });

  it('stops a recursive change past the account entry limit (ETOOBIG)', async () => {
    const c = await client(server, SMALL);
    await c.request({ type: 'ping' });
    const tree = path.join(server.root, 'homes', SMALL.name, 'many');
    mkdirSync(tree);
    for (let i = 0; i < 20; i++) writeFileSync(path.join(tree, `f${String(i).padStart(2, '0')}`), 'x');
    const reply = await c.request({ type: 'chmod', path: 'many', mode: 0o640, recursive: true });
    expect(reply.header).toMatchObject({ type: 'error', code: 'ETOOBIG' });
  });

  it('is cancelled by `cancel` (ECANCELED)', async () => {
    const tree = path.join(home, 'big-tree');
    for (let d = 0; d < 40; d++) {
      mkdirSync(path.join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(path.join(tree, `d${d}`, `f${f}`), '');
    }
    const id = alice.newId();
    alice.send({ type: 'chmod', id, path: 'big-tree', mode: 0o640, recursive: true });
    alice.send({ type: 'cancel', id: alice.newId(), target: id });
    const reply = await alice.nextFor(id, 10_000);
    expect(reply.header).toMatchObject({ type: 'error', code: 'ECANCELED' });
    // Stopped early: the folder itself, changed last, kept its bits.
    expect(bitsOf(tree)).toBe(0o755);
  });

  it('keeps a file stored SHA-256: the content did not change, only its ctime', async () => {
    const body = Buffer.from('hashed content\n');
    expect((await alice.put('hashed.txt', body, { extra: { mode: 0o644 } })).header.type).toBe('ok');
    expect((await listed(alice, '/')).get('hashed.txt')!.sha256).toBe(sha(body));
    const ctimeBefore = statSync(path.join(home, 'hashed.txt'), { bigint: true }).ctimeNs;
    expect((await alice.request({ type: 'chmod', path: 'hashed.txt', mode: 0o600 })).header.type).toBe('ok');
    expect(statSync(path.join(home, 'hashed.txt'), { bigint: true }).ctimeNs).not.toBe(ctimeBefore);
    const after = (await listed(alice, '/')).get('hashed.txt')!;
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.sha256).toBe(sha(body));
    // Recursive changes keep them too.
    expect((await alice.request({ type: 'mkdir', path: 'hdir' })).header.type).toBe('ok');
    expect((await alice.put('hdir/h.txt', body)).header.type).toBe('ok');
    expect((await alice.request({ type: 'chmod', path: 'hdir', mode: 0o750, recursive: true })).header.type).toBe('ok');
    expect((await listed(alice, 'hdir')).get('h.txt')!.sha256).toBe(sha(body));
    // A change made behind the server's back (a command) still drops it: ctime is in the key.
    chmodSync(path.join(home, 'hashed.txt'), 0o644);
    expect((await listed(alice, '/')).get('hashed.txt')!.sha256).toBeUndefined();
  });
});
