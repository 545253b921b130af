/**
 * The renderer's stores on the real backend (engine/app/backend.ts) against a real
 * ferryd: each rule has one owner, and the stores only show what the engine says.
 * - Conflicts: the queue decides what "apply to all" covers; the store sends one answer.
 * - Refreshes: a folder is listed again only when the change feed names it, so a
 *   mkdir, a rename, a delete or a console command lists it once.
 * - Totals: the store shows the queue's totals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { callBackend, createBackend, type Backend } from '../../engine/app/backend.js';
import { createStores, type Stores } from '../../renderer/src/state/stores.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { BackendApi } from '../helpers/backend-api.js';
import { waitFor } from '../helpers/files.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase', exec: true };

let server: Ferryd;
let aliceHome: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  aliceHome = path.join(server.root, 'homes', alice.name);
});
afterAll(cleanupAll);

/** A window: a backend, the api the renderer would get, and all its stores, logged in. */
async function openWindow(): Promise<{ backend: Backend; api: BackendApi; stores: Stores }> {
  const backend = createBackend({
    configDir: await tempDir('ferry-config-'),
    downloadDir: await tempDir('ferry-downloads-'),
    progressIntervalMs: 20,
    fsChangedDelayMs: 50,
  });
  onCleanup(() => backend.dispose());
  const api = new BackendApi(backend);
  const stores = createStores(api);
  const input = { host: '127.0.0.1', port: server.port, user: alice.name, password: alice.password };
  let r = await callBackend(backend, 'session:connect', input);
  if (r.ok && r.value.kind === 'hostkey-new') {
    await callBackend(backend, 'hosts:trust', r.value.hostPort, r.value.fingerprint);
    r = await callBackend(backend, 'session:connect', input);
  }
  expect(r.ok && r.value.kind).toBe('connected');
  await waitFor(() => stores.tree.getState().folders.get('/')?.status === 'loaded', 10_000, 'the home folder');
  return { backend, api, stores };
}

const listingsOf = (api: BackendApi, folder: string): number => api.made('fs:list').filter((c) => c.args[0] === folder).length;
const settle = (ms = 200): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('folder refreshes come from the change feed only', () => {
  let w: Awaited<ReturnType<typeof openWindow>>;
  beforeAll(async () => {
    w = await openWindow();
  });

  it('a mkdir lists its folder once, and the new folder is shown and selected', async () => {
    const tree = w.stores.tree;
    const before = listingsOf(w.api, '/');
    expect(await tree.getState().mkdir('/', 'once')).toBe(true);
    expect(tree.getState().rowIndex.has('/once')).toBe(true);
    expect(tree.getState().selectedPaths()).toEqual(['/once']);
    // Late notices (the change feed batches uploads) must not list it again either.
    await settle();
    expect(listingsOf(w.api, '/') - before).toBe(1);
  });

  it('a mkdir inside an expanded folder, a rename and a delete each list the folders they touch once', async () => {
    const tree = w.stores.tree;
    tree.getState().expand('/once');
    await waitFor(() => tree.getState().folders.get('/once')?.status === 'loaded', 10_000, '/once listed');
    const home = listingsOf(w.api, '/');
    const once = listingsOf(w.api, '/once');

    expect(await tree.getState().mkdir('/once', 'inner')).toBe(true);
    expect(tree.getState().rowIndex.has('/once/inner')).toBe(true);
    await settle();
    expect([listingsOf(w.api, '/') - home, listingsOf(w.api, '/once') - once]).toEqual([0, 1]);

    expect(await tree.getState().rename('/once/inner', 'renamed')).toBe(true);
    expect(tree.getState().selectedPaths()).toEqual(['/once/renamed']);
    await settle();
    expect([listingsOf(w.api, '/') - home, listingsOf(w.api, '/once') - once]).toEqual([0, 2]);

    expect(await tree.getState().remove(['/once/renamed'])).toBe(true);
    expect(tree.getState().rowIndex.has('/once/renamed')).toBe(false);
    await settle();
    expect([listingsOf(w.api, '/') - home, listingsOf(w.api, '/once') - once]).toEqual([0, 3]);
  });

  it('a console command lists the folder it ran in once', async () => {
    const tree = w.stores.tree;
    const before = listingsOf(w.api, '/');
    w.stores.console.getState().setInput('touch made-by-console');
    await w.stores.console.getState().run('alice:/$');
    await waitFor(() => w.stores.console.getState().running === null, 10_000, 'the command');
    await waitFor(() => tree.getState().rowIndex.has('/made-by-console'), 10_000, 'the new file in the tree');
    await settle();
    expect(listingsOf(w.api, '/') - before).toBe(1);
  });
});

