/**
 * The desktop app's tab routing (electron/main/tab-backends.ts) without Electron: real
 * backends (engine/app/backend.ts) against a real ferryd, one per (window, tab), each
 * call reaching its own tab's session and each event going back with its tab's id;
 * closed tabs stay closed, a window holds at most its bound, and closing ends sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppStores } from '../../engine/app/app-stores.js';
import { createBackend, type Backend } from '../../engine/app/backend.js';
import type { ConnectInput, EventName, Result, SessionInfo } from '../../shared/common/contract.js';
import { TabBackends } from '../../electron/main/tab-backends.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const bob: TestUser = { name: 'bob', password: 'bob pass phrase' };

let server: Ferryd;
let configDir: string;
let downloadDir: string;

beforeAll(async () => {
  [server, configDir, downloadDir] = await Promise.all([startFerryd({ users: [alice, bob] }), tempDir('ferry-config-'), tempDir('ferry-downloads-')]);
});
afterAll(cleanupAll);

interface Sent {
  readonly windowId: number;
  readonly tabId: number;
  readonly name: EventName;
  readonly payload: unknown;
}

/** The routing as ipc-main.ts sets it up: real backends sharing one set of app stores. */
function routing(maxTabs?: number): { tabs: TabBackends<Backend>; sent: Sent[]; made: Backend[] } {
  const app = createAppStores({ configDir, downloadDir });
  const sent: Sent[] = [];
  const made: Backend[] = [];
  const tabs = new TabBackends<Backend>({
    create: () => {
      const backend = createBackend({ configDir, downloadDir, app });
      made.push(backend);
      return backend;
    },
    send: (windowId, tabId, name, payload) => sent.push({ windowId, tabId, name, payload }),
    ...(maxTabs !== undefined ? { maxTabs } : {}),
  });
  onCleanup(() => tabs.dispose());
  return { tabs, sent, made };
}

/** Log a tab in (trusting the server's key the first time, as the dialog would). */
async function logIn(tabs: TabBackends<Backend>, windowId: number, tabId: number, user: TestUser): Promise<SessionInfo> {
  const input: ConnectInput = { protocol: 'ferry', host: '127.0.0.1', port: server.port, user: user.name, password: user.password };
  let r = (await tabs.call(windowId, tabId, 'session:connect', [input])) as Result<{ kind: string; hostPort?: string; fingerprint?: string; session?: SessionInfo }>;
  if (r.ok && r.value.kind === 'hostkey-new') {
    expect(r.value.fingerprint).toBe(server.fingerprint);
    await tabs.call(windowId, tabId, 'hosts:trust', [r.value.hostPort, r.value.fingerprint]);
    r = (await tabs.call(windowId, tabId, 'session:connect', [input])) as typeof r;
  }
  if (!r.ok || r.value.kind !== 'connected' || !r.value.session) throw new Error(`login failed: ${JSON.stringify(r)}`);
  return r.value.session;
}

describe('tab routing', () => {
  it('gives each tab its own session: calls reach their tab’s backend, events come back tagged with it', async () => {
    const { tabs, sent, made } = routing();
    tabs.openWindow(1);
    expect(tabs.tabCount(1)).toBe(0);

    const first = await logIn(tabs, 1, 0, alice);
    const second = await logIn(tabs, 1, 1, bob);
    expect(made).toHaveLength(2);
    expect(tabs.tabCount(1)).toBe(2);
    expect([first.user.name, second.user.name]).toEqual(['alice', 'bob']);

    // Each tab's own session answers its calls.
    const [a, b] = await Promise.all([tabs.call(1, 0, 'session:state', []), tabs.call(1, 1, 'session:state', [])]);
    expect(a.ok && (a.value as { session?: SessionInfo }).session?.user.name).toBe('alice');
    expect(b.ok && (b.value as { session?: SessionInfo }).session?.user.name).toBe('bob');

    // Events carry the tab they belong to.
    const connected = sent.filter((e) => e.name === 'session:state' && (e.payload as { state: string }).state === 'connected');
    expect(connected.map((e) => [e.windowId, e.tabId, (e.payload as { session: SessionInfo }).session.user.name])).toEqual([
      [1, 0, 'alice'],
      [1, 1, 'bob'],
    ]);

    // Closing one tab ends its session only; its id stays closed.
    await tabs.closeTab(1, 1);
    expect(tabs.tabCount(1)).toBe(1);
    const late = await tabs.call(1, 1, 'session:state', []);
    expect(late.ok ? null : late.error.code).toBe('ECANCELED');
    const still = await tabs.call(1, 0, 'session:state', []);
    expect(still.ok && (still.value as { state: string }).state).toBe('connected');
    expect(made).toHaveLength(2);
  });

  it('refuses what is not a tab, a tab id older than the newest (closed), and one tab too many', async () => {
    const { tabs, made } = routing(2);
    tabs.openWindow(7);
    for (const bad of ['0', -1, 1.5, null, undefined, Number.MAX_SAFE_INTEGER + 1]) {
      const r = await tabs.call(7, bad, 'settings:get', []);
      expect(r.ok ? null : r.error.code).toBe('EINVAL');
    }
    expect((await tabs.call(7, 3, 'settings:get', [])).ok).toBe(true);
    // An id below one already seen was a tab that is gone (ids are never reused).
    const old = await tabs.call(7, 2, 'settings:get', []);
    expect(old.ok ? null : old.error.code).toBe('ECANCELED');
    expect((await tabs.call(7, 4, 'settings:get', [])).ok).toBe(true);
    const third = await tabs.call(7, 5, 'settings:get', []);
    expect(third.ok ? null : third.error).toMatchObject({ code: 'EBUSY', message: expect.stringContaining('at most 2 tabs') });
    expect(made).toHaveLength(2);
    // A closed tab frees its place.
    await tabs.closeTab(7, 3);
    expect((await tabs.call(7, 5, 'settings:get', [])).ok).toBe(true);
    expect(made).toHaveLength(3);
    // A window that is not ours (or is gone) has no tabs.
    const stranger = await tabs.call(8, 0, 'settings:get', []);
    expect(stranger.ok ? null : stranger.error.code).toBe('ECANCELED');
  });

  it('closing a window ends every session of its tabs, and only its own', async () => {
    const { tabs } = routing();
    tabs.openWindow(1);
    tabs.openWindow(2);
    await logIn(tabs, 1, 0, alice);
    await logIn(tabs, 1, 1, bob);
    await logIn(tabs, 2, 0, alice);

    await tabs.closeWindow(1);
    expect(tabs.tabCount(1)).toBe(0);
    const gone = await tabs.call(1, 0, 'session:state', []);
    expect(gone.ok ? null : gone.error.code).toBe('ECANCELED');
    const other = await tabs.call(2, 0, 'session:state', []);
    expect(other.ok && (other.value as { state: string }).state).toBe('connected');
    expect(tabs.tabCount(2)).toBe(1);
    expect(tabs.unsavedEdits()).toEqual([]);
  });
});
