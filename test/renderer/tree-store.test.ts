import { describe, expect, it } from 'vitest';
import { createTreeStore } from '../../renderer/src/state/tree-store.js';
import { FakeApi, dir, fail, file, memoryFs, ok, settle } from './fake-api.js';

const setup = () => {
  const api = new FakeApi();
  const fs = memoryFs(api, {
    '/': [dir('docs'), file('readme.txt', 10), dir('empty')],
    '/docs': [file('a.md'), dir('old')],
    '/docs/old': [file('x.txt')],
    '/empty': [],
  });
  const tree = createTreeStore(api);
  return { api, fs, tree };
};
const paths = (tree: ReturnType<typeof createTreeStore>) => tree.getState().rows.map((r) => r.path);

describe('tree store', () => {
  it('lists the current folder, and a folder only when it is expanded', async () => {
    const { api, tree } = setup();
    tree.getState().reset('/');
    await settle();
    expect(paths(tree)).toEqual(['/docs', '/empty', '/readme.txt']);
    expect(api.made('fs:list').map((c) => c.args[0])).toEqual(['/']);
    tree.getState().toggle('/docs');
    expect(tree.getState().folders.get('/docs')?.status).toBe('loading');
    await settle();
    expect(paths(tree)).toEqual(['/docs', '/docs/old', '/docs/a.md', '/empty', '/readme.txt']);
    tree.getState().toggle('/docs');
    expect(paths(tree)).toEqual(['/docs', '/empty', '/readme.txt']);
    tree.getState().toggle('/docs');
    await settle();
    // Listed once: expanding again shows the cached listing.
    expect(api.made('fs:list').filter((c) => c.args[0] === '/docs')).toHaveLength(1);
  });

  it('opening a folder moves the session (fs:cd) and the breadcrumbs; going up puts focus on where we came from', async () => {
    const { api, tree } = setup();
    tree.getState().reset('/');
    await settle();
    expect(await tree.getState().navigate('/docs')).toBe(true);
    expect(tree.getState().cwd).toBe('/docs');
    expect(api.made('fs:cd').map((c) => c.args[0])).toEqual(['/docs']);
    expect(paths(tree)).toEqual(['/docs/old', '/docs/a.md']);
    await tree.getState().navigate('/');
    expect(tree.getState().selection.focus).toBe('/docs');
    expect(await tree.getState().navigate('/nope')).toBe(false);
    expect(tree.getState().notice?.error.code).toBe('ENOENT');
    expect(tree.getState().cwd).toBe('/');
  });

  it('follows a cd made in the console without another fs:cd', async () => {
    const { api, tree } = setup();
    tree.getState().reset('/');
    await settle();
    await tree.getState().follow('/docs/old');
    expect(tree.getState().cwd).toBe('/docs/old');
    expect(paths(tree)).toEqual(['/docs/old/x.txt']);
    expect(api.made('fs:cd')).toHaveLength(0);
  });

  it('lists again visible folders named by fs:changed, and forgets hidden ones', async () => {
    const { api, fs, tree } = setup();
    tree.getState().reset('/');
    await settle();
    tree.getState().expand('/docs');
    await settle();
    tree.getState().expand('/docs/old');
    await settle();
    tree.getState().collapse('/docs/old');
    fs.folders.set('/docs', [...fs.folders.get('/docs')!, file('new.md')]);
    const before = api.made('fs:list').length;
    api.emit('fs:changed', { paths: ['/docs', '/elsewhere'] });
    await settle();
    expect(api.made('fs:list').length).toBe(before + 1);
    expect(paths(tree)).toContain('/docs/new.md');
    // /docs/old is collapsed: not listed now, but its cached listing is dropped, so
    // expanding it again lists it afresh.
    expect(tree.getState().folders.has('/docs/old')).toBe(true);
    api.emit('fs:changed', { paths: ['/docs/old/'] });
    await settle();
    expect(api.made('fs:list').length).toBe(before + 1);
    expect(tree.getState().folders.has('/docs/old')).toBe(false);
    tree.getState().expand('/docs/old');
    await settle();
    expect(api.made('fs:list').at(-1)!.args[0]).toBe('/docs/old');
  });

  it('lists a folder again only when fs:changed names it: a mkdir lists its folder once', async () => {
    const { api, tree } = setup();
    tree.getState().reset('/');
    await settle();
    const before = api.made('fs:list').length;
    expect(await tree.getState().mkdir('/', 'new')).toBe(true);
    await settle();
    expect(api.made('fs:list').slice(before).map((c) => c.args[0])).toEqual(['/']);
    expect(tree.getState().selectedPaths()).toEqual(['/new']);
    // A console command in the folder the tree shows: its notice lists it, the exit does not again.
    const atExit = api.made('fs:list').length;
    await tree.getState().follow('/');
    await settle();
    expect(api.made('fs:list').length).toBe(atExit);
  });

  it('selects a new folder when a later notice lists it (the answer came first)', async () => {
    const { api, fs, tree } = setup();
    tree.getState().reset('/');
    await settle();
    api.handle('fs:mkdir', (path) => {
      fs.folders.set('/', [...fs.folders.get('/')!, dir(path.slice(1))]);
      return ok(path);
    });
    expect(await tree.getState().mkdir('/', 'later')).toBe(true);
    expect(tree.getState().rowIndex.has('/later')).toBe(false);
    api.emit('fs:changed', { paths: ['/'] });
    await settle();
    expect(tree.getState().selectedPaths()).toEqual(['/later']);
  });

  it('sorts by a column and reverses on a second click; filters as you type', async () => {
    const { tree } = setup();
    tree.getState().reset('/');
    await settle();
    tree.getState().setSort('name');
    expect(tree.getState().sort).toEqual({ key: 'name', dir: 'desc' });
    expect(paths(tree)).toEqual(['/empty', '/docs', '/readme.txt']);
    tree.getState().setSort('size');
    expect(tree.getState().sort).toEqual({ key: 'size', dir: 'desc' });
    expect(paths(tree)).toEqual(['/docs', '/empty', '/readme.txt']);
    tree.getState().setFilter('READ');
    expect(paths(tree)).toEqual(['/readme.txt']);
  });

  it('drops filtered-out rows from the selection (Delete never hits hidden files)', async () => {
    const { tree } = setup();
    tree.getState().reset('/');
    await settle();
    tree.getState().selectAll();
    expect(tree.getState().selectedPaths()).toHaveLength(3);
    tree.getState().setFilter('doc');
    expect(tree.getState().selectedPaths()).toEqual(['/docs']);
  });

  it('creates, renames, moves and deletes, then shows the result', async () => {
    const { api, tree } = setup();
    tree.getState().reset('/');
    await settle();
    expect(await tree.getState().mkdir('/', 'new')).toBe(true);
    expect(paths(tree)).toContain('/new');
    expect(tree.getState().selectedPaths()).toEqual(['/new']);
    expect(await tree.getState().mkdir('/', 'new')).toBe(false);
    expect(tree.getState().notice?.error.code).toBe('EEXIST');

    expect(await tree.getState().rename('/readme.txt', 'README.md')).toBe(true);
    expect(api.made('fs:rename').at(-1)!.args).toEqual(['/readme.txt', '/README.md']);
    expect(paths(tree)).toContain('/README.md');

    expect(await tree.getState().moveInto(['/README.md', '/new'], '/docs')).toBe(true);
    expect(api.made('fs:rename').slice(-2).map((c) => c.args)).toEqual([
      ['/README.md', '/docs/README.md'],
      ['/new', '/docs/new'],
    ]);
    // Moving a folder into itself or where it already is does nothing.
    expect(await tree.getState().moveInto(['/docs'], '/docs')).toBe(false);
    expect(await tree.getState().moveInto(['/docs/a.md'], '/docs')).toBe(false);

    tree.getState().expand('/docs');
    await settle();
    expect(await tree.getState().remove(['/docs'])).toBe(true);
    expect(api.made('fs:delete').at(-1)!.args).toEqual([['/docs']]);
    expect(paths(tree)).toEqual(['/empty']);
    expect(tree.getState().expanded.has('/docs')).toBe(false);
  });

  it('drops a listing that answers after the view moved on', async () => {
    const api = new FakeApi();
    let release: (() => void) | undefined;
    api.handle('fs:list', (path) =>
      path === '/slow'
        ? new Promise((resolve) => (release = () => resolve(ok({ path, entries: [file('stale')] }))))
        : ok({ path, entries: [file('fresh')] }),
    );
    const tree = createTreeStore(api);
    tree.getState().reset('/slow');
    tree.getState().reset('/fast');
    await settle();
    release?.();
    await settle();
    expect(tree.getState().cwd).toBe('/fast');
    expect(paths(tree)).toEqual(['/fast/fresh']);
    expect(tree.getState().folders.has('/slow')).toBe(false);
  });

  it('keeps the error of a folder that cannot be listed', async () => {
    const api = new FakeApi();
    api.handle('fs:list', () => fail('EACCES', 'Access denied'));
    const tree = createTreeStore(api);
    tree.getState().reset('/');
    await settle();
    const folder = tree.getState().folders.get('/');
    expect(folder?.status).toBe('error');
  });
});
