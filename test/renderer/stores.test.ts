import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../shared/common/contract.js';
import { createStores } from '../../renderer/src/state/stores.js';
import { FakeApi, dir, file, memoryFs, ok, settle, transferEvent, view } from './fake-api.js';

const session: SessionInfo = {
  protocol: 'ferry',
  host: 'h',
  port: 7070,
  user: { name: 'alice', exec: true, quota: 1000 },
  cwd: '/',
  home: '/',
  fingerprint: 'SHA256:k',
  profileId: null,
  quota: true,
  check: 'sha256',
};

function setup() {
  const api = new FakeApi();
  memoryFs(api, { '/': [dir('docs'), file('a.txt')], '/docs': [file('b.txt')] });
  let used = 0;
  api
    .handle('session:connect', () => ok({ kind: 'connected', session }))
    .handle('fs:df', () => ok({ quota: 1000, used, free: 1000 - used }))
    .handle('transfers:list', () => ok({ transfers: [view('t1', { state: 'active' })], totals: transferEvent({ kind: 'removed', ids: [] }, { count: 1, active: 1 }).totals }))
    .handle('history:get', () => ok(['ls']));
  const stores = createStores(api);
  return { api, stores, setUsed: (n: number) => (used = n) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the stores together', () => {
  it('a login opens the home, loads transfers, history and quota', async () => {
    const { api, stores } = setup();
    stores.session.getState().setDraft({ user: 'alice' });
    await stores.session.getState().submitDraft();
    await settle();
    expect(stores.tree.getState().cwd).toBe('/');
    expect(stores.tree.getState().rows.map((r) => r.name)).toEqual(['docs', 'a.txt']);
    expect(stores.transfers.getState().order).toEqual(['t1']);
    expect(stores.transfers.getState().totals).toMatchObject({ count: 1, active: 1 });
    expect(stores.console.getState().history).toEqual(['ls']);
    expect(stores.session.getState().df).toEqual({ quota: 1000, used: 0, free: 1000 });
    expect(api.made('fs:df')).toHaveLength(1);
  });

  it('a cd in the console moves the tree; the tree moving changes the console prompt', async () => {
    const { api, stores } = setup();
    api.emit('session:state', { state: 'connected', session });
    await settle();
    api.emit('exec:exit', { execId: 'x', code: 0, signal: null, cwd: '/docs' });
    await settle();
    expect(stores.tree.getState().cwd).toBe('/docs');
    expect(stores.tree.getState().rows.map((r) => r.name)).toEqual(['b.txt']);
    await stores.tree.getState().navigate('/');
    expect(stores.tree.getState().cwd).toBe('/');
    expect(api.made('fs:cd').at(-1)!.args).toEqual(['/']);
  });

  it('finished transfers refresh the quota, once per burst', async () => {
    vi.useFakeTimers();
    const { api, stores, setUsed } = setup();
    api.emit('session:state', { state: 'connected', session });
    await vi.advanceTimersByTimeAsync(10);
    const before = api.made('fs:df').length;
    setUsed(400);
    api.emit('transfers:event', transferEvent({ kind: 'added', transfers: [view('a'), view('b')] }));
    api.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('a', { state: 'done' })] }));
    api.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('b', { state: 'done' })] }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(api.made('fs:df').length).toBe(before + 1);
    expect(stores.session.getState().df?.used).toBe(400);
  });

  it('a disconnect empties the tree', async () => {
    const { api, stores } = setup();
    api.emit('session:state', { state: 'connected', session });
    await settle();
    api.emit('session:state', { state: 'disconnected' });
    expect(stores.tree.getState().cwd).toBe('');
    expect(stores.tree.getState().rows).toEqual([]);
  });
});
