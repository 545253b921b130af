/**
 * Edit in place (engine/app/edit/) through the backend's calls, against a real ferryd and
 * over SFTP against a real sshd: a working copy edited as editors do (written in place,
 * and written to a temporary file renamed over it, like vim) lands on the server as a
 * verified save; a change on the server meanwhile gives the conflict choice; a save during
 * an outage lands after the reconnect; a failed save keeps the working copy and lands on retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, chown, mkdir, readFile, readdir, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackend, type Backend, type BackendOptions } from '../../engine/app/backend.js';
import type { CallName, ConnectResult, EventName, Events, Result } from '../../shared/common/contract.js';
import type { EditView } from '../../shared/common/edit-model.js';
import { waitFor } from '../helpers/files.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { Proxy } from '../helpers/proxy.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
let server: Ferryd;
let sshd: TestSshd;

beforeAll(async () => {
  [server, sshd] = await Promise.all([startFerryd({ users: [alice] }), startTestSshd()]);
  onCleanup(() => sshd.stop());
}, 60_000);
afterAll(cleanupAll);

/** One of the two servers, as the tests need it. */
interface Side {
  readonly name: 'ferry' | 'sftp';
  readonly port: number;
  /** The connect input for `port` (a proxy's, or the server's own). */
  connectInput(port: number): Record<string, unknown>;
  /** Where a remote path of the tests is on the server's disk, and the remote path itself. */
  local(name: string): string;
  remote(name: string): string;
  /** Write a file on the server's disk as its account would own it. */
  put(name: string, content: string, mode?: number): Promise<void>;
}

const ferrySide = (): Side => {
  const home = path.join(server.root, 'homes', alice.name);
  return {
    name: 'ferry',
    port: server.port,
    connectInput: (port) => ({ host: '127.0.0.1', port, user: alice.name, password: alice.password }),
    local: (name) => path.join(home, name),
    remote: (name) => `/${name}`,
    put: async (name, content, mode = 0o644) => {
      await writeFile(path.join(home, name), content);
      await chmod(path.join(home, name), mode);
    },
  };
};

const sftpSide = (): Side => ({
  name: 'sftp',
  port: sshd.port,
  connectInput: (port) => ({ protocol: 'sftp', host: sshd.host, port, user: sshd.user, agent: false, identityFile: sshd.keyFile }),
  local: (name) => path.join(sshd.home, name),
  remote: (name) => path.join(sshd.home, name),
  put: async (name, content, mode = 0o644) => {
    const file = path.join(sshd.home, name);
    const owner = await stat(sshd.home);
    await writeFile(file, content);
    await chown(file, owner.uid, owner.gid);
    await chmod(file, mode);
  },
});

/** A backend as one front end sees it; "the system's app" is recorded, as the desktop host would open it. */
class Client {
  readonly events: Array<{ name: EventName; payload: unknown }> = [];
  readonly opened: string[] = [];
  readonly backend: Backend;

  private constructor(options: BackendOptions) {
    this.backend = createBackend({
      ...options,
      openFile: async (file) => {
        this.opened.push(file);
      },
    });
    onCleanup(() => this.backend.dispose());
    this.backend.on((name, payload) => this.events.push({ name, payload }));
  }

  static async create(): Promise<Client> {
    return new Client({
      configDir: await tempDir('ferry-config-'),
      downloadDir: await tempDir('ferry-downloads-'),
      reconnectDelaysMs: [100],
      editDebounceMs: 50,
      ssh: { home: sshd.clientHome },
    });
  }

  call(name: CallName, ...args: unknown[]): Promise<Result<unknown>> {
    return this.backend.call(name, args);
  }

