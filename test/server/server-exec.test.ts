/**
 * Remote commands over the raw protocol (permission, streaming, exit codes, cancel,
 * disconnect, timeout, environment), the isolation of one user's home from another's
 * (paths, raw NUL bytes, backslashes, symlinks made by exec), and the server log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, isAlive, loggedIn, rawFrame, rootWithUsers, type Frame } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-exec-Pa55word', exec: true };
const BOB: TestUser = { name: 'bob', password: 'bob-exec-Pa55word' };
const SECRET = 'ferry-test-secret-value-4242';

let server: Ferryd;
let alice: RawClient;
let bob: RawClient;

beforeAll(async () => {
  const root = await rootWithUsers([ALICE, BOB]);
  server = await startFerryd({ root, plain: true, env: { FERRY_TEST_SECRET: SECRET } });
  alice = await loggedIn(server.port, ALICE.name, ALICE.password);
  bob = await loggedIn(server.port, BOB.name, BOB.password);
  expect((await bob.put('secret.txt', Buffer.from('bob only'))).header.type).toBe('ok');
  expect((await bob.request({ type: 'mkdir', path: 'dir' })).header.type).toBe('ok');
  expect((await bob.put('dir/inner.txt', Buffer.from('inner'))).header.type).toBe('ok');
  expect((await alice.put('mine.txt', Buffer.from('alice'))).header.type).toBe('ok');
});

afterAll(async () => {
  alice?.destroy();
  bob?.destroy();
  await cleanupAll();
});

/** Run a command; returns the output per stream, the final frame and the frames' arrival times. */
async function exec(c: RawClient, command: string, extra: Record<string, unknown> = {}, timeoutMs = 10_000) {
  const id = c.newId();
  c.send({ type: 'exec', id, command, ...extra });
  const seen: Frame[] = [];
  const final = await c.reply(id, timeoutMs, seen);
  const text = (stream: string): string =>
    Buffer.concat(seen.filter((f) => f.header.stream === stream).map((f) => f.body)).toString();
  return { final, stdout: text('stdout'), stderr: text('stderr'), seen };
}

/** Start `sleep` in the background and report the shell's and sleep's pids. */
const PIDS_COMMAND = 'sleep 30 & echo "$$ $!"; wait';

async function readPids(c: RawClient, id: number): Promise<number[]> {
  const first = await c.nextFor(id, 5000);
  expect(first.header.type).toBe('exec-output');
  const pids = first.body.toString().trim().split(/\s+/).map(Number);
  expect(pids).toHaveLength(2);
  return pids;
}

