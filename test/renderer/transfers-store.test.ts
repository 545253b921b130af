import { describe, expect, it, vi } from 'vitest';
import type { ConflictPrompt } from '../../shared/common/contract.js';
import type { TransferId } from '../../shared/common/transfer-model.js';
import { applyTransferEvent, tableOf } from '../../renderer/src/logic/transfer-table.js';
import { createTransfersStore } from '../../renderer/src/state/transfers-store.js';
import { FakeApi, fail, ok, settle, transferEvent, view } from './fake-api.js';

describe('transfer table', () => {
  it('applies added, updated and removed, keeping unchanged rows identical', () => {
    let t = tableOf([view('a'), view('b')]);
    const b = t.byId.get('b' as TransferId);
    t = applyTransferEvent(t, { kind: 'updated', transfers: [view('a', { state: 'active', bytes: 500 })] });
    expect(t.byId.get('a' as TransferId)!.bytes).toBe(500);
    // The row that did not change is the same object: its component does not re-render.
    expect(t.byId.get('b' as TransferId)).toBe(b);
    t = applyTransferEvent(t, { kind: 'updated', transfers: [view('late')] });
    expect(t.order).toEqual(['a', 'b', 'late']);
    t = applyTransferEvent(t, { kind: 'removed', ids: ['a' as TransferId] });
    expect(t.order).toEqual(['b', 'late']);
    const same = applyTransferEvent(t, { kind: 'removed', ids: ['nope' as TransferId] });
    expect(same).toBe(t);
  });

  it('1,000 rows and batches of 1,000 updates: one map copy per batch, the order kept as it is (speed is measured by the bench)', () => {
    const views = Array.from({ length: 1000 }, (_, i) => view(`t${i}`));
    let t = tableOf(views);
    const order = t.order;
    for (let round = 0; round < 10; round++) {
      const before = t;
      t = applyTransferEvent(t, { kind: 'updated', transfers: views.map((v) => ({ ...v, bytes: round * 100, state: 'active' as const })) });
      expect(t.byId).not.toBe(before.byId);
    }
    expect(t.order).toBe(order);
    expect(t.order).toHaveLength(1000);
    expect(t.byId.get('t999' as TransferId)).toMatchObject({ bytes: 900, state: 'active' });
  });
});

