/**
 * Uploads over the raw protocol as a hostile or unlucky network delivers them: a wrong
 * SHA-256, a body cut off by a closed socket and resumed, a wrong resume offset, many
 * puts pipelined back to back, and a server stopped with SIGTERM in the middle of a body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rootWithUsers, sleep, type Frame } from './raw-client.js';
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-uploads-pass' };

let server: Ferryd;
let alice: RawClient;

/** Deterministic, non-repeating test data. */
function data(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed * 2654435761;
  for (let i = 0; i < bytes; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.writeUInt32LE(x, Math.min(i, bytes - 4));
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function download(c: RawClient, p: string): Promise<{ final: Frame; body: Buffer }> {
  const id = c.newId();
  c.send({ type: 'get', id, path: p });
  const seen: Frame[] = [];
  const final = await c.reply(id, 10_000, seen);
  return { final, body: Buffer.concat(seen.map((f) => f.body)) };
}

async function partialFiles(root: string): Promise<string[]> {
  return readdir(path.join(root, 'state', 'partials', 'alice')).catch(() => []);
}

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE]), plain: true });
  alice = await loggedIn(server.port, ALICE.name, ALICE.password);
});

afterAll(async () => {
  alice?.destroy();
  await cleanupAll();
});

describe('uploads', () => {
  it('a put and its reply leave the stream in step (the reply carries no stray "size")', async () => {
    const body = data(1000);
    const put = await alice.put('first.bin', body);
    expect(put.header).toMatchObject({ type: 'ok', path: '/first.bin', sha256: sha(body) });
    expect(put.header.size ?? 0).toBe(0);
    expect(put.header.fileSize).toBe(1000);
    // The next request on the same connection is answered normally.
    expect((await alice.request({ type: 'pwd' })).header).toMatchObject({ type: 'ok', cwd: '/' });
    const got = await download(alice, 'first.bin');
    expect(got.final.header).toMatchObject({ type: 'ok', sha256: sha(body) });
    expect(got.body.equals(body)).toBe(true);
  });

  it('a wrong SHA-256 in put-end is ECHECKSUM and leaves nothing behind', async () => {
    const reply = await alice.put('bad-sum.bin', data(5000), { sha256: 'ab'.repeat(32) });
    expect(reply.header).toMatchObject({ type: 'error', code: 'ECHECKSUM' });
    expect((await alice.request({ type: 'stat', path: 'bad-sum.bin' })).header.code).toBe('ENOENT');
    expect((await alice.request({ type: 'upload-info', path: 'bad-sum.bin' })).header).toMatchObject({ partial: null, entry: null });
    expect(await partialFiles(server.root)).toEqual([]);
  });

  it('a body cut off by a closed socket keeps its partial; a put at the right offset completes it', async () => {
    const whole = data(300_000, 2);
    const cut = 123_457;
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.send({ type: 'put', id: 50, path: 'resume.bin', offset: 0, total: whole.length, size: whole.length });
    c.write(whole.subarray(0, cut));
    await sleep(100);
    c.socket.end();
    await c.waitClosed(3000);

    const kept = await eventually(async () => {
      const info = await alice.request({ type: 'upload-info', path: 'resume.bin' });
      return info.header.partial === cut;
    }, 5000);
    expect(kept).toBe(true);
    expect((await alice.request({ type: 'stat', path: 'resume.bin' })).header.code).toBe('ENOENT');

    // A wrong offset is refused with the one the server holds (and the stream stays in step).
    const wrong = await alice.put('resume.bin', whole.subarray(cut + 10), { offset: cut + 10, total: whole.length, prefix: whole.subarray(0, cut + 10) });
    expect(wrong.header).toMatchObject({ type: 'error', code: 'EOFFSET', details: { offset: cut } });

    const done = await alice.put('resume.bin', whole.subarray(cut), { offset: cut, total: whole.length, prefix: whole.subarray(0, cut) });
    expect(done.header).toMatchObject({ type: 'ok', path: '/resume.bin', sha256: sha(whole), fileSize: whole.length });
    expect((await download(alice, 'resume.bin')).body.equals(whole)).toBe(true);
    expect((await alice.request({ type: 'upload-info', path: 'resume.bin' })).header.partial).toBeNull();
  });

  it('a resume offset with no partial at all is EOFFSET with details.offset 0', async () => {
    const wrong = await alice.put('never-started.bin', data(10), { offset: 5, total: 15, prefix: data(5) });
    expect(wrong.header).toMatchObject({ type: 'error', code: 'EOFFSET', details: { offset: 0 } });
    expect((await alice.request({ type: 'stat', path: 'never-started.bin' })).header.code).toBe('ENOENT');
  });

  it('50 puts sent back to back without waiting all succeed', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    expect((await c.request({ type: 'mkdir', path: 'many' })).header.type).toBe('ok');
    const files = Array.from({ length: 50 }, (_, i) => ({ id: 1000 + i, name: `many/f${i}.bin`, body: data(100 + i * 37, i + 10) }));
    for (const f of files) c.sendPut(f.id, f.name, f.body);
    const replies = await Promise.all(files.map((f) => c.nextFor(f.id, 20_000)));
    for (const [i, r] of replies.entries()) {
      expect(r.header, files[i]!.name).toMatchObject({ type: 'ok', path: `/${files[i]!.name}`, sha256: sha(files[i]!.body) });
    }
    const list = await c.request({ type: 'list', path: 'many' });
    expect(list.header.count).toBe(50);
    for (const f of [files[0]!, files[25]!, files[49]!]) expect((await download(c, f.name)).body.equals(f.body)).toBe(true);
    c.destroy();
  });

  it('a refused put in a pipeline is skipped cleanly and the next one succeeds', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.sendPut(1, '../outside.bin', data(2000));
    c.sendPut(2, 'first.bin', data(10), { exists: 'fail' });
    c.sendPut(3, 'after-refusals.bin', data(3000, 7));
    expect((await c.nextFor(1)).header.code).toBe('EACCES');
    expect((await c.nextFor(2)).header.code).toBe('EEXIST');
    expect((await c.nextFor(3)).header).toMatchObject({ type: 'ok', sha256: sha(data(3000, 7)) });
    c.destroy();
  });

  it('two uploads to one path at once: the second is EBUSY', async () => {
    const a = await loggedIn(server.port, ALICE.name, ALICE.password);
    const b = await loggedIn(server.port, ALICE.name, ALICE.password);
    // Streamed (bigger than WHOLE_FILE_MAX): the path is locked while its body arrives.
    const body = data(WHOLE_FILE_MAX + 50_000, 3);
    a.send({ type: 'put', id: 7, path: 'contended.bin', offset: 0, total: body.length, size: body.length });
    a.write(body.subarray(0, 1000));
    await eventually(async () => (await alice.request({ type: 'upload-info', path: 'contended.bin' })).header.partial !== null, 3000);
    const second = await b.put('contended.bin', data(10));
    expect(second.header.code).toBe('EBUSY');
    a.write(body.subarray(1000));
    a.send({ type: 'put-end', id: 7, sha256: sha(body) });
    expect((await a.nextFor(7)).header.type).toBe('ok');
    a.destroy();
    b.destroy();
  });
});

