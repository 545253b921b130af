/**
 * The search panel's store: results appended as 'search:found' events come (events for the
 * search being started are kept until its id arrives; others' are ignored), the end kept,
 * Stop sends search:cancel, a refused call shows its error, and a new session clears it.
 */
import { describe, expect, it } from 'vitest';
import { createSearchStore } from '../../renderer/src/state/search-store.js';
import type { SearchHit } from '../../shared/common/search-model.js';
import { FakeApi, fail, file, ok } from './fake-api.js';

const hit = (path: string): SearchHit => ({ path, entry: file(path.slice(path.lastIndexOf('/') + 1)) });

describe('search store', () => {
  it('keeps results as they come, including those that beat the id, and ignores other searches', async () => {
    const api = new FakeApi();
    let answer!: (v: ReturnType<typeof ok<string>>) => void;
    api.handle('search:start', () => new Promise((resolve) => (answer = resolve)));
    const store = createSearchStore(api);
    store.getState().openPanel('/docs');
    store.getState().setPattern(' *.md ');
    const started = store.getState().start();
    expect(api.made('search:start')[0]!.args).toEqual(['/docs', '*.md', { caseSensitive: false }]);
    api.emit('search:found', { searchId: 's1', hits: [hit('/docs/a.md')] });
    api.emit('search:found', { searchId: 'other', hits: [hit('/x/b.md')] });
    answer(ok('s1'));
    await started;
    expect(store.getState().hits.map((h) => h.path)).toEqual(['/docs/a.md']);
    api.emit('search:found', { searchId: 's1', hits: [hit('/docs/c/d.md')] });
    api.emit('search:found', { searchId: 'other', hits: [hit('/x/e.md')] });
    api.emit('search:end', { searchId: 's1', found: 2, end: { kind: 'truncated', bound: 'results' } });
    expect(store.getState().hits.map((h) => h.path)).toEqual(['/docs/a.md', '/docs/c/d.md']);
    expect(store.getState().phase).toEqual({ kind: 'ended', end: { kind: 'truncated', bound: 'results' } });
  });

  it('Stop cancels the running search; a refused start shows its error; a new session clears all', async () => {
    const api = new FakeApi().handle('search:start', () => ok('s9')).handle('search:cancel', () => ok(undefined));
    const store = createSearchStore(api);
    store.getState().openPanel('/');
    store.getState().setPattern('x');
    await store.getState().start();
    expect(store.getState().phase).toEqual({ kind: 'running', searchId: 's9' });
    // Opening the panel again while it runs keeps the folder searched.
    store.getState().openPanel('/elsewhere');
    expect(store.getState().folder).toBe('/');
    store.getState().stop();
    expect(api.made('search:cancel')[0]!.args).toEqual(['s9']);
    api.emit('search:end', { searchId: 's9', found: 0, end: { kind: 'stopped' } });
    expect(store.getState().phase).toEqual({ kind: 'ended', end: { kind: 'stopped' } });

    api.handle('search:start', () => fail('EINVAL', 'backwards range'));
    await store.getState().start();
    expect(store.getState().refusal).toEqual({ code: 'EINVAL', message: 'backwards range' });
    expect(store.getState().phase).toEqual({ kind: 'idle' });

    store.getState().reset();
    expect(store.getState()).toMatchObject({ open: false, hits: [], refusal: null, phase: { kind: 'idle' } });
  });
});
