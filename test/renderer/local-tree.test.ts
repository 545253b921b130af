/** The tree store over this computer's files (tree-source.ts): local:list only, never the session's fs:cd. */
import { describe, expect, it } from 'vitest';
import { localSource } from '../../renderer/src/state/tree-source.js';
import { createTreeStore } from '../../renderer/src/state/tree-store.js';
import { FakeApi, dir, fail, file, ok, settle } from './fake-api.js';

describe('local tree', () => {
  it('lists and opens folders with local:list, never moving the remote session', async () => {
    const api = new FakeApi();
    const folders: Record<string, ReturnType<typeof file>[]> = {
      '/home/al': [dir('pics'), file('notes.txt')],
      '/home/al/pics': [file('cat.jpg')],
    };
    api.handle('local:list', (p) => (folders[p] ? ok({ path: p, entries: folders[p]! }) : fail('ENOENT', `There is no folder ${p} on this computer.`)));
    const tree = createTreeStore(api, localSource(api));
    tree.getState().reset('/home/al', '/home/al', '/home/al');
    await settle();
    expect(tree.getState().rows.map((r) => r.name)).toEqual(['pics', 'notes.txt']);
    expect(tree.getState().top).toBe('/home/al');

    expect(await tree.getState().open('/home/al/pics')).toBeNull();
    expect(tree.getState().cwd).toBe('/home/al/pics');
    expect(tree.getState().rows.map((r) => r.name)).toEqual(['cat.jpg']);
    // Opening listed the folder: it is not listed a second time.
    expect(api.made('local:list').map((c) => c.args[0])).toEqual(['/home/al', '/home/al/pics']);
    expect(await tree.getState().open('/nope')).toMatchObject({ code: 'ENOENT' });
    expect(tree.getState().notice).toBeNull();
    expect(api.made('fs:cd')).toEqual([]);
    expect(api.made('fs:list')).toEqual([]);
  });
});