describe('exec', () => {
  it('a user without exec permission gets EPERM (and the connection stays)', async () => {
    const { final } = await exec(bob, 'echo hi');
    expect(final.header).toMatchObject({ type: 'error', code: 'EPERM' });
    expect((await bob.request({ type: 'pwd' })).header.type).toBe('ok');
  });

  it('streams output as it is produced and reports the exit code', async () => {
    const started = Date.now();
    const id = alice.newId();
    alice.send({ type: 'exec', id, command: 'echo one; sleep 0.6; echo two >&2; exit 3' });
    const first = await alice.nextFor(id);
    const firstAt = Date.now() - started;
    const seen: Frame[] = [first];
    const final = await alice.reply(id, 5000, seen);
    const endAt = Date.now() - started;
    expect(first.header).toMatchObject({ type: 'exec-output', stream: 'stdout' });
    expect(first.body.toString()).toBe('one\n');
    expect(endAt - firstAt).toBeGreaterThan(400);
    expect(seen.some((f) => f.header.stream === 'stderr' && f.body.toString() === 'two\n')).toBe(true);
    expect(final.header).toMatchObject({ type: 'ok', code: 3, signal: null });
  });

  it('a cancel frame kills the whole process group', async () => {
    const id = alice.newId();
    alice.send({ type: 'exec', id, command: PIDS_COMMAND });
    const pids = await readPids(alice, id);
    const cancel = await alice.request({ type: 'cancel', target: id });
    expect(cancel.header).toMatchObject({ type: 'ok', found: true });
    const final = await alice.reply(id);
    expect(final.header).toMatchObject({ type: 'error', code: 'ECANCELED' });
    for (const pid of pids) expect(await eventually(async () => !(await isAlive(pid)), 3000)).toBe(true);
  });

  it('a cancel sent right behind the exec still stops it', async () => {
    const id = alice.newId();
    alice.send({ type: 'exec', id, command: 'sleep 20; echo too late' });
    const cancelId = alice.newId();
    alice.send({ type: 'cancel', id: cancelId, target: id });
    const cancel = await alice.nextFor(cancelId);
    expect(cancel.header).toMatchObject({ type: 'ok', found: true });
    const final = await alice.reply(id, 5000);
    expect(final.header).toMatchObject({ type: 'error', code: 'ECANCELED' });
  });

  it('disconnecting during a command kills it', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    const id = c.newId();
    c.send({ type: 'exec', id, command: PIDS_COMMAND });
    const pids = await readPids(c, id);
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);
    c.destroy();
    for (const pid of pids) expect(await eventually(async () => !(await isAlive(pid)), 3000)).toBe(true);
  });

  it('disconnecting while the command is being set up does not leave it running', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    const marker = `ferry-orphan-${process.pid}-${Date.now()}`;
    // The request and the close arrive together: the close is seen while the command is
    // still being set up (its folder resolved), before any process exists to kill.
    c.socket.end(rawFrame(JSON.stringify({ type: 'exec', id: c.newId(), command: `sleep 30; : ${marker}` })));
    // Give a late start the time to happen, then look for the command.
    await new Promise((r) => setTimeout(r, 500));
    const running = await eventually(async () => {
      const procs = await readdir('/proc');
      for (const p of procs) {
        if (!/^\d+$/.test(p)) continue;
        const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes(marker)) return false;
      }
      return true;
    }, 3000);
    expect(running).toBe(true);
  });

  it('a command past its timeout ends with ETIMEDOUT', async () => {
    const started = Date.now();
    const { final } = await exec(alice, 'sleep 20', { timeout: 300 });
    expect(final.header.code).toBe('ETIMEDOUT');
    expect((final.header.details as { signal: string | null }).signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("the command's environment holds none of the server's", async () => {
    const { final, stdout } = await exec(alice, 'env');
    expect(final.header).toMatchObject({ type: 'ok', code: 0 });
    expect(stdout).toMatch(/^USER=alice$/m);
    expect(stdout).toMatch(/^HOME=/m);
    expect(stdout).not.toContain('FERRY_TEST_SECRET');
    expect(stdout).not.toContain(SECRET);
    expect(stdout).not.toContain('FERRY_PASSWORD');
  });

  it('runs in the home and cannot reach it through the protocol as another user', async () => {
    const { stdout } = await exec(alice, 'pwd; ls');
    expect(stdout).toMatch(/mine\.txt/);
    expect(stdout).not.toMatch(/secret\.txt/);
  });
});

describe('isolation between users', () => {
  const code = async (c: RawClient, header: Record<string, unknown>, body?: Buffer): Promise<unknown> => {
    const reply = await c.request(header as { type: string }, body);
    return reply.header.type === 'ok' ? 'ok' : reply.header.code;
  };

  it('paths that climb out, absolute paths, backslashes and NUL bytes are refused or stay inside', async () => {
    const escapes = ['../bob', '../bob/secret.txt', '/../bob/secret.txt', 'dir/../../bob', '../../../../etc/passwd', '..', '/..'];
    for (const p of escapes) {
      expect(await code(alice, { type: 'list', path: p }), `list ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'stat', path: p }), `stat ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'get', path: p }), `get ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'cd', path: p }), `cd ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'upload-info', path: p }), `upload-info ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'delete', path: p, recursive: true }), `delete ${p}`).toBe('EACCES');
    }
    expect((await alice.put('../bob/evil.txt', Buffer.from('x'))).header.code).toBe('EACCES');
    expect(await code(alice, { type: 'mkdir', path: '../bob/made', parents: true })).toBe('EACCES');
    expect(await code(alice, { type: 'rename', from: 'mine.txt', to: '../bob/mine.txt' })).toBe('EACCES');
    expect(await code(alice, { type: 'rename', from: '../bob/secret.txt', to: 'stolen.txt' })).toBe('EACCES');
    // Absolute paths are inside the home, like a chroot: /etc is the home's etc.
    expect(await code(alice, { type: 'list', path: '/etc' })).toBe('ENOENT');
    expect(await code(alice, { type: 'get', path: '/etc/passwd' })).toBe('ENOENT');
    // Backslashes and NUL bytes (JSON-escaped, so the server sees the real bytes).
    for (const p of ['..\\bob\\secret.txt', 'dir\\..\\..\\bob', 'mine.txt\u0000.jpg', '\u0000', '../bob\u0000']) {
      expect(await code(alice, { type: 'stat', path: p }), JSON.stringify(p)).toBe('EACCES');
      expect((await alice.put(p, Buffer.from('x'))).header.code, JSON.stringify(p)).toBe('EACCES');
    }
    // Percent-encoding is never decoded: it is just a name.
    expect(await code(alice, { type: 'stat', path: '%2e%2e/bob' })).toBe('ENOENT');
  });

  it('a raw NUL byte inside the JSON header is a protocol error', async () => {
    const c = await loggedIn(server.port, ALICE.name, ALICE.password);
    c.write(rawFrame(Buffer.concat([Buffer.from('{"type":"stat","id":9,"path":"../bob'), Buffer.from([0]), Buffer.from('"}')])));
    await c.expectFatal('EPROTO');
  });

  it('symlinks made by exec do not lead out of the home', async () => {
    const made = await exec(alice, 'ln -s ../bob x && ln -s /etc y && ln -s ../bob/secret.txt w && ln -s ../bob/planted z && ln -s /etc/passwd p');
    expect(made.final.header).toMatchObject({ type: 'ok', code: 0 });
    // The listing shows them as links without following them.
    const list = await alice.request({ type: 'list', path: '/' });
    const entries = JSON.parse(list.body.toString()) as Array<{ name: string; type: string }>;
    expect(entries.filter((e) => ['x', 'y', 'w', 'z', 'p'].includes(e.name)).map((e) => e.type)).toEqual(Array(5).fill('symlink'));

    for (const p of ['x', 'x/secret.txt', 'x/dir', 'y', 'y/passwd', 'w', 'p']) {
      expect(await code(alice, { type: 'list', path: p }), `list ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'stat', path: p }), `stat ${p}`).toBe('EACCES');
      expect(await code(alice, { type: 'cd', path: p }), `cd ${p}`).toBe('EACCES');
    }
    for (const p of ['x/secret.txt', 'y/passwd', 'w', 'p', 'x/dir/inner.txt']) {
      expect(await code(alice, { type: 'get', path: p }), `get ${p}`).toBe('EACCES');
    }
    // Creating anything under a linked folder.
    expect((await alice.put('x/planted.txt', Buffer.from('x'))).header.code).toBe('EACCES');
    expect((await alice.put('y/planted.txt', Buffer.from('x'))).header.code).toBe('EACCES');
    expect(await code(alice, { type: 'mkdir', path: 'x/newdir' })).toBe('EACCES');
    expect(await code(alice, { type: 'mkdir', path: 'x/a/b', parents: true })).toBe('EACCES');
    expect(await code(alice, { type: 'rename', from: 'mine.txt', to: 'x/mine.txt' })).toBe('EACCES');
    expect(await code(alice, { type: 'rename', from: 'x/secret.txt', to: 'got.txt' })).toBe('EACCES');
    expect(await code(alice, { type: 'delete', path: 'x/secret.txt' })).toBe('EACCES');
    expect(await code(alice, { type: 'delete', path: 'x/dir', recursive: true })).toBe('EACCES');
    expect(await code(alice, { type: 'upload-info', path: 'x/secret.txt' })).toBe('EACCES');
    // Writing to a dangling link replaces the link in alice's home; nothing lands in bob's.
    await alice.put('z', Buffer.from('replaces the link'));
    // Deleting a link removes the link, never its target.
    expect(await code(alice, { type: 'delete', path: 'w' })).toBe('ok');
    expect(await code(alice, { type: 'delete', path: 'x', recursive: true })).toBe('ok');

    // Bob's files are untouched.
    const bobList = await bob.request({ type: 'list', path: '/' });
    const bobNames = (JSON.parse(bobList.body.toString()) as Array<{ name: string }>).map((e) => e.name).sort();
    expect(bobNames).toEqual(['dir', 'secret.txt']);
    const got: Frame[] = [];
    const final = await bob.reply(((id) => (bob.send({ type: 'get', id, path: 'secret.txt' }), id))(bob.newId()), 5000, got);
    expect(final.header.type).toBe('ok');
    expect(Buffer.concat(got.map((f) => f.body)).toString()).toBe('bob only');
    expect(await readFile(path.join(server.root, 'homes', 'bob', 'dir', 'inner.txt'), 'utf8')).toBe('inner');
  });
});

