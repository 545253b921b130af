/**
 * Stored hashes against a real ferryd: a committed file's SHA-256 is listed while the file
 * is unchanged, never after a change made behind the server's back; `hash` computes the
 * new one (and stores it); renames and deletes carry or drop records; damaged record files
 * give no hash; records survive a restart. And an overwrite keeps the old file's mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { eventually, loggedIn, rootWithUsers, sleep, type RawClient } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-hashes-pass', exec: true };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** Longer than RACY_MS (storage-hash.ts): a file changed this long ago is hashed and stored. */
const SETTLE_MS = 60;

let root: string;
let server: Ferryd;
let c: RawClient;
let home: string;
const clients: RawClient[] = [];

async function start(env: Record<string, string> = {}): Promise<void> {
  server = await startFerryd({ root, plain: true, env });
  c = await loggedIn(server.port, ALICE.name, ALICE.password);
  clients.push(c);
}

async function list(folder: string): Promise<Array<Record<string, unknown>>> {
  const reply = await c.request({ type: 'list', path: folder });
  expect(reply.header.type).toBe('ok');
  return JSON.parse(reply.body.toString('utf8')) as Array<Record<string, unknown>>;
}

async function listed(folder: string, name: string): Promise<Record<string, unknown> | undefined> {
  return (await list(folder)).find((e) => e.name === name);
}

async function exec(command: string): Promise<void> {
  const reply = await c.request({ type: 'exec', command }, undefined, 10_000);
  expect(reply.header).toMatchObject({ type: 'ok', code: 0 });
}

async function hash(p: string): Promise<Record<string, unknown>> {
  return (await c.request({ type: 'hash', path: p }, undefined, 20_000)).header as Record<string, unknown>;
}

const recordFile = (...folders: string[]): string =>
  path.join(root, 'state', 'hashes', 'alice', ...folders.map((f) => `_${f}`), 'records');

beforeAll(async () => {
  root = await rootWithUsers([ALICE]);
  await start();
  home = path.join(root, 'homes', 'alice');
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await cleanupAll();
});

