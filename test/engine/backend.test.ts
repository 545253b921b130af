/**
 * The UI contract's engine side (engine/app/backend.ts) against a real ferryd: every
 * call goes through backend.call() with untyped arguments, exactly as IPC and the web host
 * deliver them, and every event is recorded as the renderer would receive it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { callBackend, createBackend, type Backend, type BackendOptions, type SecretStore } from '../../engine/app/backend.js';
import { ConsoleHistory } from '../../engine/app/console/console-history.js';
import { parseConsoleCommand } from '../../engine/app/console/console-command.js';
import type { CallName, ConnectResult, Events, EventName, Result, TransfersSnapshot } from '../../shared/common/contract.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { exists, makeTree, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase', exec: true };
const bob: TestUser = { name: 'bob', password: 'bob pass phrase' };
const FP_OTHER = 'SHA256:' + 'A'.repeat(43);

let server: Ferryd;
let aliceHome: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice, bob] });
  aliceHome = path.join(server.root, 'homes', alice.name);
});
afterAll(cleanupAll);

interface Recorded {
  readonly name: EventName;
  readonly payload: unknown;
  readonly at: number;
}

/** A backend as one UI client sees it: untyped calls in, recorded events out. */
class Client {
  readonly events: Recorded[] = [];
  readonly hostPort: string;

  constructor(
    readonly backend: Backend,
    readonly options: BackendOptions,
    readonly port = server.port,
  ) {
    this.hostPort = `127.0.0.1:${port}`;
    backend.on((name, payload) => this.events.push({ name, payload, at: Date.now() }));
  }

  static async create(extra: Partial<BackendOptions> = {}, port?: number): Promise<Client> {
    const options: BackendOptions = {
      configDir: await tempDir('ferry-config-'),
      downloadDir: await tempDir('ferry-downloads-'),
      reconnectDelaysMs: [100],
      fsChangedDelayMs: 50,
      ...extra,
    };
    const backend = createBackend(options);
    onCleanup(() => backend.dispose());
    return new Client(backend, options, port);
  }

  call(name: string, ...args: unknown[]): Promise<Result<unknown>> {
    return this.backend.call(name, args);
  }