describe('SIGTERM during an upload', () => {
  it('exits 0 within a few seconds, keeps the partial, and the upload resumes after a restart', async () => {
    const root = await rootWithUsers([ALICE]);
    const first = await startFerryd({ root, plain: true });
    const whole = data(64 * 1024 * 1024, 9);
    const c = await loggedIn(first.port, ALICE.name, ALICE.password);
    c.send({ type: 'put', id: 5, path: 'big.bin', offset: 0, total: whole.length, size: whole.length });
    // Stream until the server goes away (bounded by the data and by time).
    let sent = 0;
    let signalled = 0;
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => first.process.once('exit', (code) => resolve(code)));
    const streaming = (async () => {
      while (sent < whole.length && !c.closed && Date.now() - started < 20_000) {
        const piece = whole.subarray(sent, sent + 256 * 1024);
        sent += piece.length;
        if (!c.socket.write(piece)) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closedAt, sleep(500)]);
      }
    })();
    // Once the server has stored some of it (the partial grows in 1 MiB writes), stop it.
    const watcher = await loggedIn(first.port, ALICE.name, ALICE.password);
    await eventually(async () => Number((await watcher.request({ type: 'upload-info', path: 'big.bin' })).header.partial) >= 1024 * 1024, 10_000);
    signalled = Date.now();
    first.process.kill('SIGTERM');
    await streaming;
    watcher.destroy();
    expect(signalled, `sent ${sent}, closed ${c.closed}: ${first.log()}`).toBeGreaterThan(0);
    const code = await Promise.race([exited, sleep(8000).then(() => 'still running')]);
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(6000);
    c.destroy();
    expect(first.log()).toMatch(/SIGTERM: stopping/);
    expect(first.log()).toMatch(/interrupted \(partial kept\)/);

    const second = await startFerryd({ root, plain: true });
    const d = await loggedIn(second.port, ALICE.name, ALICE.password);
    const info = await d.request({ type: 'upload-info', path: 'big.bin' });
    const partial = info.header.partial as number;
    expect(partial, first.log()).toBeGreaterThan(0);
    expect(partial).toBeLessThanOrEqual(sent);
    // The kept bytes are the right ones: resuming from them gives the whole file's hash.
    d.send({ type: 'put', id: 9, path: 'big.bin', offset: partial, total: whole.length }, whole.subarray(partial));
    d.send({ type: 'put-end', id: 9, sha256: sha(whole) });
    const done = await d.nextFor(9, 30_000);
    expect(done.header).toMatchObject({ type: 'ok', sha256: sha(whole), fileSize: whole.length });
    d.destroy();
    await second.stop();
  });
});
