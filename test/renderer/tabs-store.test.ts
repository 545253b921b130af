/**
 * The tabs registry (renderer/src/state/tabs-store.ts) over fake APIs: each tab its own
 * api and stores, kept while hidden; one queue of every tab's transfers with the tab each
 * belongs to, the tabs' totals added up, intents sent through each row's own tab; titles;
 * closing ends a tab's api; the bound.
 */
import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../shared/common/contract.js';
import { activeTab, createTabsStore, tabLabel } from '../../renderer/src/state/tabs-store.js';
import { FakeApi, ok, settle, transferEvent, view } from './fake-api.js';

/** A fake api that records whether its tab closed it. */
class TabApi extends FakeApi {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

const session = (user: string, host: string, port: number, profileId: string | null = null): SessionInfo => ({
  protocol: 'ferry',
  host,
  port,
  user: { name: user, exec: true, quota: null },
  cwd: '/',
  home: '/',
  fingerprint: 'SHA256:k',
  profileId,
  quota: true,
  check: 'sha256',
});

function api(): TabApi {
  const a = new TabApi();
  a.handle('session:state', () => ok({ state: 'disconnected' }))
    .handle('profiles:list', () => ok([{ id: 'p1', name: 'Work server', protocol: 'ferry', host: 'files.example', port: 7070, user: 'alice', remembered: false }]))
    .handle('settings:get', () => ok({ downloadDir: '/dl', concurrency: 4, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false }))
    .handle('transfers:list', () => ok({ transfers: [], totals: transferEvent({ kind: 'removed', ids: [] }).totals }))
    .handle('history:get', () => ok([]))
    .handle('edit:list', () => ok([]))
    .handle('fs:list', (path) => ok({ path, entries: [] }))
    .handle('fs:df', () => ok({ quota: null, used: 0, free: 0 }))
    .handle('transfers:pause', () => ok(undefined))
    .handle('transfers:pauseAll', () => ok(undefined));
  return a;
}

function setup(maxTabs?: number) {
  const first = api();
  const opened: TabApi[] = [];
  const tabs = createTabsStore({
    first,
    openApi: () => {
      const a = api();
      opened.push(a);
      return a;
    },
    ...(maxTabs !== undefined ? { maxTabs } : {}),
  });
  return { first, opened, tabs };
}

describe('the tabs registry', () => {
  it('starts with the page’s own api as its one tab, and a new tab gets an api and stores of its own, shown at once', async () => {
    const { first, opened, tabs } = setup();
    await settle();
    expect(tabs.getState().tabs).toHaveLength(1);
    const one = activeTab(tabs.getState());
    expect(one.stores.api).toBe(first);
    // Each tab's session store asks its own engine how it is.
    expect(first.made('session:state')).toHaveLength(1);

    const two = tabs.getState().open()!;
    await settle();
    expect(opened).toHaveLength(1);
    expect(two.stores.api).toBe(opened[0]);
    expect(two.stores).not.toBe(one.stores);
    expect(tabs.getState().activeId).toBe(two.id);
    expect(opened[0]!.made('session:state')).toHaveLength(1);
    expect(opened[0]!.made('profiles:list')).toHaveLength(1);
  });

  it('keeps a hidden tab’s stores and session: its events still land in its own stores', async () => {
    const { first, opened, tabs } = setup();
    const one = activeTab(tabs.getState());
    const two = tabs.getState().open()!;
    await settle();
    first.emit('session:state', { state: 'connected', session: session('alice', 'a.example', 7070) });
    opened[0]!.emit('session:state', { state: 'connected', session: session('bob', 'b.example', 7071) });
    await settle();
    expect(tabs.getState().activeId).toBe(two.id);
    expect(one.stores.session.getState().connection.state).toBe('connected');
    expect(tabs.getState().titles.get(one.id)).toEqual({ name: null, where: 'alice@a.example:7070' });
    expect(tabs.getState().titles.get(two.id)).toEqual({ name: null, where: 'bob@b.example:7071' });

    tabs.getState().activate(one.id);
    expect(activeTab(tabs.getState())).toBe(one);
    // Shown again, it reads what all tabs share afresh (settings, saved connections).
    await settle();
    expect(first.made('settings:get').length).toBeGreaterThanOrEqual(2);
    expect(one.stores.session.getState().connection.state).toBe('connected');
  });

  it('names a tab after its saved connection, else user@host:port, and keeps the name after a disconnect', async () => {
    const { first, tabs } = setup();
    const one = activeTab(tabs.getState());
    await settle();
    expect(tabLabel(tabs.getState().titles.get(one.id))).toBeNull();
    first.emit('session:state', { state: 'connected', session: session('alice', 'files.example', 7070, 'p1') });
    await settle();
    expect(tabLabel(tabs.getState().titles.get(one.id))).toBe('Work server');
    first.emit('session:state', { state: 'disconnected' });
    await settle();
    expect(tabs.getState().titles.get(one.id)).toEqual({ name: 'Work server', where: 'alice@files.example:7070' });
  });

  it('lists every tab’s transfers with their tab, adds up the totals, and sends a row’s intents through its own tab', async () => {
    const { first, opened, tabs } = setup();
    const one = activeTab(tabs.getState());
    const two = tabs.getState().open()!;
    first.emit('transfers:event', transferEvent({ kind: 'added', transfers: [view('a1', { state: 'active' })] }, { count: 1, active: 1, unfinished: 1, bytes: 10, size: 100 }));
    opened[0]!.emit(
      'transfers:event',
      transferEvent({ kind: 'added', transfers: [view('b1', { state: 'active' }), view('b2')] }, { count: 2, active: 1, queued: 1, unfinished: 2, bytes: 5, size: 300 }),
    );
    const rows = tabs.getState().rows;
    expect(rows.map((r) => [r.tab.id, r.id])).toEqual([
      [one.id, 'a1'],
      [two.id, 'b1'],
      [two.id, 'b2'],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(3);
    expect(tabs.getState().totals).toMatchObject({ count: 3, active: 2, queued: 1, unfinished: 3, bytes: 15, size: 300 + 100 });

    // A progress batch changes the totals but keeps the rows (and their identity).
    opened[0]!.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('b1', { state: 'active', bytes: 50 })] }, { count: 2, active: 1, queued: 1, unfinished: 2, bytes: 50, size: 300 }));
    expect(tabs.getState().rows).toBe(rows);
    expect(tabs.getState().totals.bytes).toBe(60);

    // Pause on tab one's row, shown while tab two is in front: it goes to tab one's engine.
    const row = tabs.getState().rows[0]!;
    await row.tab.stores.transfers.getState().pause(row.id);
    expect(first.made('transfers:pause').map((c) => c.args)).toEqual([['a1']]);
    expect(opened[0]!.made('transfers:pause')).toEqual([]);

    // "Pause all" reaches every tab.
    await tabs.getState().everyQueue((s) => s.transfers.getState().pauseAll());
    expect(first.made('transfers:pauseAll')).toHaveLength(1);
    expect(opened[0]!.made('transfers:pauseAll')).toHaveLength(1);
  });