describe('stored hashes', () => {
  it('a whole small put and a streamed 3 MiB put are listed (and stat-ed) with their SHA-256', async () => {
    await c.request({ type: 'mkdir', path: 'a' });
    const small = randomBytes(1000);
    const big = randomBytes(3 * 1024 * 1024 + 5);
    expect((await c.put('a/small.bin', small)).header.type).toBe('ok');
    expect((await c.put('a/big.bin', big)).header.type).toBe('ok');
    expect(await listed('a', 'small.bin')).toMatchObject({ type: 'file', size: 1000, sha256: sha(small) });
    expect(await listed('a', 'big.bin')).toMatchObject({ type: 'file', size: big.length, sha256: sha(big) });
    expect((await c.request({ type: 'stat', path: 'a/big.bin' })).header.entry).toMatchObject({ sha256: sha(big) });
    // A file the server never committed has none (it is not made up).
    await writeFile(path.join(home, 'a', 'planted.txt'), 'planted');
    expect(await listed('a', 'planted.txt')).not.toHaveProperty('sha256');
    // Written off the hot path, outside the home.
    expect(await eventually(async () => (await readFile(recordFile('a'), 'utf8').catch(() => '')).includes('big.bin'))).toBe(true);
    expect(await list('/')).not.toContainEqual(expect.objectContaining({ name: 'records' }));
  });

  it('after a command appends to a file, or rewrites it at the same size, the listing has no hash; `hash` gives the new one, which the next listing carries', async () => {
    await c.request({ type: 'mkdir', path: 'b' });
    await c.put('b/log.txt', Buffer.from('hello\n'));
    await c.put('b/same.txt', Buffer.from('abcde'));
    expect(await listed('b', 'log.txt')).toHaveProperty('sha256', sha('hello\n'));
    await exec('echo x >> b/log.txt && printf ABCDE > b/same.txt');
    const log = await listed('b', 'log.txt');
    const same = await listed('b', 'same.txt');
    expect(log).toMatchObject({ size: 8 });
    expect(log).not.toHaveProperty('sha256');
    expect(same).toMatchObject({ size: 5 });
    expect(same).not.toHaveProperty('sha256');
    await sleep(SETTLE_MS);
    expect(await hash('b/log.txt')).toMatchObject({ type: 'ok', path: '/b/log.txt', sha256: sha('hello\nx\n'), fileSize: 8 });
    expect(await hash('b/same.txt')).toMatchObject({ type: 'ok', sha256: sha('ABCDE'), fileSize: 5 });
    expect(await listed('b', 'log.txt')).toHaveProperty('sha256', sha('hello\nx\n'));
    expect(await listed('b', 'same.txt')).toHaveProperty('sha256', sha('ABCDE'));
    // touch and chmod change nothing of the bytes, but the server cannot know: no hash.
    await exec('touch b/log.txt && chmod 600 b/same.txt');
    expect(await listed('b', 'log.txt')).not.toHaveProperty('sha256');
    expect(await listed('b', 'same.txt')).not.toHaveProperty('sha256');
  });

  it('a rename through the protocol keeps the hash, a delete drops it, and a new file at the old name does not get it', async () => {
    await c.request({ type: 'mkdir', path: 'r' });
    const body = randomBytes(2000);
    await c.put('r/one.bin', body);
    expect((await c.request({ type: 'rename', from: 'r/one.bin', to: 'r/two.bin' })).header.type).toBe('ok');
    expect(await listed('r', 'two.bin')).toHaveProperty('sha256', sha(body));
    // Across folders, and a folder renamed with its files in it.
    await c.request({ type: 'mkdir', path: 'r/sub' });
    await c.request({ type: 'rename', from: 'r/two.bin', to: 'r/sub/three.bin' });
    expect(await listed('r/sub', 'three.bin')).toHaveProperty('sha256', sha(body));
    await c.request({ type: 'rename', from: 'r/sub', to: 'r/moved' });
    expect(await listed('r/moved', 'three.bin')).toHaveProperty('sha256', sha(body));
    // A new file (of the same size) at an old name does not inherit anything.
    await exec('head -c 2000 /dev/zero > r/one.bin && mkdir r/sub && head -c 2000 /dev/zero > r/sub/three.bin');
    expect(await listed('r', 'one.bin')).not.toHaveProperty('sha256');
    expect(await listed('r/sub', 'three.bin')).not.toHaveProperty('sha256');
    // Delete, then a new file of the same size at the same name.
    expect((await c.request({ type: 'delete', path: 'r/moved/three.bin' })).header.type).toBe('ok');
    await exec('head -c 2000 /dev/zero > r/moved/three.bin');
    expect(await listed('r/moved', 'three.bin')).not.toHaveProperty('sha256');
    // A folder deleted through the protocol takes its records along.
    await c.put('r/moved/four.bin', body);
    await eventually(async () => (await readFile(recordFile('r', 'moved'), 'utf8').catch(() => '')).includes('four.bin'));
    expect((await c.request({ type: 'delete', path: 'r/moved', recursive: true })).header.type).toBe('ok');
    expect(await stat(path.dirname(recordFile('r', 'moved'))).catch(() => null)).toBeNull();
  });

  it('hash: EACCES outside the home, EISDIR for a folder, ENOENT for a missing file; a stored hash is answered without reading', async () => {
    await symlink('/etc/passwd', path.join(home, 'out'));
    expect(await hash('../../etc/passwd')).toMatchObject({ type: 'error', code: 'EACCES' });
    expect(await hash('out')).toMatchObject({ type: 'error', code: 'EACCES' });
    expect(await hash('a')).toMatchObject({ type: 'error', code: 'EISDIR' });
    expect(await hash('a/nothing.bin')).toMatchObject({ type: 'error', code: 'ENOENT' });
    const before = server.log().split('\nhash ').length;
    expect(await hash('a/small.bin')).toMatchObject({ type: 'ok', fileSize: 1000 });
    expect(server.log().split('\nhash ').length).toBe(before);
  });

  it('an overwrite keeps the permission bits of the file it replaces; a new file has the default', async () => {
    await c.put('script.sh', Buffer.from('#!/bin/sh\necho one\n'));
    await chmod(path.join(home, 'script.sh'), 0o755);
    expect(((await stat(path.join(home, 'script.sh'))).mode & 0o777).toString(8)).toBe('755');
    await c.put('script.sh', Buffer.from('#!/bin/sh\necho two\n'), { exists: 'overwrite' });
    expect(((await stat(path.join(home, 'script.sh'))).mode & 0o777).toString(8)).toBe('755');
    // Streamed too.
    await c.put('big-script.sh', randomBytes(300 * 1024));
    await chmod(path.join(home, 'big-script.sh'), 0o750);
    await c.put('big-script.sh', randomBytes(300 * 1024));
    expect(((await stat(path.join(home, 'big-script.sh'))).mode & 0o777).toString(8)).toBe('750');
    await c.put('fresh.txt', Buffer.from('new'));
    expect((await stat(path.join(home, 'fresh.txt'))).mode & 0o111).toBe(0);
  });

  it('records survive a restart; a damaged or truncated record file gives no hash (and the server carries on)', async () => {
    await c.request({ type: 'mkdir', path: 'd1' });
    await c.request({ type: 'mkdir', path: 'd2' });
    await c.request({ type: 'mkdir', path: 'd3' });
    const body = randomBytes(5000);
    for (const d of ['d1', 'd2', 'd3']) await c.put(`${d}/f.bin`, body);
    await server.stop();
    const text = await readFile(recordFile('d1'), 'utf8');
    expect(text).toContain('f.bin');
    // d2: one hex digit of the stored hash changed; d3: cut in half.
    const flipped = text.replace(sha(body), sha(body).replace(/^./, (ch) => (ch === '0' ? '1' : '0')));
    expect(flipped).not.toBe(text);
    await writeFile(recordFile('d2'), flipped);
    await truncate(recordFile('d3'), Math.floor(text.length / 2));
    await start();
    expect(await listed('d1', 'f.bin')).toHaveProperty('sha256', sha(body));
    expect(await listed('d2', 'f.bin')).not.toHaveProperty('sha256');
    expect(await listed('d3', 'f.bin')).not.toHaveProperty('sha256');
    expect((await c.request({ type: 'stat', path: 'd3/f.bin' })).header.entry).not.toHaveProperty('sha256');
    expect(server.log()).toContain('is damaged');
    // Asked for, it is computed again and stored over the damaged file.
    expect(await hash('d3/f.bin')).toMatchObject({ sha256: sha(body) });
    expect(await listed('d3', 'f.bin')).toHaveProperty('sha256', sha(body));
  });

  it('a record file that is not one (garbage) gives no hash', async () => {
    await c.request({ type: 'mkdir', path: 'g' });
    await c.put('g/f.bin', Buffer.from('x'));
    await server.stop();
    await writeFile(recordFile('g'), 'not a record file at all\n{}');
    await start();
    expect(await listed('g', 'f.bin')).not.toHaveProperty('sha256');
    expect(await listed('g', 'f.bin')).toMatchObject({ size: 1 });
  });
});