describe('transfers store', () => {
  it('follows transfers:event batches and tells when files finish', () => {
    const api = new FakeApi();
    const onFinished = vi.fn();
    const store = createTransfersStore(api, { onFinished });
    api.emit('transfers:event', transferEvent({ kind: 'added', transfers: [view('a'), view('b')] }));
    api.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('a', { state: 'active', bytes: 10 })] }));
    expect(onFinished).not.toHaveBeenCalled();
    api.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('a', { state: 'done', bytes: 1000, verified: true })] }));
    expect(onFinished).toHaveBeenCalledTimes(1);
    expect(store.getState().order).toEqual(['a', 'b']);
  });

  it('shows the totals the engine sent with each event and with the list, never its own', async () => {
    const api = new FakeApi();
    const engineTotals = { count: 3, queued: 1, done: 1, paused: 1, unfinished: 2, bytes: 1500, size: 3000 };
    api.handle('transfers:list', () => ok({ transfers: [view('a', { state: 'done' })], totals: transferEvent({ kind: 'removed', ids: [] }, engineTotals).totals }));
    const store = createTransfersStore(api);
    expect(store.getState().totals).toMatchObject({ count: 0, bytes: 0, size: 0 });
    // The list holds one row, the engine counts three (say, two more came in meanwhile): its word stands.
    await store.getState().load();
    expect(store.getState().order).toEqual(['a']);
    expect(store.getState().totals).toEqual(transferEvent({ kind: 'removed', ids: [] }, engineTotals).totals);
    // A skipped file with bytes: the store does not add them up itself.
    api.emit('transfers:event', transferEvent({ kind: 'updated', transfers: [view('b', { state: 'skipped', bytes: 1000 })] }, { count: 2, done: 2, bytes: 1000, size: 1000 }));
    expect(store.getState().totals).toMatchObject({ count: 2, done: 2, bytes: 1000, size: 1000, unfinished: 0 });
    // Even an event that changes no row brings the engine's new totals.
    api.emit('transfers:event', transferEvent({ kind: 'removed', ids: ['nope' as TransferId] }, { count: 7 }));
    expect(store.getState().totals.count).toBe(7);
  });

  it('shows an upload refused up front (EQUOTA) with the engine’s message', async () => {
    const api = new FakeApi();
    api.uploadResult = fail('EQUOTA', 'this upload needs 12.0 MiB but only 3.0 MiB is left of your 10.0 MiB quota');
    const store = createTransfersStore(api);
    const done = await store.getState().upload({ files: [{ name: 'big.iso', size: 12 << 20 }], relativePaths: ['big.iso'] }, '/backup');
    expect(done).toBe(false);
    expect(api.uploads[0]).toMatchObject({ relativePaths: ['big.iso'], remoteDir: '/backup' });
    expect(store.getState().refusal?.error.code).toBe('EQUOTA');
    expect(store.getState().refusal?.error.message).toMatch(/needs 12.0 MiB .* 3.0 MiB is left/);
    expect(store.getState().preparing).toBe(0);
  });

  it('adds the rows an upload or download returns', async () => {
    const api = new FakeApi();
    api.uploadResult = ok([view('u1')]);
    api.handle('transfers:download', (paths) => ok(paths.map((p) => view(p.slice(1), { direction: 'download' }))));
    const store = createTransfersStore(api);
    await store.getState().upload({ files: [{ name: 'a', size: 1 }], relativePaths: ['a'] }, '/');
    await store.getState().download(['/d1', '/d2']);
    expect(store.getState().order).toEqual(['u1', 'd1', 'd2']);
    expect(api.made('transfers:download')[0]!.args).toEqual([['/d1', '/d2']]);
  });

  it('sends row and queue intents by id', async () => {
    const api = new FakeApi();
    for (const name of ['transfers:pause', 'transfers:resume', 'transfers:cancel', 'transfers:retry'] as const) api.handle(name, () => ok(undefined));
    api.handle('transfers:clear', () => ok(undefined));
    const store = createTransfersStore(api);
    const id = 'x' as TransferId;
    await store.getState().pause(id);
    await store.getState().resume(id);
    await store.getState().cancel(id);
    await store.getState().retry(id);
    await store.getState().clearFinished();
    expect(api.made().map((c) => `${c.name}(${c.args.join(',')})`)).toEqual([
      'transfers:pause(x)',
      'transfers:resume(x)',
      'transfers:cancel(x)',
      'transfers:retry(x)',
      'transfers:clear()',
    ]);
    await store.getState().pauseAll();
    expect(store.getState().refusal?.text).toBe('Could not pause');
  });

  it('asks conflicts one at a time and sends each answer once; "apply to all" is the engine’s to apply', async () => {
    const api = new FakeApi();
    api.handle('transfers:resolveConflict', () => ok(undefined));
    const store = createTransfersStore(api);
    const prompt = (id: string, batch = 'b1'): ConflictPrompt => ({ conflictId: id, transfer: view(id), existing: { size: 5, mtime: 1 }, batch });
    api.emit('transfers:conflict', prompt('c1'));
    api.emit('transfers:conflict', prompt('c2'));
    api.emit('transfers:conflict', prompt('c3'));
    api.emit('transfers:conflict', prompt('c4', 'b2'));
    await store.getState().resolveConflict('skip', false);
    expect(store.getState().conflicts.map((c) => c.conflictId)).toEqual(['c2', 'c3', 'c4']);
    await store.getState().resolveConflict('overwrite', true);
    await settle();
    // The store answers only the question it showed: the rest of the batch is the queue's call.
    expect(api.made('transfers:resolveConflict').map((c) => c.args)).toEqual([
      ['c1', 'skip', false],
      ['c2', 'overwrite', true],
    ]);
    expect(store.getState().conflicts.map((c) => c.conflictId)).toEqual(['c3', 'c4']);
    // The queue settles c3 with that answer and withdraws its prompt: it disappears.
    api.emit('transfers:conflictWithdrawn', { conflictId: 'c3' });
    // c4 came from another drop: it is still asked.
    expect(store.getState().conflicts.map((c) => c.conflictId)).toEqual(['c4']);
  });

  it('drops a question the engine withdrew', async () => {
    const api = new FakeApi();
    const store = createTransfersStore(api);
    const prompt = (id: string): ConflictPrompt => ({ conflictId: id, transfer: view(id), existing: { size: 5, mtime: 1 }, batch: 'b' });
    api.emit('transfers:conflict', prompt('c1'));
    api.emit('transfers:conflict', prompt('c2'));
    api.emit('transfers:conflictWithdrawn', { conflictId: 'c1' });
    expect(store.getState().conflicts.map((c) => c.conflictId)).toEqual(['c2']);
  });
});