describe('the server log', () => {
  it('a user name cannot forge log lines', async () => {
    const c = await RawClient.connect(server.port);
    await c.badLogin('evil\n2000-01-01T00:00:00.000Z auth 10.0.0.1:1 user=3Droot ok');
    c.destroy();
    await eventually(() => /user=evil/.test(server.log()), 2000);
    expect(server.log()).not.toMatch(/^2000-01-01T00:00:00\.000Z/m);
  });

  it('has a line for each connection, login, transfer and command, and never a password', async () => {
    const wrong = await RawClient.connect(server.port);
    await wrong.login(BOB.name, 'bob-wrong-guess-Pa55word');
    wrong.destroy();
    const got = await alice.request({ type: 'get', path: 'mine.txt' });
    expect(got.header, server.log()).toMatchObject({ type: 'ok' });
    const wanted = [
      / auth \S+ user=alice ok/,
      / auth \S+ user=bob failed/,
      / put user=bob \d+ bytes ok/,
      / put user=alice refused EACCES/,
      / get user=alice \d+ bytes ok/,
      / exec user=alice pid=\d+ exit code=3/,
      / exec user=alice pid=\d+ cancelled/,
      / exec user=alice pid=\d+ timeout/,
      / exec user=bob refused EPERM/,
      / conn \S+ closed user=alice/,
    ];
    // The log arrives through a pipe: give the last lines a moment.
    await eventually(() => wanted.every((re) => re.test(server.log())), 3000);
    const log = server.log();
    for (const re of wanted) expect(log).toMatch(re);
    const lines = log.split('\n').filter(Boolean);
    const opened = lines.filter((l) => / conn \S+ open$/.test(l)).length;
    const closed = lines.filter((l) => / conn \S+ closed/.test(l)).length;
    expect(opened).toBeGreaterThan(5);
    expect(closed).toBeGreaterThan(3);
    expect(closed).toBeLessThanOrEqual(opened);
    // Every line is one event with a timestamp.
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \S/);
    for (const secret of [ALICE.password, BOB.password, 'bob-wrong-guess-Pa55word', SECRET]) expect(log).not.toContain(secret);
  });
});
