/**
 * The renderer's browser-mode transport (renderer/src/transport/ws-api.ts) against the
 * real web host and a real ferryd. Node has Blob and File; its missing WebSocket is
 * stood in for by `ws`, which implements the same event API, plus the Origin header and
 * the cookies a browser would send (signed in with one-time addresses, as a browser is).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { WebSocket as NodeWebSocket } from 'ws';
import type { FerryApi, Events } from '../../shared/common/contract.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { startWebHost, type WebHost } from '../../web/index.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { sha256, treeDigest, waitFor } from '../helpers/files.js';
import { signIn } from '../helpers/web-session.js';

// The module is DOM code: load it without type-checking it against Node's globals here
// (tsconfig.renderer.json checks it against the DOM).
const WS_API = '../../renderer/src/transport/ws-api.js';
type CreateWsApi = (options: { url: string; highWaterMark?: number }) => FerryApi;

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let server: Ferryd;
let web: WebHost;
let createWsApi: CreateWsApi;
/** The browser's cookies for 127.0.0.1 (which, like a browser's, are not kept apart by port). */
const cookieJar: string[] = [];

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  web = await startWebHost({ staticDir: await tempDir('ferry-www-'), configDir: await tempDir('ferry-config-'), spoolDir: await tempDir('ferry-spool-') });
  onCleanup(() => web.close());
  cookieJar.push(await signIn(web));
  // A page served by a host connects to that same host: its Origin is the host's.
  class BrowserWebSocket extends NodeWebSocket {
    constructor(url: string) {
      super(url, { origin: `http://${new URL(url).host}`, headers: cookieJar.length > 0 ? { cookie: cookieJar.join('; ') } : {} });
      onCleanup(async () => this.close());
    }
  }
  (globalThis as { WebSocket?: unknown }).WebSocket = BrowserWebSocket;
  createWsApi = ((await import(WS_API)) as { createWsApi: CreateWsApi }).createWsApi;
});
afterAll(async () => {
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  await cleanupAll();
});

function record(api: FerryApi): { of<E extends keyof Events>(name: E): Array<Events[E]> } {
  const seen: Array<{ name: keyof Events; payload: unknown }> = [];
  for (const name of ['session:state', 'transfers:event', 'fs:changed'] as const) {
    api.on(name, (payload) => seen.push({ name, payload }));
  }
  return { of: (name) => seen.flatMap((e) => (e.name === name ? [e.payload as never] : [])) };
}

