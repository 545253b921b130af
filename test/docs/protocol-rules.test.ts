/**
 * The rules docs/PROTOCOL.md states that a third-party client had to find out by
 * experiment, checked against a real ferryd, so the prose cannot drift from the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeHeader } from '../../shared/common/frame.js';
import { attachProof } from '../../shared/node/attach-proof.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rootWithUsers, sleep } from '../server/raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-correct-horse', exec: true };
const CAROL: TestUser = { name: 'carol', password: 'carol-tiny-quota', quota: '1MiB' };
const MIB = 1024 * 1024;

let server: Ferryd;
let home: string;
const open: RawClient[] = [];

async function alice(): Promise<RawClient> {
  const c = await loggedIn(server.port, ALICE.name, ALICE.password);
  open.push(c);
  return c;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE, CAROL]), plain: true });
  const first = await alice();
  await first.request({ type: 'ping' });
  home = path.join(server.root, 'homes', 'alice');
  await mkdir(path.join(home, 'd'), { recursive: true });
  await writeFile(path.join(home, 'd', 'real.txt'), 'hello');
  await writeFile(path.join(home, 'empty.txt'), '');
  await writeFile(path.join(home, 'five.bin'), Buffer.alloc(5 * MIB, 1));
  await writeFile(path.join(home, 'big.bin'), Buffer.alloc(64 * MIB, 2));
  await symlink('real.txt', path.join(home, 'd', 'link'));
  await symlink('/etc/passwd', path.join(home, 'd', 'out'));
});

afterAll(async () => {
  for (const c of open) c.destroy();
  await cleanupAll();
});

describe('ids and validation (PROTOCOL.md 2, 3, 4)', () => {
  it('a hello without agent is malformed: EPROTO without an id, then a close', async () => {
    const c = await RawClient.connect(server.port);
    open.push(c);
    c.send({ type: 'hello', id: 0, versions: [1] });
    const fatal = await c.expectFatal('EPROTO');
    expect(fatal.header.message).toContain('agent');
  });

  it('auth-final must carry the id of its auth', async () => {
    const c = await RawClient.connect(server.port);
    open.push(c);
    await c.hello();
    c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'n,,n=alice,r=abcdefghijkl' });
    const cont = await c.nextFor(5);
    expect(cont.header.type).toBe('auth-continue');
    const nonce = /^r=([^,]+),/.exec(String(cont.header.data))![1]!;
    c.send({ type: 'auth-final', id: 6, data: `c=biws,r=${nonce},p=${Buffer.alloc(32).toString('base64')}` });
    await c.expectFatal('EPROTO');
  });

  it('reusing the id of a running request is EPROTO without an id, and closes the connection', async () => {
    const c = await alice();
    c.send({ type: 'exec', id: 900, command: 'sleep 2' });
    c.send({ type: 'ping', id: 900 });
    const fatal = await c.expectFatal('EPROTO');
    expect(fatal.header.message).toContain('already in use');
  });

  it.each([
    ['an empty path', { type: 'stat', path: '' }],
    ['timeout: 0', { type: 'exec', command: 'true', timeout: 0 }],
    ['a negative max', { type: 'read', path: 'empty.txt', max: -1 }],
    ['a fractional id', { type: 'ping', id: 1.5 }],
  ])('%s is malformed: EPROTO without an id, and the connection closes', async (_, header) => {
    const c = await alice();
    c.send({ id: c.newId(), ...header } as never);
    await c.expectFatal('EPROTO');
  });

  it('unknown fields are ignored, and a well-formed request that fails keeps the connection', async () => {
    const c = await alice();
    expect((await c.request({ type: 'ping', future: 1 })).header.type).toBe('ok');
    const missing = await c.request({ type: 'stat', path: 'nope' });
    expect(missing.header).toMatchObject({ type: 'error', code: 'ENOENT' });
    expect(missing.header.id).toBeTypeOf('number');
    expect((await c.request({ type: 'ping' })).header.type).toBe('ok');
  });

  it('the attach key is the bytes of the ticket, not its base64 text', async () => {
    const login = await RawClient.connect(server.port);
    open.push(login);
    const ok = await login.mustLogin(ALICE.name, ALICE.password);
    const ticket = String(ok.ticket);
    for (const [key, works] of [[Buffer.from(ticket, 'base64'), true], [Buffer.from(ticket, 'utf8'), false]] as const) {
      const c = await RawClient.connect(server.port);
      open.push(c);
      await c.hello();
      c.send({ type: 'attach', id: 1, session: ok.session, proof: attachProof(key, c.nonce, null).toString('base64') });
      if (works) expect((await c.nextFor(1)).header).toMatchObject({ type: 'ok', id: 1 });
      else await c.expectFatal('EAUTH');
    }
  });
});

describe('downloads and symlinks (PROTOCOL.md 6, 6.2)', () => {
  it('get past the end is EINVAL; at the end it is a data frame without a body', async () => {
    const c = await alice();
    expect((await c.request({ type: 'get', path: 'd/real.txt', offset: 6 })).header).toMatchObject({ code: 'EINVAL' });
    const seen: Parameters<RawClient['reply']>[2] = [];
    const id = c.newId();
    c.send({ type: 'get', id, path: 'd/real.txt', offset: 5 });
    const ok = await c.reply(id, 5000, seen);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.header).toMatchObject({ type: 'data', offset: 5, total: 5 });
    expect(seen[0]!.body.length).toBe(0);
    expect(ok.header.sha256).toBe(sha256(Buffer.from('hello')));
  });

  it("read's max is capped at 4 MiB, and max 0 reads an empty file", async () => {
    const c = await alice();
    const big = await c.request({ type: 'read', path: 'five.bin', max: 1e9 });
    expect(big.header).toMatchObject({ type: 'error', code: 'ETOOBIG', details: { fileSize: 5 * MIB } });
    expect((await c.request({ type: 'read', path: 'empty.txt', max: 0 })).header).toMatchObject({ type: 'ok', fileSize: 0 });
  });

  it('stat follows symlinks, list does not', async () => {
    const c = await alice();
    const list = await c.request({ type: 'list', path: 'd' });
    const entries = JSON.parse(list.body.toString()) as Array<{ name: string; type: string; size: number }>;
    expect(entries.find((e) => e.name === 'link')).toMatchObject({ type: 'symlink', size: 'real.txt'.length });
    expect(entries.find((e) => e.name === 'out')).toMatchObject({ type: 'symlink' });
    expect((await c.request({ type: 'stat', path: 'd/link' })).header.entry).toMatchObject({ name: 'link', type: 'file', size: 5 });
    expect((await c.request({ type: 'stat', path: 'd/out' })).header).toMatchObject({ code: 'EACCES' });
  });

  it('cancelling a running get closes the connection', async () => {
    const c = await alice();
    c.socket.pause(); // the server blocks on a full socket: the get stays running
    c.send({ type: 'get', id: 50, path: 'big.bin' });
    await sleep(300);
    c.send({ type: 'cancel', id: 51, target: 50 });
    c.socket.resume();
    expect(await c.waitClosed(10_000)).toBe(true);
  });
});

describe('uploads and quota (PROTOCOL.md 6.1)', () => {
  it('put: mtime becomes the modification time; size must equal total - offset', async () => {
    const c = await alice();
    const id = c.newId();
    c.send({ type: 'put', id, path: 'm.txt', offset: 0, total: 2, mtime: 1_000_000_000_123 }, Buffer.from('hi'));
    c.send({ type: 'put-end', id, sha256: sha256(Buffer.from('hi')) });
    expect((await c.reply(id)).header.type).toBe('ok');
    expect((await c.request({ type: 'stat', path: 'm.txt' })).header.entry).toMatchObject({ mtime: 1_000_000_000_123 });
    c.send({ type: 'put', id: c.newId(), path: 'n.txt', offset: 0, total: 3 });
    await c.expectFatal('EPROTO');
  });

  it('an overwrite is charged the full new size, and a kept partial counts in used', async () => {
    const c = await loggedIn(server.port, CAROL.name, CAROL.password);
    open.push(c);
    const data = Buffer.alloc(600_000, 3);
    expect((await c.put('a.bin', data)).header.type).toBe('ok');
    const again = await c.put('a.bin', data);
    expect(again.header).toMatchObject({ code: 'EQUOTA', details: { need: 600_000, free: MIB - 600_000 } });
    expect((await c.request({ type: 'delete', path: 'a.bin' })).header.type).toBe('ok');

    // An upload broken after 400,000 bytes keeps its partial, which counts in used.
    const broken = await loggedIn(server.port, CAROL.name, CAROL.password);
    broken.write(encodeHeader({ type: 'put', id: 1, path: 'p.bin', offset: 0, total: 600_000, size: 600_000 }));
    broken.write(data.subarray(0, 400_000));
    await sleep(200);
    broken.destroy();
    expect(await eventually(async () => (await c.request({ type: 'upload-info', path: 'p.bin' })).header.partial === 400_000)).toBe(true);
    expect((await c.request({ type: 'df' })).header).toMatchObject({ used: 400_000 });
  });

  it('a resume gets EBUSY while the old connection still holds the path', async () => {
    const c = await alice();
    const data = Buffer.alloc(600_000, 4);
    const old = await alice();
    old.write(encodeHeader({ type: 'put', id: 1, path: 'r.bin', offset: 0, total: data.length, size: data.length }));
    old.write(data.subarray(0, 300_000));
    await sleep(200);
    expect((await c.put('r.bin', data)).header).toMatchObject({ code: 'EBUSY' });
    old.destroy();
    expect(await eventually(async () => (await c.request({ type: 'upload-info', path: 'r.bin' })).header.partial === 300_000)).toBe(true);
    const rest = await c.put('r.bin', data.subarray(300_000), { offset: 300_000, prefix: data.subarray(0, 300_000) });
    expect(rest.header).toMatchObject({ type: 'ok', fileSize: data.length });
  });
});

describe('commands and cancel (PROTOCOL.md 6.3, 6.4)', () => {
  it('exit: signal names as POSIX spells them; stdin is /dev/null', async () => {
    const c = await alice();
    expect((await c.request({ type: 'exec', command: 'kill -TERM $$' })).header).toMatchObject({ code: null, signal: 'SIGTERM' });
    const seen: Parameters<RawClient['reply']>[2] = [];
    const id = c.newId();
    c.send({ type: 'exec', id, command: 'if read x; then echo input; else echo eof; fi' });
    expect((await c.reply(id, 5000, seen)).header).toMatchObject({ code: 0, signal: null });
    expect(Buffer.concat(seen.map((f) => f.body)).toString()).toBe('eof\n');
  });

  it("the cancel's ok comes before the command's ECANCELED", async () => {
    const c = await alice();
    c.send({ type: 'exec', id: 70, command: 'sleep 5' });
    await sleep(200);
    c.send({ type: 'cancel', id: 71, target: 70 });
    const first = await c.next();
    expect(first.header).toMatchObject({ type: 'ok', id: 71, found: true });
    expect((await c.nextFor(70)).header).toMatchObject({ code: 'ECANCELED', details: { code: null, signal: 'SIGKILL' } });
    expect((await c.request({ type: 'cancel', target: 12345 })).header).toMatchObject({ found: false });
  });

  it('a ninth command of a session is refused with EBUSY; a timeout past 24 h is capped, not refused', async () => {
    const c = await alice();
    const ids = Array.from({ length: 8 }, () => c.newId());
    for (const id of ids) c.send({ type: 'exec', id, command: 'sleep 2' });
    await sleep(300);
    expect((await c.request({ type: 'exec', command: 'true' })).header).toMatchObject({ code: 'EBUSY' });
    for (const id of ids) expect((await c.reply(id)).header.type).toBe('ok');
    expect((await c.request({ type: 'exec', command: 'true', timeout: 1e12 })).header).toMatchObject({ type: 'ok', code: 0 });
  });
});

describe('errors without an id (PROTOCOL.md 2)', () => {
  it('a server shutting down sends ECONN without an id, then closes', async () => {
    const own = await startFerryd({ root: await rootWithUsers([ALICE, CAROL]), plain: true });
    const c = await loggedIn(own.port, ALICE.name, ALICE.password);
    open.push(c);
    const stopped = own.stop();
    const fatal = await c.expectFatal('ECONN');
    expect(fatal.header.id).toBeUndefined();
    await stopped;
  });
});
