/**
 * Small files over the raw protocol: puts of at most WHOLE_FILE_MAX are stored whole (nothing on
 * disk before the hash matched, nothing left behind when they are refused), many of them
 * pipelined share their folders' fsyncs, and `read` answers a whole small file in one
 * frame, jail-checked like every path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rootWithUsers, sleep, type Frame } from './raw-client.js';
import { READ_MAX, WHOLE_FILE_MAX } from '../../shared/common/messages.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-small-pass', quota: '1MiB' };
const BOB: TestUser = { name: 'bob', password: 'bob-small-pass', quota: '400000' };

let server: Ferryd;
let alice: RawClient;
let home: string;
let outside: string;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function data(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed * 2654435761;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function partials(): Promise<string[]> {
  return readdir(path.join(server.root, 'state', 'partials', 'alice')).catch(() => []);
}

/** Files left where small files are written before their commit (there should be none). */
async function incoming(root = server.root, user = 'alice'): Promise<string[]> {
  const out: string[] = [];
  const base = path.join(root, 'state', 'incoming');
  for (const run of await readdir(base).catch(() => [] as string[])) {
    const folder = path.join(base, run, user);
    for (const dir of await readdir(folder).catch(() => [] as string[])) {
      for (const name of await readdir(path.join(folder, dir))) out.push(`${run}/${dir}/${name}`);
    }
  }
  return out;
}

/** A put from offset 0 whose connection ends (cleanly) after `sent` bytes of its body. */
async function cutPut(name: string, body: Buffer, sent: number): Promise<void> {
  const c = await loggedIn(server.port, ALICE.name, ALICE.password);
  c.send({ type: 'put', id: 1, path: name, offset: 0, total: body.length, size: body.length });
  c.write(body.subarray(0, sent));
  await sleep(100);
  c.socket.end();
  await c.waitClosed(3000);
}

async function read(c: RawClient, p: string, max = 1024 * 1024): Promise<Frame> {
  return c.request({ type: 'read', path: p, max });
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE, BOB]), plain: true });
  alice = await loggedIn(server.port, ALICE.name, ALICE.password);
  home = path.join(server.root, 'homes', 'alice');
  outside = await tempDir('ferry-small-outside-');
  await writeFile(path.join(outside, 'secret.txt'), 'outside secret');
});

afterAll(async () => {
  alice?.destroy();
  await cleanupAll();
});