  async ok(name: CallName, ...args: unknown[]): Promise<unknown> {
    const result = await this.backend.call(name, args);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code} ${result.error.message}`);
    return result.value;
  }

  async error(name: string, ...args: unknown[]): Promise<{ code: string; message: string }> {
    const result = await this.backend.call(name, args);
    expect(result.ok, `${name} should have failed`).toBe(false);
    return (result as { error: { code: string; message: string } }).error;
  }

  connectInput(user: TestUser, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { host: '127.0.0.1', port: this.port, user: user.name, password: user.password, ...extra };
  }

  /** Connect, confirming a new host key the way the UI does. */
  async connect(user: TestUser, extra: Record<string, unknown> = {}): Promise<ConnectResult> {
    let result = (await this.ok('session:connect', this.connectInput(user, extra))) as ConnectResult;
    if (result.kind === 'hostkey-new') {
      await this.ok('hosts:trust', result.hostPort, result.fingerprint);
      result = (await this.ok('session:connect', this.connectInput(user, extra))) as ConnectResult;
    }
    expect(result.kind).toBe('connected');
    return result;
  }

  of<E extends EventName>(name: E, since = 0): Array<Events[E]> {
    return this.events.slice(since).flatMap((e) => (e.name === name ? [e.payload as Events[E]] : []));
  }

  waitEvent<E extends EventName>(name: E, match: (p: Events[E]) => boolean = () => true, since = 0, timeoutMs = 20_000): Promise<Events[E]> {
    return waitFor(() => this.of(name, since).find(match), timeoutMs, `event ${name}`);
  }

  /** The latest view of every transfer, folded from transfers:event as a UI would. */
  transfers(): Map<string, TransferView> {
    const views = new Map<string, TransferView>();
    for (const ev of this.of('transfers:event')) {
      if (ev.kind === 'removed') for (const id of ev.ids) views.delete(id);
      else for (const t of ev.transfers) views.set(t.id, t);
    }
    return views;
  }

  async waitTransfers(ids: readonly string[], states = ['done', 'skipped', 'failed', 'cancelled']): Promise<TransferView[]> {
    return waitFor(() => {
      const views = this.transfers();
      const list = ids.map((id) => views.get(id));
      return list.every((v) => v !== undefined && states.includes(v.state)) ? (list as TransferView[]) : undefined;
    }, 30_000, 'transfers to finish');
  }

  async run(command: string): Promise<{ exit: Events['exec:exit']; stdout: string; stderr: string }> {
    const execId = (await this.ok('exec:run', command)) as string;
    const exit = await this.waitEvent('exec:exit', (e) => e.execId === execId);
    const out = this.of('exec:output').filter((o) => o.execId === execId);
    return {
      exit,
      stdout: out.filter((o) => o.stream === 'stdout').map((o) => o.data).join(''),
      stderr: out.filter((o) => o.stream === 'stderr').map((o) => o.data).join(''),
    };
  }
}

/** Not encryption, but enough to prove the backend stores only what the store produced. */
const xorStore: SecretStore = {
  available: true,
  encrypt: (text) => Buffer.from(Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)),
  decrypt: (data) => Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8'),
};

function countLogins(user: string): number {
  return server.log().split('\n').filter((l) => l.includes(`user=${user} ok`)).length;
}

describe('calls are validated and answered as Results', () => {
  it('refuses unknown calls and bad arguments with error Results, never a throw', async () => {
    const c = await Client.create();
    expect(await c.error('nope:nothing')).toMatchObject({ code: 'EPROTO', message: expect.stringContaining('nope:nothing') });
    expect(await c.error('__proto__')).toMatchObject({ code: 'EPROTO' });
    expect(await c.error('session:connect', { host: '127.0.0.1', port: 'x', user: 'a' })).toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('port'),
    });
    expect((await c.backend.call('fs:list', 'not an array')).ok).toBe(false);
    expect((await c.backend.call('fs:list', null)).ok).toBe(false);
    expect(await c.error('fs:list', '')).toMatchObject({ code: 'EINVAL' });
    expect(await c.error('fs:delete', [])).toMatchObject({ code: 'EINVAL' });
    expect(await c.error('transfers:resolveConflict', 'c1', 'explode', false)).toMatchObject({ code: 'EINVAL' });
    expect(await c.error('fs:list', '/')).toMatchObject({ code: 'ECONN', message: expect.stringMatching(/not connected/i) });
    expect(await c.ok('session:state')).toEqual({ state: 'disconnected' });
    expect(await c.ok('transfers:list')).toEqual({ transfers: [], totals: expect.objectContaining({ count: 0, bytes: 0, size: 0 }) });
  });
});

describe('session:connect', () => {
  it('stops at a new host key without logging in, then connects once it is trusted', async () => {
    const c = await Client.create();
    const logins = countLogins('bob');
    const first = (await c.ok('session:connect', c.connectInput(bob))) as ConnectResult;
    expect(first).toEqual({ kind: 'hostkey-new', hostPort: c.hostPort, fingerprint: server.fingerprint });
    expect(countLogins('bob')).toBe(logins);
    expect(await c.ok('session:state')).toEqual({ state: 'disconnected' });

    await c.ok('hosts:trust', c.hostPort, server.fingerprint);
    expect(await readFile(path.join(c.options.configDir, 'known_hosts'), 'utf8')).toBe(`${c.hostPort} ${server.fingerprint}\n`);
    const second = (await c.ok('session:connect', c.connectInput(bob))) as ConnectResult;
    expect(second).toMatchObject({
      kind: 'connected',
      session: {
        protocol: 'ferry',
        host: '127.0.0.1',
        port: server.port,
        user: { name: 'bob', exec: false },
        cwd: '/',
        home: '/',
        fingerprint: server.fingerprint,
        profileId: null,
        quota: true,
        check: 'xxh128',
      },
    });
    expect(c.of('session:state').map((s) => s.state)).toEqual(['connecting', 'disconnected', 'connecting', 'connected']);
    expect(await c.ok('session:state')).toMatchObject({ state: 'connected' });
    // SHA-256 asked for in Settings: the session says so at once, and back.
    await c.ok('settings:set', { checkSha256: true });
    expect(await c.ok('session:state')).toMatchObject({ state: 'connected', session: { check: 'sha256' } });
    await c.ok('settings:set', { checkSha256: false });
    expect(await c.ok('session:state')).toMatchObject({ state: 'connected', session: { check: 'xxh128' } });
    await c.ok('session:disconnect');
    expect(await c.ok('session:state')).toEqual({ state: 'disconnected' });
    expect(await c.error('fs:list', '/')).toMatchObject({ code: 'ECONN' });
  });

  it('reports a changed host key and does not log in', async () => {
    const c = await Client.create();
    await c.ok('hosts:trust', c.hostPort, FP_OTHER);
    const logins = countLogins('bob');
    const result = await c.ok('session:connect', c.connectInput(bob));
    expect(result).toEqual({ kind: 'hostkey-changed', hostPort: c.hostPort, fingerprint: server.fingerprint, expected: FP_OTHER });
    expect(countLogins('bob')).toBe(logins);
    // The person accepts the change: trust replaces the old key.
    await c.ok('hosts:trust', c.hostPort, server.fingerprint);
    expect(await c.ok('session:connect', c.connectInput(bob))).toMatchObject({ kind: 'connected' });
    expect(await c.ok('hosts:forget', c.hostPort)).toBe(true);
    expect(await c.ok('hosts:forget', c.hostPort)).toBe(false);
  });

  it('answers a wrong password with EAUTH', async () => {
    const c = await Client.create();
    await c.ok('hosts:trust', c.hostPort, server.fingerprint);
    const error = await c.error('session:connect', c.connectInput(alice, { password: 'wrong password' }));
    expect(error.code).toBe('EAUTH');
    expect(c.of('session:state').at(-1)).toMatchObject({ state: 'disconnected', error: { code: 'EAUTH' } });
    expect(await c.error('session:connect', c.connectInput(alice, { password: undefined }))).toMatchObject({
      code: 'EAUTH',
      message: expect.stringContaining('password'),
    });
  });

  it('answers an unreachable server with ECONN and a peer that is not ferryd with EPROTO', async () => {
    const c = await Client.create();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await c.error('session:connect', { host: '127.0.0.1', port: deadPort, user: 'alice', password: 'x' })).toMatchObject({
      code: 'ECONN',
      message: expect.stringContaining(String(deadPort)),
    });

    // Something else entirely (a web server) on the port: it answers in its own protocol.
    const http = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.resume();
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => http.close(() => r())));
    const httpPort = (http.address() as net.AddressInfo).port;
    for (const plain of [true, false]) {
      const wrong = await c.error('session:connect', { host: '127.0.0.1', port: httpPort, user: 'alice', password: 'x', plain });
      expect(wrong).toMatchObject({ code: 'EPROTO', message: expect.stringContaining('did not answer like a Ferry server') });
    }
    // A ferryd with --plain, reached over TLS, and the reverse.
    const plainServer = await startFerryd({ users: [bob], plain: true });
    expect(await c.error('session:connect', { ...c.connectInput(bob), port: plainServer.port })).toMatchObject({ code: 'EPROTO' });
    expect(await c.error('session:connect', { ...c.connectInput(bob), plain: true })).toMatchObject({ code: 'EPROTO' });
    expect(await c.ok('session:connect', { ...c.connectInput(bob), port: plainServer.port, plain: true })).toMatchObject({
      kind: 'connected',
      session: { fingerprint: null },
    });
  });
});

describe('files', () => {
  let c: Client;
  beforeAll(async () => {
    c = await Client.create();
    await c.connect(alice);
  });

  it('lists, creates, renames and deletes, and says which folders changed', async () => {
    const since = c.events.length;
    expect(await c.ok('fs:mkdir', '/fs-test')).toBe('/fs-test');
    // Reported before the answer, so the UI lists the folder once, when the notice comes.
    expect(c.of('fs:changed', since)).toEqual([{ paths: ['/'] }]);
    expect(await c.ok('fs:mkdir', '/fs-test/inner')).toBe('/fs-test/inner');
    expect(c.of('fs:changed', since)).toEqual([{ paths: ['/'] }, { paths: ['/fs-test'] }]);
    await writeFile(path.join(aliceHome, 'fs-test', 'a.txt'), 'hello');
    const listing = (await c.ok('fs:list', '/fs-test')) as { path: string; entries: Array<{ name: string; type: string; size: number }> };
    expect(listing.path).toBe('/fs-test');
    expect(listing.entries.map((e) => [e.name, e.type]).sort()).toEqual([
      ['a.txt', 'file'],
      ['inner', 'dir'],
    ]);
    expect(await c.ok('fs:stat', '/fs-test/a.txt')).toMatchObject({ name: 'a.txt', type: 'file', size: 5 });

    const beforeRename = c.events.length;
    expect(await c.ok('fs:rename', '/fs-test/a.txt', '/fs-test/inner/b.txt')).toBe('/fs-test/inner/b.txt');
    const renamed = c.of('fs:changed', beforeRename);
    expect(renamed).toHaveLength(1);
    expect([...renamed[0]!.paths].sort()).toEqual(['/fs-test', '/fs-test/inner']);
    expect(await readFile(path.join(aliceHome, 'fs-test', 'inner', 'b.txt'), 'utf8')).toBe('hello');

    // Relative paths are relative to the session's folder.
    expect(await c.ok('fs:cd', 'fs-test')).toBe('/fs-test');
    expect(c.of('session:state').at(-1)).toMatchObject({ state: 'connected', session: { cwd: '/fs-test' } });
    expect(await c.ok('fs:mkdir', 'made-here')).toBe('/fs-test/made-here');

    const beforeDelete = c.events.length;
    await c.ok('fs:delete', ['/fs-test/inner', 'made-here']);
    expect(await exists(path.join(aliceHome, 'fs-test', 'inner'))).toBe(false);
    // One notice for the whole delete, before its answer.
    expect(c.of('fs:changed', beforeDelete)).toEqual([{ paths: ['/fs-test'] }]);
    expect(await c.error('fs:delete', ['/fs-test/missing'])).toMatchObject({ code: 'ENOENT' });
    expect(await c.error('fs:stat', '/../../etc/passwd')).toMatchObject({ code: expect.stringMatching(/ENOENT|EACCES/) });
    expect(await c.ok('fs:df')).toMatchObject({ quota: null, used: expect.any(Number), free: expect.any(Number) });
    await c.ok('fs:cd', '/');
  });
});

describe('transfers', () => {
  let c: Client;
  let local: string;
  beforeAll(async () => {
    c = await Client.create();
    await c.connect(alice);
    local = await tempDir('ferry-local-');
    await makeTree(path.join(local, 'tree'));
    await writeFile(path.join(local, 'single.txt'), 'one file');
  });

  it('uploads paths, batches progress, reports the changed folders, and downloads them back', async () => {
    await c.ok('fs:mkdir', '/up');
    const since = c.events.length;
    const started = Date.now();
    const added = (await c.ok('transfers:uploadPaths', [path.join(local, 'tree'), path.join(local, 'single.txt')], '/up')) as TransferView[];
    expect(added).toHaveLength(7);
    expect(added.every((t) => t.direction === 'upload' && t.state === 'queued')).toBe(true);
    const done = await c.waitTransfers(added.map((t) => t.id));
    const elapsed = Date.now() - started;
    expect(done.map((t) => t.state)).toEqual(Array(7).fill('done'));
    expect(done.every((t) => t.verified && t.check === 'xxh128')).toBe(true);
    expect(await treeDigest(path.join(aliceHome, 'up', 'tree'))).toEqual(await treeDigest(path.join(local, 'tree')));
    // Progress is batched: one event per interval for the whole queue, never one per chunk or file.
    const events = c.of('transfers:event', since);
    expect(events[0]).toMatchObject({ kind: 'added' });
    const updates = events.filter((e) => e.kind === 'updated');
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);
    expect(updates.some((e) => e.kind === 'updated' && e.transfers.length > 1)).toBe(true);
    // The notices are batched, so the folders may be spread over a few of them.
    const expected = ['/up', '/up/tree', '/up/tree/sub', '/up/tree/sub/deeper', '/up/tree/sub/deeper/deepest'];
    const allChanged = () => new Set(c.of('fs:changed', since).flatMap((e) => e.paths));
    await waitFor(() => expected.every((p) => allChanged().has(p)) || undefined, 20_000, `fs:changed for ${expected.join(', ')}`).catch(() => undefined);
    expect([...allChanged()]).toEqual(expect.arrayContaining(expected));
    expect(c.of('fs:changed', since).length).toBeLessThan(7);

    const downloads = (await c.ok('transfers:download', ['/up/tree', '/up/single.txt'])) as TransferView[];
    expect(downloads).toHaveLength(7);
    const got = await c.waitTransfers(downloads.map((t) => t.id));
    expect(got.map((t) => t.state)).toEqual(Array(7).fill('done'));
    expect(got.every((t) => t.check === 'xxh128')).toBe(true);
    const downloadDir = c.options.downloadDir!;
    expect(await readFile(path.join(downloadDir, 'single.txt'), 'utf8')).toBe('one file');
    expect(await treeDigest(path.join(downloadDir, 'tree'))).toEqual(await treeDigest(path.join(aliceHome, 'up', 'tree')));

    // Finished downloads (and only they) can be dragged out of the window as local files.
    const downloaded = await c.backend.downloadedFiles([...downloads.map((t) => t.id), added[0]!.id, 'tnothere', '../../etc/passwd']);
    expect(downloaded.sort()).toEqual(got.map((t) => t.localPath).sort());
    const kept = await readFile(got[0]!.localPath);
    await rm(got[0]!.localPath);
    expect(await c.backend.downloadedFiles([got[0]!.id])).toEqual([]);
    await writeFile(got[0]!.localPath, kept);

    expect((await c.ok('transfers:list')) as TransfersSnapshot).toMatchObject({ transfers: expect.any(Array), totals: { count: 14, done: 14 } });

    // With SHA-256 asked for in Settings, the next transfers are checked with it.
    await c.ok('settings:set', { checkSha256: true });
    try {
      const [sha] = (await c.ok('transfers:uploadPaths', [path.join(local, 'single.txt')], '/up-sha256')) as TransferView[];
      expect((await c.waitTransfers([sha!.id]))[0]).toMatchObject({ state: 'done', verified: true, check: 'sha256' });
      const listing = (await c.ok('fs:list', '/up-sha256')) as { entries: Array<{ name: string; sha256?: string }> };
      expect(listing.entries.find((e) => e.name === 'single.txt')).toHaveProperty('sha256');
    } finally {
      await c.ok('settings:set', { checkSha256: false });
    }
    expect(((await c.ok('transfers:list')) as TransfersSnapshot).transfers.length).toBe(15);
    const beforeClear = c.events.length;
    await c.ok('transfers:clear');
    expect(await c.ok('transfers:list')).toEqual({ transfers: [], totals: expect.objectContaining({ count: 0 }) });
    expect(c.of('transfers:event', beforeClear)).toEqual([{ kind: 'removed', ids: expect.any(Array), totals: expect.objectContaining({ count: 0 }) }]);
    expect(await c.error('transfers:pause', 'tnothere')).toMatchObject({ code: 'ENOENT' });
  });

  it('asks about an existing file and follows the answer', async () => {
    await c.ok('fs:mkdir', '/conflict');
    const file = path.join(local, 'clash.txt');
    await writeFile(file, 'first');
    const [first] = (await c.ok('transfers:uploadPaths', [file], '/conflict')) as TransferView[];
    await c.waitTransfers([first!.id]);

    await writeFile(file, 'second version');
    const since = c.events.length;
    const [again] = (await c.ok('transfers:uploadPaths', [file], '/conflict')) as TransferView[];
    const prompt = await c.waitEvent('transfers:conflict', () => true, since);
    expect(prompt).toMatchObject({ conflictId: expect.any(String), transfer: { id: again!.id }, existing: { size: 5 } });
    expect(await c.error('transfers:resolveConflict', 'cnope', 'skip', false)).toMatchObject({ code: 'ENOENT' });
    await c.ok('transfers:resolveConflict', prompt.conflictId, 'skip', false);
    expect((await c.waitTransfers([again!.id]))[0]!.state).toBe('skipped');
    expect(await readFile(path.join(aliceHome, 'conflict', 'clash.txt'), 'utf8')).toBe('first');

    const since2 = c.events.length;
    const [third] = (await c.ok('transfers:uploadPaths', [file], '/conflict')) as TransferView[];
    const prompt2 = await c.waitEvent('transfers:conflict', () => true, since2);
    await c.ok('transfers:resolveConflict', prompt2.conflictId, 'overwrite', false);
    expect((await c.waitTransfers([third!.id]))[0]!.state).toBe('done');
    expect(await readFile(path.join(aliceHome, 'conflict', 'clash.txt'), 'utf8')).toBe('second version');
  });

  it('ends quickly when disconnected while a question is open, and cancels that transfer', async () => {
    const d = await Client.create();
    await d.connect(alice);
    const file = path.join(local, 'asked.txt');
    await writeFile(file, 'v1');
    const [first] = (await d.ok('transfers:uploadPaths', [file], '/asked')) as TransferView[];
    await d.waitTransfers([first!.id]);
    const since = d.events.length;
    const [again] = (await d.ok('transfers:uploadPaths', [file], '/asked')) as TransferView[];
    const prompt = await d.waitEvent('transfers:conflict', () => true, since);
    const started = Date.now();
    await d.ok('session:disconnect');
    expect(Date.now() - started).toBeLessThan(2000);
    // The question is withdrawn (the window closes its dialog), the transfer is cancelled, not skipped.
    expect(await d.waitEvent('transfers:conflictWithdrawn', (e) => e.conflictId === prompt.conflictId, since)).toBeTruthy();
    expect(((await d.ok('transfers:list')) as TransfersSnapshot).transfers.find((t) => t.id === again!.id)?.state).toBe('cancelled');
    expect(await d.error('transfers:resolveConflict', prompt.conflictId, 'overwrite', false)).toMatchObject({ code: 'ENOENT' });
    expect(await readFile(path.join(aliceHome, 'asked', 'asked.txt'), 'utf8')).toBe('v1');
  });

  it('refuses bad local paths with a clear error', async () => {
    expect(await c.error('transfers:uploadPaths', [path.join(local, 'missing')], '/')).toMatchObject({ code: 'ENOENT' });
    expect(await c.error('transfers:download', ['/no/such/file'])).toMatchObject({ code: 'ENOENT' });
  });
});

describe('console', () => {
  let c: Client;
  beforeAll(async () => {
    c = await Client.create();
    await c.connect(alice);
  });

  it('streams output, decodes UTF-8 split across chunks, and reports the exit code', async () => {
    const { exit, stdout, stderr } = await c.run(`printf 'h\\303'; sleep 0.3; printf '\\251llo\\n'; echo oops >&2; exit 3`);
    expect(stdout).toBe('héllo\n');
    expect(stderr).toBe('oops\n');
    expect(exit).toEqual({ execId: expect.any(String), code: 3, signal: null, cwd: '/' });
  });

  it('cancels a running command', async () => {
    const since = c.events.length;
    const execId = (await c.ok('exec:run', 'echo started; sleep 30')) as string;
    await c.waitEvent('exec:output', (o) => o.execId === execId && o.data.includes('started'), since);
    const started = Date.now();
    await c.ok('exec:cancel', execId);
    const exit = await c.waitEvent('exec:exit', (e) => e.execId === execId, since);
    expect(exit.error?.code).toBe('ECANCELED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await c.error('exec:cancel', execId)).toMatchObject({ code: 'ENOENT' });
  });

  it('moves the session with a leading cd, and runs what follows in the new folder', async () => {
    await mkdir(path.join(aliceHome, 'docs', 'sub dir'), { recursive: true });
    await writeFile(path.join(aliceHome, 'docs', 'sub dir', 'note.txt'), 'n');
    let r = await c.run('cd docs');
    expect(r.exit).toMatchObject({ code: 0, cwd: '/docs' });
    expect(r.exit.error).toBeUndefined();
    expect(c.of('session:state').at(-1)).toMatchObject({ session: { cwd: '/docs' } });
    r = await c.run(`cd 'sub dir' && ls`);
    expect(r.exit).toMatchObject({ code: 0, cwd: '/docs/sub dir' });
    expect(r.stdout).toBe('note.txt\n');
    r = await c.run('cd ..');
    expect(r.exit).toMatchObject({ code: 0, cwd: '/docs' });
    r = await c.run('cd -');
    expect(r.exit).toMatchObject({ code: 0, cwd: '/docs/sub dir' });
    r = await c.run('cd');
    expect(r.exit).toMatchObject({ code: 0, cwd: '/' });
    r = await c.run('cd /docs; pwd');
    expect(r.exit.cwd).toBe('/docs');
    expect(r.stdout.trim().endsWith(path.join('homes', 'alice', 'docs'))).toBe(true);
    r = await c.run('cd nowhere && echo should-not-run');
    expect(r.exit).toMatchObject({ code: 1, cwd: '/docs' });
    expect(r.stderr).toMatch(/^cd: nowhere: /);
    expect(r.stdout).toBe('');
    r = await c.run('cd $HOME');
    expect(r.exit.code).toBe(1);
    expect(r.stderr).toMatch(/plain path/);
    r = await c.run('cd /');
    expect(r.exit.cwd).toBe('/');
  });

  it('reports EPERM for an account without commands', async () => {
    const b = await Client.create();
    await b.connect(bob);
    const { exit } = await b.run('echo hi');
    expect(exit.error?.code).toBe('EPERM');
    expect(exit.code).toBeNull();
  });

  it('keeps a history per connection, without consecutive repeats, across restarts', async () => {
    await c.ok('history:add', 'ls');
    await c.ok('history:add', 'ls');
    await c.ok('history:add', 'du -sh .');
    await c.ok('history:add', 'ls');
    expect(await c.ok('history:get')).toEqual(['ls', 'du -sh .', 'ls']);
    const again = new Client(createBackend(c.options), c.options);
    onCleanup(() => again.backend.dispose());
    await again.connect(alice);
    expect(await again.ok('history:get')).toEqual(['ls', 'du -sh .', 'ls']);
    const asBob = new Client(createBackend(c.options), c.options);
    onCleanup(() => asBob.backend.dispose());
    await asBob.connect(bob);
    expect(await asBob.ok('history:get')).toEqual([]);
  });

  it('caps the history', async () => {
    const history = new ConsoleHistory(await tempDir('ferry-history-'), undefined, 3);
    for (const cmd of ['a', 'b', 'c', 'd', 'd']) await history.add('k', cmd);
    expect(await history.get('k')).toEqual(['b', 'c', 'd']);
    expect(await history.get('other')).toEqual([]);
  });

  it('parses leading cds the way a shell would', () => {
    expect(parseConsoleCommand('ls -l')).toEqual({ kind: 'remote', command: 'ls -l' });
    expect(parseConsoleCommand('cdx')).toEqual({ kind: 'remote', command: 'cdx' });
    expect(parseConsoleCommand('cd')).toEqual({ kind: 'cd', target: '/', rest: undefined });
    expect(parseConsoleCommand(' cd ~/a ')).toEqual({ kind: 'cd', target: '/a', rest: undefined });
    expect(parseConsoleCommand('cd "a b" && make -j4 && echo "x;y"')).toEqual({
      kind: 'cd',
      target: 'a b',
      rest: { command: 'make -j4 && echo "x;y"', when: 'ok' },
    });
    expect(parseConsoleCommand("cd 'a;b'; ls")).toEqual({ kind: 'cd', target: 'a;b', rest: { command: 'ls', when: 'always' } });
    expect(parseConsoleCommand('cd x | cat')).toEqual({ kind: 'remote', command: 'cd x | cat' });
    expect(parseConsoleCommand('cd a b')).toMatchObject({ kind: 'unsupported' });
    expect(parseConsoleCommand('cd *')).toMatchObject({ kind: 'unsupported' });
    expect(parseConsoleCommand('cd "unbalanced')).toMatchObject({ kind: 'unsupported' });
  });
});

describe('settings and profiles', () => {
  it('keeps settings in the config folder', async () => {
    const c = await Client.create();
    expect(await c.ok('settings:get')).toEqual({ downloadDir: c.options.downloadDir, concurrency: 4, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false });
    const elsewhere = await tempDir('ferry-dl-');
    expect(await c.ok('settings:set', { concurrency: 2, downloadDir: elsewhere })).toEqual({ downloadDir: elsewhere, concurrency: 2, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false });
    expect(await c.ok('settings:set', { language: 'zh-CN' })).toEqual({ downloadDir: elsewhere, concurrency: 2, language: 'zh-CN', uploadLimit: 0, downloadLimit: 0, checkSha256: false });
    expect(await c.error('settings:set', { downloadDir: 'relative/dir' })).toMatchObject({ code: 'EINVAL' });
    expect(await c.error('settings:set', { concurrency: 99 })).toMatchObject({ code: 'EINVAL' });
    expect(await c.error('settings:set', { language: 'fr' })).toMatchObject({ code: 'EINVAL' });
    const again = createBackend(c.options);
    onCleanup(() => again.dispose());
    expect(await callBackend(again, 'settings:get')).toEqual({ ok: true, value: { downloadDir: elsewhere, concurrency: 2, language: 'zh-CN', uploadLimit: 0, downloadLimit: 0, checkSha256: false } });
  });

  it('saves, updates and deletes profiles', async () => {
    const c = await Client.create();
    const saved = (await c.ok('profiles:save', { name: 'Lab', host: '127.0.0.1', port: server.port, user: 'alice' })) as { id: string };
    expect(saved).toEqual({ id: expect.any(String), name: 'Lab', protocol: 'ferry', host: '127.0.0.1', port: server.port, user: 'alice', remembered: false });
    await c.ok('profiles:save', { id: saved.id, name: 'Lab box', host: '127.0.0.1', port: server.port, user: 'alice' });
    expect(await c.ok('profiles:list')).toEqual([{ ...saved, name: 'Lab box' }]);
    expect(await c.error('profiles:save', { id: 'pmissing', name: 'x', host: 'h', port: 1, user: 'u' })).toMatchObject({ code: 'ENOENT' });
    await c.ok('profiles:delete', saved.id);
    expect(await c.ok('profiles:list')).toEqual([]);
    expect(await c.error('profiles:delete', saved.id)).toMatchObject({ code: 'ENOENT' });
  });

  it('remembers a login as encrypted keys and connects with them later, without the password', async () => {
    const c = await Client.create({ secretStore: xorStore });
    const profile = (await c.ok('profiles:save', { name: 'Lab', host: '127.0.0.1', port: server.port, user: 'alice' })) as { id: string };
    await c.connect(alice, { profileId: profile.id, remember: true });
    expect(await c.ok('profiles:list')).toEqual([expect.objectContaining({ id: profile.id, remembered: true })]);
    const stored = await readFile(path.join(c.options.configDir, 'profiles.json'), 'utf8');
    expect(stored).not.toContain(alice.password);
    expect(stored).not.toContain('clientKey');
    await c.ok('session:disconnect');

    // A new window: only the profile id, no password.
    const later = new Client(createBackend(c.options), c.options);
    onCleanup(() => later.backend.dispose());
    const result = await later.ok('session:connect', later.connectInput(alice, { password: undefined, profileId: profile.id }));
    expect(result).toMatchObject({ kind: 'connected', session: { user: { name: 'alice' }, profileId: profile.id } });
    expect(await later.ok('fs:list', '/')).toMatchObject({ path: '/' });
    // The keys only go to the server and user they belong to.
    expect(await later.error('session:connect', later.connectInput(bob, { password: undefined, profileId: profile.id }))).toMatchObject({
      code: 'EAUTH',
    });

    // Without a secret store nothing can be read or remembered.
    const plainStore = new Client(createBackend({ ...c.options, secretStore: { ...xorStore, available: false } }), c.options);
    onCleanup(() => plainStore.backend.dispose());
    expect(await plainStore.error('session:connect', plainStore.connectInput(alice, { password: undefined, profileId: profile.id }))).toMatchObject({
      code: 'EAUTH',
    });

    // remember: false forgets it.
    await c.connect(alice, { profileId: profile.id, remember: false });
    expect(await c.ok('profiles:list')).toEqual([expect.objectContaining({ id: profile.id, remembered: false })]);
  });

  it('does not remember anything without a secret store', async () => {
    const c = await Client.create();
    const profile = (await c.ok('profiles:save', { name: 'Lab', host: '127.0.0.1', port: server.port, user: 'alice' })) as { id: string };
    await c.connect(alice, { profileId: profile.id, remember: true });
    expect(await c.ok('profiles:list')).toEqual([expect.objectContaining({ remembered: false })]);
  });
});

describe('reconnect', () => {
  it('logs in again after the connection drops, and keeps the folder', async () => {
    const proxy = await Proxy.start(server.port);
    const c = await Client.create({}, proxy.port);
    await c.connect(alice);
    await c.ok('fs:mkdir', '/reconnect-here').catch(() => undefined);
    await c.ok('fs:cd', '/reconnect-here');
    const since = c.events.length;
    proxy.cut();
    await c.waitEvent('session:state', (s) => s.state === 'reconnecting', since);
    const back = await c.waitEvent('session:state', (s) => s.state === 'connected', since);
    expect(back).toMatchObject({ session: { cwd: '/reconnect-here' } });
    const reconnecting = c.of('session:state', since).find((s) => s.state === 'reconnecting');
    expect(reconnecting).toMatchObject({ attempt: 1, error: { code: 'ECONN' } });
    expect(await c.ok('fs:list', '.')).toMatchObject({ path: '/reconnect-here' });
  });

  it('gives up after its attempts and says why', async () => {
    const proxy = await Proxy.start(server.port);
    const c = await Client.create({ reconnectAttempts: 2, reconnectDelaysMs: [50] }, proxy.port);
    await c.connect(alice);
    const since = c.events.length;
    await proxy.close();
    const final = await c.waitEvent('session:state', (s) => s.state === 'disconnected', since);
    expect(final).toMatchObject({ state: 'disconnected', error: { code: 'ECONN' } });
    expect(c.of('session:state', since).filter((s) => s.state === 'reconnecting').map((s) => s.state === 'reconnecting' && s.attempt)).toEqual([1, 2]);
  });
});

describe('dispose', () => {
  it('disconnects, ends commands and answers later calls with ECANCELED', async () => {
    const c = await Client.create();
    await c.connect(alice);
    await c.ok('exec:run', 'sleep 30');
    await c.backend.dispose();
    expect(await c.error('session:state')).toMatchObject({ code: 'ECANCELED' });
  });

  it('removes owned (spooled) files once their uploads are done', async () => {
    const c = await Client.create();
    await c.connect(alice);
    const spool = await tempDir('ferry-spool-test-');
    await mkdir(path.join(spool, 'dropped'));
    await writeFile(path.join(spool, 'dropped', 'f.txt'), 'x');
    let released = 0;
    const result = await c.backend.uploadSpooled([path.join(spool, 'dropped')], '/', async () => {
      released++;
    });
    expect(result.ok).toBe(true);
    const views = (result as { value: TransferView[] }).value;
    await c.waitTransfers(views.map((v) => v.id));
    await waitFor(() => released === 1, 5000, 'release');
    expect(await readdir(path.join(aliceHome, 'dropped'))).toEqual(['f.txt']);

    // A cancelled row offers Retry, so its files stay until it is retried to the end or cleared.
    await c.ok('settings:set', { concurrency: 1 });
    await mkdir(path.join(spool, 'second'));
    await writeFile(path.join(spool, 'second', 'a-big.bin'), randomBytes(24 * 1024 * 1024));
    await writeFile(path.join(spool, 'second', 'b-small.txt'), 'retry me');
    let releasedSecond = 0;
    const second = await c.backend.uploadSpooled([path.join(spool, 'second')], '/', async () => {
      releasedSecond++;
    });
    const [big, small] = (second as { value: TransferView[] }).value;
    expect(small!.name).toBe('b-small.txt');
    await c.ok('transfers:cancel', small!.id);
    expect((await c.waitTransfers([big!.id, small!.id])).map((t) => t.state)).toEqual(['done', 'cancelled']);
    await new Promise((r) => setTimeout(r, 200));
    expect(releasedSecond).toBe(0);
    await c.ok('transfers:retry', small!.id);
    expect((await c.waitTransfers([small!.id], ['done', 'failed']))[0]!.state).toBe('done');
    await waitFor(() => releasedSecond === 1, 5000, 'release after the retry');
    expect(await readFile(path.join(aliceHome, 'second', 'b-small.txt'), 'utf8')).toBe('retry me');
    await c.ok('settings:set', { concurrency: 4 });

    let refusedRelease = 0;
    const refused = await c.backend.uploadSpooled([path.join(spool, 'missing')], '/', async () => {
      refusedRelease++;
    });
    expect(refused.ok).toBe(false);
    expect(refusedRelease).toBe(1);
  });
});