describe('hash requests are bounded and cancellable', () => {
  it('past the per-session limit a hash waits for a turn, and a cancel ends it with ECANCELED', async () => {
    await server.stop();
    await start({ FERRYD_LIMITS: JSON.stringify({ maxHashesPerSession: 1 }) });
    await mkdir(path.join(home, 'h'), { recursive: true });
    // Big enough that hashing it takes a while on any machine (sparse: no disk written).
    const bigSize = 256 * 1024 * 1024;
    await writeFile(path.join(home, 'h', 'big.bin'), '');
    await truncate(path.join(home, 'h', 'big.bin'), bigSize);
    const zeros = createHash('sha256');
    for (let i = 0; i < bigSize / (1024 * 1024); i++) zeros.update(Buffer.alloc(1024 * 1024));
    const bigSha = zeros.digest('hex');
    await writeFile(path.join(home, 'h', 'small.bin'), 'small');
    await sleep(SETTLE_MS);
    const first = c.newId();
    c.send({ type: 'hash', id: first, path: 'h/big.bin' });
    // The first has its turn (and is reading) before the second asks for one.
    await sleep(50);
    const second = c.newId();
    c.send({ type: 'hash', id: second, path: 'h/small.bin' });
    await sleep(20);
    const cancelled = await c.request({ type: 'cancel', target: second });
    expect(cancelled.header).toMatchObject({ type: 'ok', found: true });
    expect((await c.reply(second, 10_000)).header).toMatchObject({ type: 'error', code: 'ECANCELED' });
    // The first one is cancelled while it reads.
    const stop = await c.request({ type: 'cancel', target: first });
    expect(stop.header).toMatchObject({ type: 'ok' });
    const end = (await c.reply(first, 30_000)).header;
    // A machine fast enough may have finished it: then it is right.
    if (end.type === 'ok') expect(end.sha256).toBe(bigSha);
    else expect(end).toMatchObject({ type: 'error', code: 'ECANCELED' });
    // The turn is free again.
    expect(await hash('h/small.bin')).toMatchObject({ type: 'ok', sha256: sha('small') });
  });
});
