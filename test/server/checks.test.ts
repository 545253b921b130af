/**
 * The transfer checks over the raw protocol (PROTOCOL.md 6.1, 6.2, 6.6): hello advertises
 * them; put, get and read with `check: "xxh128"` carry an XXH3-128 (the hex xxhsum -H2
 * prints) where they would carry a SHA-256; a wrong one is ECHECKSUM and leaves nothing
 * behind; a put-end with the other field is EPROTO; a request without `check` is an
 * older client's and stays SHA-256; listings and walks give the stored digest, a walk's
 * XXH3-128 only to a client that asks for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { digestOfBytes } from '../../shared/node/checksums.js';
import { RawClient, loggedIn, rootWithUsers, sleep, type Frame } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-checks-pass' };

let server: Ferryd;
let alice: RawClient;
let home: string;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const xxh = async (b: Buffer): Promise<string> => (await digestOfBytes(b, 'xxh128')).hex;

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

/** A put with `check` and a put-end carrying `end` (the digest fields as given). */
async function put(c: RawClient, p: string, body: Buffer, check: string | undefined, end: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Frame> {
  const id = c.newId();
  c.send({ type: 'put', id, path: p, offset: 0, total: body.length, size: body.length, ...(check ? { check } : {}), ...extra }, body);
  c.send({ type: 'put-end', id, ...end });
  return c.reply(id, 10_000);
}

async function get(c: RawClient, p: string, extra: Record<string, unknown> = {}): Promise<{ body: Buffer; ok: Frame }> {
  const id = c.newId();
  c.send({ type: 'get', id, path: p, ...extra });
  const head = await c.nextFor(id);
  expect(head.header.type).toBe('data');
  const ok = await c.nextFor(id);
  return { body: head.body, ok };
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true });
  alice = await loggedIn(server.port, ALICE.name, ALICE.password);
  home = path.join(server.root, 'homes', 'alice');
});

afterAll(async () => {
  alice?.destroy();
  await cleanupAll();
});