describe('createWsApi', () => {
  it('makes calls, receives events and uploads File objects with their relative paths', async () => {
    const api = createWsApi({ url: `ws://127.0.0.1:${web.port}/api`, highWaterMark: 256 * 1024 });
    expect(api.platform).toBe('browser');
    const events = record(api);
    expect(await api.call('session:state')).toEqual({ ok: true, value: { state: 'disconnected' } });
    const input = { host: '127.0.0.1', port: server.port, user: alice.name, password: alice.password };
    const first = await api.call('session:connect', input);
    expect(first).toMatchObject({ ok: true, value: { kind: 'hostkey-new' } });
    if (!first.ok || first.value.kind !== 'hostkey-new') throw new Error('expected a host key question');
    expect(await api.call('hosts:trust', first.value.hostPort, first.value.fingerprint)).toMatchObject({ ok: true });
    expect(await api.call('session:connect', input)).toMatchObject({ ok: true, value: { kind: 'connected' } });
    expect(events.of('session:state').at(-1)).toMatchObject({ state: 'connected' });

    const big = randomBytes(2 * 1024 * 1024 + 123);
    const files = [new File([big], 'big.bin'), new File(['hi\n'], 'hi.txt'), new File([], 'empty')];
    const relativePaths = ['photos/2024/big.bin', 'photos/hi.txt', 'empty'];
    const result = await api.uploadFiles(files, relativePaths, '/web-drop');
    expect(result.ok, JSON.stringify(result)).toBe(true);
    const views = (result as { value: TransferView[] }).value;
    expect(views).toHaveLength(3);
    await waitFor(
      () => {
        const latest = new Map<string, TransferView>();
        for (const e of events.of('transfers:event')) if (e.kind !== 'removed') for (const t of e.transfers) latest.set(t.id, t);
        return views.every((v) => latest.get(v.id)?.state === 'done');
      },
      30_000,
      'the uploads',
    );
    const digest = await treeDigest(path.join(server.root, 'homes', 'alice', 'web-drop'));
    expect(digest['photos/2024/big.bin']).toBe(sha256(big));
    expect(digest['photos/hi.txt']).toBe(sha256('hi\n'));
    expect(digest['empty']).toBe(sha256(Buffer.alloc(0)));

    // Uploads from one page run one after the other on its socket.
    const both = await Promise.all([
      api.uploadFiles([new File(['a'], 'a.txt')], ['a.txt'], '/web-drop'),
      api.uploadFiles([new File(['b'], 'b.txt')], ['b.txt'], '/web-drop'),
    ]);
    expect(both.map((r) => r.ok)).toEqual([true, true]);
    // Folders travel as a list, so empty ones are made too; a drop of only empty folders works.
    const shaped = await api.uploadFiles([new File(['c'], 'c.txt')], ['tree/c.txt'], '/web-drop', { folders: ['tree', 'tree/empty', 'tree/deep/er'] });
    expect(shaped.ok, JSON.stringify(shaped)).toBe(true);
    const onlyFolder = await api.uploadFiles([], [], '/web-drop', { folders: ['lonely'] });
    expect(onlyFolder).toEqual({ ok: true, value: [] });
    const webDrop = path.join(server.root, 'homes', 'alice', 'web-drop');
    await waitFor(async () => (await readdir(path.join(webDrop, 'tree')).catch((): string[] => [])).includes('c.txt'), 30_000, 'the shaped upload');
    expect((await stat(path.join(webDrop, 'tree', 'empty'))).isDirectory()).toBe(true);
    expect((await stat(path.join(webDrop, 'tree', 'deep', 'er'))).isDirectory()).toBe(true);
    expect((await stat(path.join(webDrop, 'lonely'))).isDirectory()).toBe(true);
    // A folder that is also a file is refused.
    expect(await api.uploadFiles([new File(['x'], 'x')], ['x'], '/', { folders: ['x'] })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });

    const refused = await api.uploadFiles([new File(['x'], 'x')], ['../x'], '/');
    expect(refused).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(await api.uploadFiles([new File(['x'], 'x')], [], '/')).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
  });

  it('says plainly when the host refuses the page (this browser never opened one of its addresses)', async () => {
    const stranger = await startWebHost({ staticDir: await tempDir('ferry-www-'), configDir: await tempDir('ferry-config-') });
    onCleanup(() => stranger.close());
    const api = createWsApi({ url: `ws://127.0.0.1:${stranger.port}/api` });
    const states: Array<Events['session:state']> = [];
    api.on('session:state', (s) => states.push(s));
    const result = await api.call('profiles:list');
    expect(result).toMatchObject({ ok: false, error: { code: 'EAUTH', message: expect.stringContaining('?code=') } });
    await waitFor(() => states.length > 0, 5000, 'the state event');
    expect(states[0]).toMatchObject({ state: 'disconnected', error: { code: 'EAUTH' } });
  });

  it('reports a lost host as ECONN', async () => {
    const other = await startWebHost({ staticDir: await tempDir('ferry-www-'), configDir: await tempDir('ferry-config-') });
    cookieJar.push(await signIn(other));
    const api = createWsApi({ url: `ws://127.0.0.1:${other.port}/api` });
    expect(await api.call('session:state')).toEqual({ ok: true, value: { state: 'disconnected' } });
    const states: Array<Events['session:state']> = [];
    api.on('session:state', (s) => states.push(s));
    await other.close();
    await waitFor(() => states.length > 0, 5000, 'the state event');
    expect(states[0]).toMatchObject({ state: 'disconnected', error: { code: 'ECONN', message: expect.stringContaining('lost') } });
    expect(await api.call('session:state')).toMatchObject({ ok: false, error: { code: 'ECONN' } });
  });
});