  async ok<T = unknown>(name: CallName, ...args: unknown[]): Promise<T> {
    const result = await this.call(name, ...args);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code} ${result.error.message}`);
    return result.value as T;
  }

  async error(name: CallName, ...args: unknown[]): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
    const result = await this.call(name, ...args);
    if (result.ok) throw new Error(`${name} should have failed`);
    return result.error as { code: string; message: string; details?: Record<string, unknown> };
  }

  async connect(input: Record<string, unknown>): Promise<void> {
    let result = await this.ok<ConnectResult>('session:connect', input);
    if (result.kind === 'hostkey-new') {
      await this.ok('hosts:trust', result.hostPort, result.fingerprint);
      result = await this.ok<ConnectResult>('session:connect', input);
    }
    expect(result.kind).toBe('connected');
  }

  of<E extends EventName>(name: E): Array<Events[E]> {
    return this.events.flatMap((e) => (e.name === name ? [e.payload as Events[E]] : []));
  }

  /** The edit as the last 'edit:changed' showed it. */
  edit(id: string): EditView | undefined {
    return this.of('edit:changed').at(-1)?.edits.find((e) => e.id === id);
  }

  waitEdit(id: string, match: (view: EditView) => boolean, what: string): Promise<EditView> {
    return waitFor(() => {
      const view = this.edit(id);
      return view && match(view) ? view : undefined;
    }, 20_000, what);
  }
}

const stateOf = (kind: EditView['state']['kind']) => (view: EditView) => view.state.kind === kind;
const savedRows = (view: EditView) => view.saves.filter((s) => s.outcome.kind === 'saved');

/** Until the server's file holds `content`. */
function landed(file: string, content: string): Promise<true> {
  return waitFor(async () => (await readFile(file, 'utf8').catch(() => null)) === content || undefined, 20_000, `${file} to hold the ${content.length} characters saved`);
}

for (const make of [ferrySide, sftpSide]) {
  describe(`edit in place over ${make === ferrySide ? 'Ferry' : 'SFTP'}`, () => {
    let side: Side;
    beforeAll(() => {
      side = make();
    });

    it('sends each save of an editor, written in place or renamed over the working copy, as a verified commit that keeps the mode', async () => {
      const c = await Client.create();
      await c.connect(side.connectInput(side.port));
      await side.put('notes.txt', 'first\n', 0o640);
      const view = await c.ok<EditView>('edit:open', side.remote('notes.txt'), 'system');
      expect(c.opened).toEqual([view.localPath]);
      expect(await readFile(view.localPath, 'utf8')).toBe('first\n');
      // The working folder is private.
      expect((await stat(path.dirname(path.dirname(view.localPath)))).mode & 0o777).toBe(0o700);
      expect((await stat(path.dirname(path.dirname(path.dirname(view.localPath))))).mode & 0o777).toBe(0o700);

      // An editor that writes the file in place.
      await writeFile(view.localPath, 'second, written in place\n');
      await landed(side.local('notes.txt'), 'second, written in place\n');
      const first = await c.waitEdit(view.id, (v) => v.state.kind === 'saved' && savedRows(v).length === 1, 'the first save');
      // Both servers hash (the SFTP account may run commands): ferryd with XXH3-128 (the
      // default check), SFTP with sha256sum: "Saved · XXH3-128 checked" / "Saved · SHA-256 verified".
      const check = make === ferrySide ? 'xxh128' : 'sha256';
      expect(first.saves[0]!.outcome).toEqual({ kind: 'saved', check, path: side.remote('notes.txt') });

      // An editor that writes a temporary file and renames it over the working copy (vim),
      // with SHA-256 asked for in Settings: the save is checked with it (and the base the
      // next save compares with is still known, whichever digest the server stored).
      await c.ok('settings:set', { checkSha256: true });
      const swap = path.join(path.dirname(view.localPath), '.notes.txt.swp');
      await writeFile(swap, 'third, renamed into place\n');
      await rename(swap, view.localPath);
      await landed(side.local('notes.txt'), 'third, renamed into place\n');
      const second = await c.waitEdit(view.id, (v) => v.state.kind === 'saved' && savedRows(v).length === 2, 'the second save');
      expect(savedRows(second).map((r) => (r.outcome.kind === 'saved' ? r.outcome.check : null))).toContain('sha256');
      await c.ok('settings:set', { checkSha256: false });

      // A touch without a change sends nothing.
      await utimes(view.localPath, new Date(), new Date(Date.now() + 5000));
      await new Promise((r) => setTimeout(r, 400));
      expect(savedRows(c.edit(view.id)!)).toHaveLength(2);

      // The mode is the remote file's, not the working copy's (over SFTP the client sets it;
      // ferryd keeps the mode of the file an upload replaces).
      expect((await stat(side.local('notes.txt'))).mode & 0o777).toBe(0o640);

      // Saved: closing removes the working copy.
      await c.ok('edit:close', view.id, false);
      expect(await readdir(path.dirname(path.dirname(path.dirname(view.localPath))))).not.toContain(path.basename(path.dirname(path.dirname(view.localPath))));
    });

    it('opens text in the built-in editor, saves its text, and refuses binary and big files', async () => {
      const c = await Client.create();
      await c.connect(side.connectInput(side.port));
      await side.put('readme.md', '# Title\n');
      const view = await c.ok<EditView>('edit:open', side.remote('readme.md'), 'builtin');
      expect(c.opened).toEqual([]);
      expect(await c.ok('edit:read', view.id, 'mine')).toEqual({ text: '# Title\n' });
      const after = await c.ok<EditView>('edit:write', view.id, '# Title\n\nMore.\n');
      expect(after.state.kind).toMatch(/saving|saved/);
      await landed(side.local('readme.md'), '# Title\n\nMore.\n');
      await c.waitEdit(view.id, (v) => v.state.kind === 'saved' && savedRows(v).length === 1, 'the save');

      await side.put('image.bin', 'PNG\0\0\x01binary');
      expect(await c.error('edit:open', side.remote('image.bin'), 'builtin')).toMatchObject({ code: 'EINVAL', details: { reason: 'binary', systemApp: true } });
      await side.put('big.log', 'x'.repeat(5 * 1024 * 1024 + 1));
      expect(await c.error('edit:open', side.remote('big.log'), 'builtin')).toMatchObject({ code: 'ETOOBIG', details: { systemApp: true } });
      // Refused files leave nothing open.
      expect(await c.ok('edit:list')).toHaveLength(1);
    });

    it('does not replace a file someone else changed: overwrite, save as a copy, or download theirs to compare', async () => {
      const c = await Client.create();
      await c.connect(side.connectInput(side.port));
      await side.put('shared.txt', 'original\n');
      const view = await c.ok<EditView>('edit:open', side.remote('shared.txt'), 'builtin');
      await side.put('shared.txt', 'their change, longer\n');
      await c.ok('edit:write', view.id, 'my change\n');
      const conflict = await c.waitEdit(view.id, stateOf('conflict'), 'the conflict');
      expect(conflict.state).toMatchObject({ kind: 'conflict', theirs: { size: 'their change, longer\n'.length } });
      expect(conflict.saves.at(-1)!.outcome).toEqual({ kind: 'conflict' });
      expect(await readFile(side.local('shared.txt'), 'utf8')).toBe('their change, longer\n');

      // Compare: theirs is fetched beside the working copy; nothing is replaced yet.
      const compared = await c.ok<EditView>('edit:resolve', view.id, 'compare');
      expect(compared.state).toMatchObject({ kind: 'conflict', theirsCopy: expect.any(String) });
      expect(await c.ok('edit:read', view.id, 'theirs')).toEqual({ text: 'their change, longer\n' });
      expect(await c.ok('edit:read', view.id, 'mine')).toEqual({ text: 'my change\n' });
      expect(await readFile(side.local('shared.txt'), 'utf8')).toBe('their change, longer\n');

      // Save as a copy: theirs stays; ours goes beside it, and later saves go to the copy.
      await c.ok('edit:resolve', view.id, 'copy');
      await landed(side.local('shared (my copy).txt'), 'my change\n');
      const copied = await c.waitEdit(view.id, stateOf('saved'), 'the copy');
      expect(copied.remotePath).toBe(side.remote('shared (my copy).txt'));
      expect(await readFile(side.local('shared.txt'), 'utf8')).toBe('their change, longer\n');
      await c.ok('edit:write', view.id, 'my change, again\n');
      await landed(side.local('shared (my copy).txt'), 'my change, again\n');

      // Overwrite: ours replaces theirs.
      const second = await c.ok<EditView>('edit:open', side.remote('shared.txt'), 'builtin');
      await side.put('shared.txt', 'their second change\n');
      await c.ok('edit:write', second.id, 'mine wins\n');
      await c.waitEdit(second.id, stateOf('conflict'), 'the second conflict');
      expect(await c.error('edit:close', second.id, false)).toMatchObject({ code: 'EBUSY' });
      await c.ok('edit:resolve', second.id, 'overwrite');
      await landed(side.local('shared.txt'), 'mine wins\n');
      const done = await c.waitEdit(second.id, stateOf('saved'), 'the overwrite');
      expect(done.saves.at(-1)!.outcome).toMatchObject({ kind: 'saved', path: side.remote('shared.txt') });
    });

    it('keeps a save made during an outage and sends it after the reconnect', async () => {
      const proxy = await Proxy.start(side.port);
      const c = await Client.create();
      await c.connect(side.connectInput(proxy.port));
      await side.put('outage.txt', 'before\n');
      const view = await c.ok<EditView>('edit:open', side.remote('outage.txt'), 'system');
      proxy.refuse();
      proxy.cut();
      await waitFor(() => c.of('session:state').some((s) => s.state === 'reconnecting'), 10_000, 'reconnecting');
      await writeFile(view.localPath, 'written while offline\n');
      const waiting = await c.waitEdit(view.id, stateOf('waiting'), 'the save to wait');
      expect(waiting.saves.at(-1)!.outcome).toEqual({ kind: 'waiting' });
      expect(c.backend.unsavedEdits().map((e) => e.id)).toEqual([view.id]);
      expect(await readFile(side.local('outage.txt'), 'utf8')).toBe('before\n');

      await proxy.listenAgain();
      await landed(side.local('outage.txt'), 'written while offline\n');
      await c.waitEdit(view.id, (v) => v.state.kind === 'saved' && savedRows(v).length === 1, 'the save after the reconnect');
      expect(c.backend.unsavedEdits()).toEqual([]);
    });
  });
}

describe('a save that fails', () => {
  it('over Ferry, past the quota: the row says EQUOTA, the working copy is kept, and a retry after freeing space lands', async () => {
    const bob: TestUser = { name: 'bob', password: 'bob pass phrase', quota: '64KiB' };
    const quotaServer = await startFerryd({ users: [bob] });
    const home = path.join(quotaServer.root, 'homes', bob.name);
    const c = await Client.create();
    await c.connect({ host: '127.0.0.1', port: quotaServer.port, user: bob.name, password: bob.password });
    await writeFile(path.join(home, 'data.csv'), 'a,b\n'); // the home is made at the first login
    // 40 KiB of the 64 taken by another file.
    const filler = path.join(await tempDir('ferry-filler-'), 'filler.bin');
    await writeFile(filler, Buffer.alloc(40 * 1024, 1));
    await c.ok('transfers:uploadPaths', [filler], '/');
    await waitFor(async () => (await stat(path.join(home, 'filler.bin')).catch(() => null))?.size === 40 * 1024, 20_000, 'the filler');

    const view = await c.ok<EditView>('edit:open', '/data.csv', 'system');
    const big = 'x,y\n'.repeat(8 * 1024); // 32 KiB: more than is left
    await writeFile(view.localPath, big);
    const failed = await c.waitEdit(view.id, stateOf('failed'), 'the failed save');
    expect(failed.state).toMatchObject({ kind: 'failed', error: { code: 'EQUOTA' } });
    expect(failed.saves.at(-1)!.outcome).toMatchObject({ kind: 'failed', error: { code: 'EQUOTA' } });
    expect(await readFile(view.localPath, 'utf8')).toBe(big);
    expect(await readFile(path.join(home, 'data.csv'), 'utf8')).toBe('a,b\n');
    expect(await c.error('edit:close', view.id, false)).toMatchObject({ code: 'EBUSY' });

    // Space freed: the retry lands, on the same row.
    await c.ok('fs:delete', ['/filler.bin']);
    await c.ok('edit:retry', view.id);
    await landed(path.join(home, 'data.csv'), big);
    const saved = await c.waitEdit(view.id, stateOf('saved'), 'the retried save');
    expect(saved.saves).toHaveLength(1);
    expect(saved.saves[0]!.outcome).toEqual({ kind: 'saved', check: 'xxh128', path: '/data.csv' });
    await c.ok('edit:close', view.id, false);
  });

  it('over SFTP, refused by the server: the working copy is kept, and a retry once it may write lands', async () => {
    const c = await Client.create();
    await c.connect(sftpSide().connectInput(sshd.port));
    const dir = path.join(sshd.home, 'locked');
    await mkdir(dir, { recursive: true });
    const owner = await stat(sshd.home);
    await chown(dir, owner.uid, owner.gid);
    await sftpSide().put('locked/todo.txt', 'one\n');
    const view = await c.ok<EditView>('edit:open', path.join(dir, 'todo.txt'), 'system');
    await chmod(dir, 0o555); // no new files (the upload's partial) in it
    await writeFile(view.localPath, 'one\ntwo\n');
    const failed = await c.waitEdit(view.id, stateOf('failed'), 'the failed save');
    expect(failed.state).toMatchObject({ kind: 'failed', error: { code: 'EACCES' } });
    expect(await readFile(view.localPath, 'utf8')).toBe('one\ntwo\n');
    expect(await readFile(path.join(dir, 'todo.txt'), 'utf8')).toBe('one\n');

    await chmod(dir, 0o755);
    await c.ok('edit:retry', view.id);
    await landed(path.join(dir, 'todo.txt'), 'one\ntwo\n');
    await c.waitEdit(view.id, stateOf('saved'), 'the retried save');
  });
});