  it('closing a tab ends its api and drops its transfers; its neighbour is shown; the last tab stays', async () => {
    const { first, opened, tabs } = setup();
    const one = activeTab(tabs.getState());
    const two = tabs.getState().open()!;
    const three = tabs.getState().open()!;
    opened[0]!.emit('transfers:event', transferEvent({ kind: 'added', transfers: [view('b1')] }, { count: 1, queued: 1, unfinished: 1 }));
    tabs.getState().activate(two.id);

    tabs.getState().close(two.id);
    expect(opened[0]!.closed).toBe(true);
    expect(tabs.getState().tabs).toEqual([one, three]);
    expect(tabs.getState().activeId).toBe(three.id);
    expect(tabs.getState().rows).toEqual([]);
    expect(tabs.getState().totals.count).toBe(0);
    // Its events no longer reach the registry.
    opened[0]!.emit('transfers:event', transferEvent({ kind: 'added', transfers: [view('b2')] }, { count: 2 }));
    expect(tabs.getState().rows).toEqual([]);

    tabs.getState().close(three.id);
    expect(tabs.getState().activeId).toBe(one.id);
    tabs.getState().close(one.id);
    expect(tabs.getState().tabs).toEqual([one]);
    expect(first.closed).toBe(false);
  });

  it('switches with wrap-around, and opens no more tabs than the bound', () => {
    const { tabs } = setup(3);
    const one = activeTab(tabs.getState());
    const two = tabs.getState().open()!;
    const three = tabs.getState().open()!;
    expect(tabs.getState().open()).toBeNull();
    expect(tabs.getState().tabs).toHaveLength(3);
    expect(tabs.getState().activeId).toBe(three.id);
    tabs.getState().step(1);
    expect(tabs.getState().activeId).toBe(one.id);
    tabs.getState().step(-1);
    expect(tabs.getState().activeId).toBe(three.id);
    tabs.getState().step(-1);
    expect(tabs.getState().activeId).toBe(two.id);
  });
});
