/**
 * The local pane's engine side (local-files-desk.ts): listing real folders with links
 * reported and never followed, downloads into a folder the pane names, and the places
 * (bookmarks, start folder) kept with a saved connection. Against a real ferryd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBackend, type Backend } from '../../engine/app/backend.js';
import type { ConnectResult, Profile, Result } from '../../shared/common/contract.js';
import type { Entry } from '../../shared/common/messages.js';
import { BOOKMARKS_MAX } from '../../shared/common/places.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { treeDigest, waitFor } from '../helpers/files.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
let server: Ferryd;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
});
afterAll(cleanupAll);

async function backend(extra: { localRoot?: string } = {}): Promise<{ b: Backend; ok: (name: string, ...args: unknown[]) => Promise<unknown>; call: (name: string, ...args: unknown[]) => Promise<Result<unknown>> }> {
  const b = createBackend({ configDir: await tempDir('ferry-config-'), downloadDir: await tempDir('ferry-downloads-'), fsChangedDelayMs: 50, ...extra });
  onCleanup(() => b.dispose());
  const call = (name: string, ...args: unknown[]) => b.call(name, args);
  const ok = async (name: string, ...args: unknown[]) => {
    const r = await call(name, ...args);
    if (!r.ok) throw new Error(`${name} failed: ${r.error.code} ${r.error.message}`);
    return r.value;
  };
  return { b, ok, call };
}

describe('local:list and local:home', () => {
  it('lists a real folder with entries shaped as remote ones; links are links, never followed', async () => {
    const { ok, call } = await backend();
    const dir = await tempDir('ferry-local-');
    await mkdir(path.join(dir, 'sub', 'inner'), { recursive: true });
    await writeFile(path.join(dir, 'a.txt'), 'twelve bytes');
    await writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\n');
    await chmod(path.join(dir, 'run.sh'), 0o755);
    await symlink(path.join(dir, 'sub'), path.join(dir, 'to-sub'));
    await symlink('/no/such/target', path.join(dir, 'dangling'));
    const listed = (await ok('local:list', dir)) as { path: string; entries: Entry[] };
    expect(listed.path).toBe(dir);
    const byName = new Map(listed.entries.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(['a.txt', 'dangling', 'run.sh', 'sub', 'to-sub']);
    expect(byName.get('a.txt')).toMatchObject({ type: 'file', size: 12, mode: 0o644 & ~process.umask() });
    expect(byName.get('run.sh')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byName.get('sub')).toMatchObject({ type: 'dir', size: 0 });
    // A link to a folder is a link (the tree never expands it), and a dangling one is listed too.
    expect(byName.get('to-sub')).toMatchObject({ type: 'symlink' });
    expect(byName.get('dangling')).toMatchObject({ type: 'symlink' });
    expect(Math.abs(byName.get('a.txt')!.mtime - Date.now())).toBeLessThan(60_000);

    expect(await call('local:list', path.join(dir, 'missing'))).toMatchObject({ ok: false, error: { code: 'ENOENT', message: expect.stringContaining('missing') } });
    expect(await call('local:list', path.join(dir, 'a.txt'))).toMatchObject({ ok: false, error: { code: 'ENOTDIR' } });
    expect(await call('local:list', 'relative/folder')).toMatchObject({ ok: false, error: { code: 'EINVAL', message: expect.stringContaining('absolute') } });
  });

  it('starts in the user’s home in the desktop app, and in its root folder in browser mode', async () => {
    expect(await (await backend()).ok('local:home')).toEqual({ home: os.homedir(), top: path.parse(os.homedir()).root });
    const root = path.join(await tempDir('ferry-root-'), 'not-made-yet');
    expect(await (await backend({ localRoot: root })).ok('local:home')).toEqual({ home: root, top: root });
    expect((await (await backend()).ok('local:list', root)) as { entries: Entry[] }).toMatchObject({ entries: [] });
  });
});

describe('downloads into a chosen local folder', () => {
  it('puts files and folders in the folder named, not the download folder', async () => {
    const { ok, b } = await backend();
    const events: Array<{ name: string; payload: unknown }> = [];
    b.on((name, payload) => events.push({ name, payload }));
    let r = (await ok('session:connect', { host: '127.0.0.1', port: server.port, user: alice.name, password: alice.password })) as ConnectResult;
    if (r.kind === 'hostkey-new') {
      await ok('hosts:trust', r.hostPort, r.fingerprint);
      r = (await ok('session:connect', { host: '127.0.0.1', port: server.port, user: alice.name, password: alice.password })) as ConnectResult;
    }
    expect(r.kind).toBe('connected');
    const aliceHome = path.join(server.root, 'homes', alice.name);
    await mkdir(path.join(aliceHome, 'pics', 'deep'), { recursive: true });
    await writeFile(path.join(aliceHome, 'pics', 'deep', 'cat.jpg'), 'meow');
    await writeFile(path.join(aliceHome, 'note.txt'), 'note');
    const target = path.join(await tempDir('ferry-target-'), 'chosen');
    await mkdir(target);
    const views = (await ok('transfers:download', ['/pics', '/note.txt'], target)) as TransferView[];
    expect(views.map((v) => v.localPath).sort()).toEqual([path.join(target, 'note.txt'), path.join(target, 'pics', 'deep', 'cat.jpg')]);
    await waitFor(() => {
      const latest = new Map<string, string>();
      for (const e of events) if (e.name === 'transfers:event') for (const t of (e.payload as { transfers?: TransferView[] }).transfers ?? []) latest.set(t.id, t.state);
      return views.every((v) => latest.get(v.id) === 'done') || undefined;
    }, 20_000, 'downloads');
    expect(await readFile(path.join(target, 'note.txt'), 'utf8')).toBe('note');
    expect(await treeDigest(path.join(target, 'pics'))).toEqual(await treeDigest(path.join(aliceHome, 'pics')));
  });
});

describe('places kept with a saved connection', () => {
  it('stores bookmarks and a start folder, bounded and absolute, and keeps them when the profile is saved again', async () => {
    const { ok, call } = await backend();
    const base = { name: 'box', host: '127.0.0.1', port: server.port, user: 'alice' };
    const saved = (await ok('profiles:save', { ...base, startFolder: '/work' })) as Profile;
    expect(saved.startFolder).toBe('/work');
    const placed = (await ok('profiles:setPlaces', saved.id, { bookmarks: ['/a', '/b/c', '/a'] })) as Profile;
    expect(placed).toMatchObject({ bookmarks: ['/a', '/b/c'], startFolder: '/work' });
    // The connection form saves without bookmarks: they stay.
    expect(await ok('profiles:save', { ...base, id: saved.id, name: 'box 2' })).toMatchObject({ name: 'box 2', bookmarks: ['/a', '/b/c'], startFolder: '/work' });
    expect(await ok('profiles:setPlaces', saved.id, { startFolder: null })).not.toHaveProperty('startFolder');
    expect((await ok('profiles:list')) as Profile[]).toEqual([expect.objectContaining({ id: saved.id, bookmarks: ['/a', '/b/c'] })]);

    expect(await call('profiles:setPlaces', saved.id, { bookmarks: ['relative'] })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    const many = Array.from({ length: BOOKMARKS_MAX + 1 }, (_, i) => `/f${i}`);
    expect(await call('profiles:setPlaces', saved.id, { bookmarks: many })).toMatchObject({ ok: false, error: { code: 'EINVAL', message: expect.stringContaining(String(BOOKMARKS_MAX)) } });
    expect(await call('profiles:save', { ...base, startFolder: 'nope' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(await call('profiles:setPlaces', 'pmissing', { bookmarks: [] })).toMatchObject({ ok: false, error: { code: 'ENOENT' } });
  });
});