describe('conflicts are decided by the queue', () => {
  it('"apply to all" is one answer from the store; the queue settles the rest of the batch and no prompt is left', async () => {
    const w = await openWindow();
    const local = await tempDir('ferry-local-');
    const names = ['one.txt', 'two.txt', 'three.txt'];
    for (const n of names) await writeFile(path.join(local, n), `old ${n}`);
    const paths = names.map((n) => path.join(local, n));
    const first = await w.api.call('transfers:uploadPaths', paths, '/clash');
    expect(first.ok).toBe(true);
    await waitFor(() => w.stores.transfers.getState().totals.done === 3, 20_000, 'the first upload');
    for (const n of names) await writeFile(path.join(local, n), `new ${n}`);

    const prompts: string[] = [];
    const withdrawn: string[] = [];
    w.api.on('transfers:conflict', (p) => prompts.push(p.conflictId));
    w.api.on('transfers:conflictWithdrawn', (p) => withdrawn.push(p.conflictId));
    const again = await w.api.call('transfers:uploadPaths', paths, '/clash');
    if (!again.ok) throw new Error(again.error.message);
    await waitFor(() => w.stores.transfers.getState().conflicts.length > 0, 20_000, 'a conflict prompt');
    // One question at a time.
    await settle();
    expect(w.stores.transfers.getState().conflicts).toHaveLength(1);

    await w.stores.transfers.getState().resolveConflict('overwrite', true);
    const ids = again.value.map((t) => t.id);
    const done = await waitFor(() => {
      const views = ids.map((id) => w.stores.transfers.getState().byId.get(id));
      return views.every((v) => v?.state === 'done') ? (views as TransferView[]) : undefined;
    }, 20_000, 'the overwrites');
    expect(done).toHaveLength(3);
    for (const n of names) expect(await readFile(path.join(aliceHome, 'clash', n), 'utf8')).toBe(`new ${n}`);
    // Asked once, answered once; nothing waits in the store.
    expect(prompts).toHaveLength(1);
    expect(w.api.made('transfers:resolveConflict').map((c) => c.args)).toEqual([[prompts[0], 'overwrite', true]]);
    expect(w.stores.transfers.getState().conflicts).toEqual([]);
    expect(withdrawn).toEqual([]);
    // The totals the store shows are the queue's.
    await waitFor(() => w.stores.transfers.getState().totals.done === 6, 10_000, 'the totals');
    expect(w.stores.transfers.getState().totals).toMatchObject({ count: 6, done: 6, unfinished: 0 });
  });

  it('a prompt the queue withdraws (its transfer was cancelled) disappears from the store', async () => {
    const w = await openWindow();
    const local = await tempDir('ferry-local-');
    await writeFile(path.join(local, 'w.txt'), 'v1');
    await w.api.call('transfers:uploadPaths', [path.join(local, 'w.txt')], '/withdraw');
    await waitFor(() => w.stores.transfers.getState().totals.done === 1, 20_000, 'the first upload');
    const again = await w.api.call('transfers:uploadPaths', [path.join(local, 'w.txt')], '/withdraw');
    if (!again.ok) throw new Error(again.error.message);
    await waitFor(() => w.stores.transfers.getState().conflicts.length === 1, 20_000, 'the prompt');
    await w.stores.transfers.getState().cancel(again.value[0]!.id);
    await waitFor(() => w.stores.transfers.getState().conflicts.length === 0, 10_000, 'the prompt to go');
    expect(w.api.made('transfers:resolveConflict')).toEqual([]);
  });
});