describe('small puts (stored whole)', () => {
  it('stores a small file with its mtime, durable when the ok comes, and leaves no partial', async () => {
    const body = data(4096, 2);
    const id = alice.newId();
    alice.send({ type: 'put', id, path: 'one.bin', offset: 0, total: body.length, mtime: 1_600_000_000_000 }, body);
    alice.send({ type: 'put-end', id, sha256: sha(body) });
    const reply = await alice.nextFor(id);
    expect(reply.header).toMatchObject({ type: 'ok', path: '/one.bin', fileSize: 4096, sha256: sha(body) });
    expect(reply.header.size ?? 0).toBe(0);
    expect((await readFile(path.join(home, 'one.bin'))).equals(body)).toBe(true);
    expect(Math.round((await stat(path.join(home, 'one.bin'))).mtimeMs)).toBe(1_600_000_000_000);
    expect(await partials()).toEqual([]);
    expect(await incoming()).toEqual([]);
  });

  it('deletes, at start, what a crash left in the middle of a commit', async () => {
    const carol: TestUser = { name: 'carol', password: 'carol-small-pass' };
    const root = await rootWithUsers([carol]);
    const left = path.join(root, 'state', 'incoming', 'an-earlier-run', 'carol', 'a');
    await mkdir(left, { recursive: true });
    await writeFile(path.join(left, `${sha(Buffer.from('/crash.bin'))}.part`), 'never acknowledged');
    const other = await startFerryd({ root, plain: true });
    const c = await loggedIn(other.port, carol.name, carol.password);
    const body = data(10, 11);
    expect((await c.put('crash.bin', body)).header).toMatchObject({ type: 'ok', sha256: sha(body) });
    expect((await readFile(path.join(root, 'homes', 'carol', 'crash.bin'))).equals(body)).toBe(true);
    for (let i = 0; i < 100 && (await readdir(path.join(root, 'state', 'incoming'))).includes('an-earlier-run'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await readdir(path.join(root, 'state', 'incoming'))).not.toContain('an-earlier-run');
    expect(await incoming(root, 'carol')).toEqual([]);
    expect(other.log()).toContain('deleted uncommitted small files left by an earlier run (an-earlier-run)');
    c.destroy();
    await other.stop();
  });

  it('an empty file and a body of exactly the limit are stored too', async () => {
    expect((await alice.put('empty.bin', Buffer.alloc(0))).header).toMatchObject({ type: 'ok', fileSize: 0 });
    const max = data(WHOLE_FILE_MAX, 3);
    expect((await alice.put('max.bin', max)).header).toMatchObject({ type: 'ok', fileSize: WHOLE_FILE_MAX, sha256: sha(max) });
    expect((await readFile(path.join(home, 'empty.bin'))).length).toBe(0);
    expect((await readFile(path.join(home, 'max.bin'))).equals(max)).toBe(true);
  });

  it('a 200 KiB put from offset 0 is stored whole: cut in the middle of its body, it keeps nothing', async () => {
    const size = 200 * 1024;
    expect(size).toBeLessThanOrEqual(WHOLE_FILE_MAX);
    const body = data(size, 21);
    await cutPut('whole-200k.bin', body, size / 2);
    // A streamed put would have kept the half that arrived for a resume (see the next test).
    await sleep(200);
    expect((await alice.request({ type: 'upload-info', path: 'whole-200k.bin' })).header).toMatchObject({ partial: null, entry: null });
    expect(await partials()).toEqual([]);
    expect((await alice.put('whole-200k.bin', body)).header).toMatchObject({ type: 'ok', fileSize: size, sha256: sha(body) });
    expect((await readFile(path.join(home, 'whole-200k.bin'))).equals(body)).toBe(true);
    expect(await partials()).toEqual([]);
    expect(await incoming()).toEqual([]);
    await alice.request({ type: 'delete', path: 'whole-200k.bin' });
  });

  it('one byte more than WHOLE_FILE_MAX streams: cut in the middle of its body, it keeps its partial', async () => {
    const size = WHOLE_FILE_MAX + 1;
    const body = data(size, 22);
    const half = Math.floor(size / 2);
    await cutPut('streamed.bin', body, half);
    const kept = await eventually(async () => (await alice.request({ type: 'upload-info', path: 'streamed.bin' })).header.partial === half);
    expect(kept).toBe(true);
    // Starting over from 0 replaces the partial; then the file goes, so the quota is as it was.
    expect((await alice.put('streamed.bin', body)).header).toMatchObject({ type: 'ok', fileSize: size, sha256: sha(body) });
    expect(await partials()).toEqual([]);
    await alice.request({ type: 'delete', path: 'streamed.bin' });
  });

  it('a wrong SHA-256 is ECHECKSUM: nothing is written, not even a partial', async () => {
    const reply = await alice.put('bad.bin', data(3000), { sha256: 'cd'.repeat(32) });
    expect(reply.header).toMatchObject({ type: 'error', code: 'ECHECKSUM' });
    expect((await alice.request({ type: 'upload-info', path: 'bad.bin' })).header).toMatchObject({ partial: null, entry: null });
    expect(await partials()).toEqual([]);
  });

  it('refusals keep the stream in step: outside the home, onto a folder, missing folder, policies', async () => {
    await mkdir(path.join(home, 'a-folder'), { recursive: true });
    await writeFile(path.join(home, 'taken.txt'), 'old');
    await symlink(outside, path.join(home, 'out'));
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.sendPut(1, '../escape.bin', data(100));
    c.sendPut(2, 'out/planted.bin', data(100));
    c.sendPut(3, 'a-folder', data(100));
    c.sendPut(4, 'no/such/folder/x.bin', data(100));
    c.sendPut(5, 'taken.txt', data(10), { exists: 'fail' });
    c.sendPut(6, 'taken.txt', data(10), { exists: 'skip' });
    c.sendPut(7, 'taken.txt', data(10, 7), { exists: 'rename' });
    c.sendPut(8, 'fine.bin', data(200, 8));
    expect((await c.nextFor(1)).header.code).toBe('EACCES');
    expect((await c.nextFor(2)).header.code).toBe('EACCES');
    expect((await c.nextFor(3)).header.code).toBe('EISDIR');
    expect((await c.nextFor(4)).header.code).toBe('ENOENT');
    expect((await c.nextFor(5)).header.code).toBe('EEXIST');
    expect((await c.nextFor(6)).header).toMatchObject({ type: 'ok', skipped: true, path: '/taken.txt' });
    expect((await c.nextFor(7)).header).toMatchObject({ type: 'ok', path: '/taken (1).txt' });
    expect((await c.nextFor(8)).header).toMatchObject({ type: 'ok', sha256: sha(data(200, 8)) });
    c.destroy();
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(path.join(home, 'taken.txt'), 'utf8')).toBe('old');
    expect((await readFile(path.join(home, 'taken (1).txt'))).equals(data(10, 7))).toBe(true);
    expect(await partials()).toEqual([]);
    expect(await incoming()).toEqual([]);
  });

  it('counts against the quota: one that does not fit is EQUOTA and stores nothing', async () => {
    const df = (await alice.request({ type: 'df' })).header;
    const free = Number(df.free);
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    // Enough small files to pass the quota: the ones past it are refused, the rest stored.
    const size = 30_000;
    const count = Math.ceil(free / size) + 3;
    await c.request({ type: 'mkdir', path: 'quota' });
    for (let i = 0; i < count; i++) c.sendPut(100 + i, `quota/q${i}.bin`, data(size, i));
    const replies = await Promise.all(Array.from({ length: count }, (_, i) => c.nextFor(100 + i, 20_000)));
    const ok = replies.filter((r) => r.header.type === 'ok').length;
    const refused = replies.filter((r) => r.header.code === 'EQUOTA').length;
    expect(ok + refused).toBe(count);
    expect(refused).toBeGreaterThan(0);
    expect(ok * size).toBeLessThanOrEqual(free);
    expect(await readdir(path.join(home, 'quota'))).toHaveLength(ok);
    expect(Number((await alice.request({ type: 'df' })).header.used)).toBe(Number(df.used) + ok * size);
    await c.request({ type: 'delete', path: 'quota', recursive: true });
    c.destroy();
  });

  it('500 small puts pipelined on two connections all arrive intact', async () => {
    const a = await loggedIn(server.port, ALICE.name, ALICE.password);
    const b = await loggedIn(server.port, ALICE.name, ALICE.password);
    await a.request({ type: 'mkdir', path: 'burst/x', parents: true });
    await a.request({ type: 'mkdir', path: 'burst/y', parents: true });
    const files = Array.from({ length: 500 }, (_, i) => ({ id: 1000 + i, name: `burst/${i % 2 ? 'x' : 'y'}/f${i}.bin`, body: data(1 + ((i * 97) % 1500), i) }));
    for (const f of files) (f.id % 2 ? a : b).sendPut(f.id, f.name, f.body);
    const replies = await Promise.all(files.map((f) => (f.id % 2 ? a : b).nextFor(f.id, 30_000)));
    for (const [i, r] of replies.entries()) expect(r.header, files[i]!.name).toMatchObject({ type: 'ok', sha256: sha(files[i]!.body) });
    for (const f of files) expect((await readFile(path.join(home, f.name))).equals(f.body)).toBe(true);
    expect(await partials()).toEqual([]);
    expect(await incoming()).toEqual([]);
    a.destroy();
    b.destroy();
  });

  it('over an interrupted upload of the same path it starts over: the old partial is truncated, its bytes given back', async () => {
    const bob = await loggedIn(server.port, BOB.name, BOB.password);
    // 380,000 of a 390,000-byte upload (streamed: more than WHOLE_FILE_MAX) arrive, then the
    // connection breaks: the partial is kept.
    const cut = await loggedIn(server.port, BOB.name, BOB.password);
    cut.send({ type: 'put', id: 1, path: 'stale.bin', offset: 0, total: 390_000, size: 390_000 });
    cut.write(data(380_000, 9));
    await new Promise((r) => setTimeout(r, 200));
    cut.destroy();
    let info: Frame | undefined;
    for (let i = 0; i < 50; i++) {
      info = await bob.request({ type: 'upload-info', path: 'stale.bin' });
      if (info.header.partial === 380_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(info!.header.partial).toBe(380_000);
    expect((await bob.request({ type: 'df' })).header).toMatchObject({ used: 380_000, free: 20_000 });
    // 30,000 bytes do not fit next to the partial, but the put truncates it: it fits.
    const body = data(30_000, 10);
    expect((await bob.put('stale.bin', body)).header).toMatchObject({ type: 'ok', fileSize: 30_000, sha256: sha(body) });
    expect((await bob.request({ type: 'upload-info', path: 'stale.bin' })).header).toMatchObject({ partial: null, entry: { size: 30_000 } });
    expect((await bob.request({ type: 'df' })).header).toMatchObject({ used: 30_000, free: 370_000 });
    expect(await readdir(path.join(server.root, 'state', 'partials', 'bob'))).toEqual([]);
    bob.destroy();
  });

  it('a connection cut in the middle of a small body keeps nothing', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    const body = data(20_000, 5);
    c.send({ type: 'put', id: 9, path: 'cut.bin', offset: 0, total: body.length, size: body.length });
    c.write(body.subarray(0, 5000));
    await new Promise((r) => setTimeout(r, 100));
    c.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await alice.request({ type: 'upload-info', path: 'cut.bin' })).header).toMatchObject({ partial: null, entry: null });
    expect(await partials()).toEqual([]);
  });
});