describe('transfer checks', () => {
  it('hello advertises both checks', async () => {
    const c = await RawClient.connect(server.port);
    expect((await c.hello()).checks).toEqual(['sha256', 'xxh128']);
    c.destroy();
  });

  it('XXH3-128 is the canonical hex xxhsum -H2 prints', async () => {
    expect(await xxh(Buffer.from('hello world'))).toBe('df8d09e93f874900a99b8775cc15b6c7');
    const reply = await put(alice, 'hello.txt', Buffer.from('hello world'), 'xxh128', { xxh128: 'df8d09e93f874900a99b8775cc15b6c7' });
    expect(reply.header).toMatchObject({ type: 'ok', path: '/hello.txt', fileSize: 11, xxh128: 'df8d09e93f874900a99b8775cc15b6c7' });
    expect(reply.header).not.toHaveProperty('sha256');
  });

  for (const [kind, size] of [
    ['a small put (stored whole)', 4096],
    ['a streamed put', 600 * 1024],
  ] as const) {
    it(`${kind} with xxh128: ok carries it, listings and stat give it, read and get answer with it`, async () => {
      const body = data(size, size);
      const name = `x-${size}.bin`;
      const digest = await xxh(body);
      const reply = await put(alice, name, body, 'xxh128', { xxh128: digest });
      expect(reply.header).toMatchObject({ type: 'ok', fileSize: size, xxh128: digest });
      expect((await readFile(path.join(home, name))).equals(body)).toBe(true);
      await sleep(50);
      const listed = await alice.request({ type: 'list', path: '/' });
      const entry = (JSON.parse(listed.body.toString()) as Array<Record<string, unknown>>).find((e) => e.name === name);
      expect(entry).toMatchObject({ xxh128: digest });
      expect(entry).not.toHaveProperty('sha256');
      expect((await alice.request({ type: 'stat', path: name })).header.entry).toMatchObject({ xxh128: digest });

      const read = await alice.request({ type: 'read', path: name, max: 1024 * 1024, check: 'xxh128' });
      expect(read.header).toMatchObject({ type: 'ok', xxh128: digest });
      expect(read.header).not.toHaveProperty('sha256');
      expect(read.body.equals(body)).toBe(true);
      const oldRead = await alice.request({ type: 'read', path: name, max: 1024 * 1024 });
      expect(oldRead.header).toMatchObject({ type: 'ok', sha256: sha(body) });
      expect(oldRead.header).not.toHaveProperty('xxh128');

      const got = await get(alice, name, { check: 'xxh128' });
      expect(got.body.equals(body)).toBe(true);
      expect(got.ok.header).toMatchObject({ type: 'ok', xxh128: digest });
      // A resumed get: the digest still covers the whole file.
      const tail = await get(alice, name, { check: 'xxh128', offset: 100 });
      expect(tail.body.equals(body.subarray(100))).toBe(true);
      expect(tail.ok.header).toMatchObject({ type: 'ok', xxh128: digest });
      const oldGet = await get(alice, name);
      expect(oldGet.ok.header).toMatchObject({ type: 'ok', sha256: sha(body) });
      expect(oldGet.ok.header).not.toHaveProperty('xxh128');
    });

    it(`${kind} with a wrong xxh128 is ECHECKSUM and leaves neither file nor partial`, async () => {
      const body = data(size, size + 1);
      const name = `bad-${size}.bin`;
      const wrong = (await xxh(body)).replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const reply = await put(alice, name, body, 'xxh128', { xxh128: wrong });
      expect(reply.header).toMatchObject({ type: 'error', code: 'ECHECKSUM' });
      await expect(stat(path.join(home, name))).rejects.toThrow();
      expect(await partials()).toEqual([]);
      // The connection carries on.
      expect((await alice.request({ type: 'ping' })).header.type).toBe('ok');
    });
  }

  it('a put without check is an older client: SHA-256, checked (and ECHECKSUM when wrong)', async () => {
    const body = data(5000, 7);
    expect((await put(alice, 'old.bin', body, undefined, { sha256: sha(body) })).header).toMatchObject({ type: 'ok', sha256: sha(body) });
    const bad = await put(alice, 'old-bad.bin', body, undefined, { sha256: sha(Buffer.from('other')) });
    expect(bad.header).toMatchObject({ type: 'error', code: 'ECHECKSUM' });
    await expect(stat(path.join(home, 'old-bad.bin'))).rejects.toThrow();
    // Asking for sha256 by name is the same.
    expect((await put(alice, 'named.bin', body, 'sha256', { sha256: sha(body) })).header).toMatchObject({ type: 'ok', sha256: sha(body) });
  });

  for (const [check, end] of [
    ['xxh128', (b: Buffer) => ({ sha256: sha(b) })],
    [undefined, async (b: Buffer) => ({ xxh128: await xxh(b) })],
    ['xxh128', async (b: Buffer) => ({ sha256: sha(b), xxh128: await xxh(b) })],
  ] as const) {
    it(`a put-end with the wrong field for its put's check (${check ?? 'none'}) is EPROTO`, async () => {
      const c = await loggedIn(server.port, ALICE.name, ALICE.password);
      const body = data(300, 9);
      const id = c.newId();
      c.send({ type: 'put', id, path: 'mixed.bin', offset: 0, total: body.length, size: body.length, ...(check ? { check } : {}) }, body);
      c.send({ type: 'put-end', id, ...(await end(body)) });
      await c.expectFatal('EPROTO');
      c.destroy();
      await expect(stat(path.join(home, 'mixed.bin'))).rejects.toThrow();
    });
  }

  it('a resumed streamed put with xxh128 covers the bytes stored before its offset', async () => {
    const body = data(900 * 1024, 31);
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.send({ type: 'put', id: 1, path: 'resumed.bin', offset: 0, total: body.length, size: body.length, check: 'xxh128' });
    c.write(body.subarray(0, 400 * 1024));
    await sleep(150);
    c.destroy();
    let held = 0;
    for (let i = 0; i < 50 && held === 0; i++) {
      await sleep(40);
      held = Number((await alice.request({ type: 'upload-info', path: 'resumed.bin' })).header.partial ?? 0);
    }
    expect(held).toBeGreaterThan(0);
    const id = alice.newId();
    alice.send({ type: 'put', id, path: 'resumed.bin', offset: held, total: body.length, size: body.length - held, check: 'xxh128' }, body.subarray(held));
    alice.send({ type: 'put-end', id, xxh128: await xxh(body) });
    expect((await alice.reply(id, 10_000)).header).toMatchObject({ type: 'ok', xxh128: await xxh(body) });
    expect((await readFile(path.join(home, 'resumed.bin'))).equals(body)).toBe(true);
  });

  it('hash computes the algorithm asked for; a walk gives XXH3-128 only to a client that asks', async () => {
    const body = data(2000, 41);
    await alice.request({ type: 'mkdir', path: 'tree', parents: true });
    expect((await put(alice, 'tree/w.bin', body, 'xxh128', { xxh128: await xxh(body) })).header.type).toBe('ok');
    const asked = await alice.request({ type: 'walk', path: 'tree', checks: ['sha256', 'xxh128'] });
    expect(JSON.parse(asked.body.toString())).toEqual([['w.bin', 0, 2000, expect.any(Number), expect.any(Number), await xxh(body)]]);
    const old = await alice.request({ type: 'walk', path: 'tree' });
    expect((JSON.parse(old.body.toString()) as unknown[][])[0]![5]).toBe('');

    expect((await alice.request({ type: 'hash', path: 'tree/w.bin', algorithm: 'xxh128' })).header).toMatchObject({ type: 'ok', xxh128: await xxh(body), fileSize: 2000 });
    const h = await alice.request({ type: 'hash', path: 'tree/w.bin' });
    expect(h.header).toMatchObject({ type: 'ok', sha256: sha(body) });
    expect(h.header).not.toHaveProperty('xxh128');
  });
});