describe('read: a whole small file in one frame', () => {
  beforeAll(async () => {
    await mkdir(path.join(home, 'docs', 'inner'), { recursive: true });
    await writeFile(path.join(home, 'docs', 'notes.txt'), 'hello\n');
    await writeFile(path.join(home, 'docs', 'inner', 'deep.bin'), data(10_000, 4));
    await symlink('notes.txt', path.join(home, 'docs', 'link-in.txt'));
    await symlink(path.join(outside, 'secret.txt'), path.join(home, 'docs', 'link-out.txt'));
    await symlink('/nonexistent-ferry/x', path.join(home, 'docs', 'dangling-out'));
    await symlink(outside, path.join(home, 'docs', 'dir-out'));
    execFileSync('mkfifo', [path.join(home, 'docs', 'pipe')]);
  });

  it('answers with one ok carrying the file, its size, mtime and SHA-256', async () => {
    const reply = await read(alice, 'docs/notes.txt');
    expect(reply.header).toMatchObject({ type: 'ok', path: '/docs/notes.txt', fileSize: 6, sha256: sha(Buffer.from('hello\n')) });
    expect(reply.header.mtime).toBe(Math.round((await stat(path.join(home, 'docs', 'notes.txt'))).mtimeMs));
    expect(reply.body.toString()).toBe('hello\n');
    const deep = await read(alice, '/docs/inner/deep.bin');
    expect(deep.body.equals(data(10_000, 4))).toBe(true);
    expect(deep.header.sha256).toBe(sha(data(10_000, 4)));
    const empty = await read(alice, '/empty.bin');
    expect(empty.header).toMatchObject({ type: 'ok', fileSize: 0 });
    expect(empty.header.size ?? 0).toBe(0);
  });

  it('a file bigger than max is ETOOBIG with its size (and the stream stays in step)', async () => {
    const reply = await read(alice, '/docs/inner/deep.bin', 9999);
    expect(reply.header).toMatchObject({ type: 'error', code: 'ETOOBIG', details: { fileSize: 10_000 } });
    expect((await alice.request({ type: 'pwd' })).header).toMatchObject({ type: 'ok', cwd: '/' });
  });

  it('follows links only inside the home; refuses folders, FIFOs, escapes and bad paths', async () => {
    expect((await read(alice, '/docs/link-in.txt')).body.toString()).toBe('hello\n');
    expect((await read(alice, '/docs/link-out.txt')).header.code).toBe('EACCES');
    expect((await read(alice, '/docs/dangling-out')).header.code).toBe('EACCES');
    expect((await read(alice, '/docs/dir-out/secret.txt')).header.code).toBe('EACCES');
    expect((await read(alice, '/docs')).header.code).toBe('EISDIR');
    expect((await read(alice, '/')).header.code).toBe('EISDIR');
    expect((await read(alice, '/docs/missing')).header.code).toBe('ENOENT');
    expect((await read(alice, '/docs/pipe')).header.code).toBe('EINVAL');
    expect((await read(alice, '../bob/x')).header.code).toBe('EACCES');
    expect((await read(alice, 'docs/notes.txt\u0000')).header.code).toBe('EACCES');
    for (const r of [await read(alice, '/docs/link-out.txt'), await read(alice, '/docs/dir-out/secret.txt')]) {
      expect(JSON.stringify(r.header)).not.toContain(outside);
      expect(r.body.length).toBe(0);
    }
  });

  it('100 reads pipelined are all answered, each with its own file', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    await c.request({ type: 'mkdir', path: 'many' });
    const bodies = Array.from({ length: 100 }, (_, i) => data(100 + i * 50, 50 + i));
    await Promise.all(bodies.map((b, i) => writeFile(path.join(home, 'many', `m${i}.bin`), b)));
    for (let i = 0; i < bodies.length; i++) c.send({ type: 'read', id: 500 + i, path: `many/m${i}.bin`, max: 1 << 20 });
    const replies = await Promise.all(bodies.map((_, i) => c.nextFor(500 + i, 20_000)));
    for (const [i, r] of replies.entries()) {
      expect(r.header).toMatchObject({ type: 'ok', sha256: sha(bodies[i]!) });
      expect(r.body.equals(bodies[i]!)).toBe(true);
    }
    c.destroy();
  });

  it('a client that does not take its replies makes later reads wait: the server holds at most maxReadingBytes', async () => {
    const big = data(READ_MAX, 9);
    await writeFile(path.join(home, 'docs', 'four-mib.bin'), big);
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    const readsDone = (): number => server.log().match(/read user=alice 4194304 bytes ok/g)?.length ?? 0;
    const before = readsDone();
    c.socket.pause();
    const n = 40;
    for (let i = 0; i < n; i++) c.send({ type: 'read', id: 900 + i, path: 'docs/four-mib.bin', max: READ_MAX });
    // Unbounded, all 40 (160 MiB) would be read within a few hundred ms. Bounded: the
    // 16 MiB budget, plus what the kernel's socket buffers took off it.
    await sleep(1500);
    const held = readsDone() - before;
    expect(held).toBeGreaterThanOrEqual(2);
    expect(held).toBeLessThanOrEqual(10);
    c.socket.resume();
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => c.nextFor(900 + i, 30_000)));
    for (const r of replies) {
      expect(r.header).toMatchObject({ type: 'ok', fileSize: READ_MAX, sha256: sha(big) });
      expect(r.body.equals(big)).toBe(true);
    }
    expect(readsDone() - before).toBe(n);
    c.destroy();
  });

  it('a malformed read (no max, or a body) closes the connection with EPROTO', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.send({ type: 'read', id: 3, path: 'docs/notes.txt' });
    await c.expectFatal('EPROTO');
    const d = await loggedIn(server.port, ALICE.name, ALICE.password);
    d.send({ type: 'read', id: 3, path: 'docs/notes.txt', max: 10 }, Buffer.from('body'));
    await d.expectFatal('EPROTO');
  });
});
