import { describe, expect, it } from 'vitest';
import type { Entry } from '../../shared/common/messages.js';
import { flattenTree, nameKey, sortEntries, sortedCached, type FolderState } from '../../renderer/src/logic/tree-rows.js';
import { dir, file } from './fake-api.js';

const names = (entries: readonly Entry[]): string[] => entries.map((e) => e.name);
const loaded = (entries: Entry[]): FolderState => ({ status: 'loaded', entries });

describe('sorting', () => {
  it('orders names case-insensitively and numbers by value', () => {
    const sorted = sortEntries([file('file10'), file('File2'), file('file1'), file('a'), file('file02b')], { key: 'name', dir: 'asc' });
    expect(names(sorted)).toEqual(['a', 'file1', 'File2', 'file02b', 'file10']);
    expect(nameKey('x9') < nameKey('x10')).toBe(true);
  });

  it('keeps folders first in both directions', () => {
    const entries = [file('b', 5), dir('z'), file('a', 50), dir('m')];
    expect(names(sortEntries(entries, { key: 'name', dir: 'asc' }))).toEqual(['m', 'z', 'a', 'b']);
    expect(names(sortEntries(entries, { key: 'name', dir: 'desc' }))).toEqual(['z', 'm', 'b', 'a']);
    // Equal sizes (the folders) keep their names in natural order.
    expect(names(sortEntries(entries, { key: 'size', dir: 'desc' }))).toEqual(['m', 'z', 'a', 'b']);
  });

  it('sorts by modification time, names breaking ties', () => {
    const entries = [file('old', 1, 100), file('new', 1, 300), file('b-mid', 1, 200), file('a-mid', 1, 200)];
    expect(names(sortEntries(entries, { key: 'mtime', dir: 'asc' }))).toEqual(['old', 'a-mid', 'b-mid', 'new']);
  });
});

describe('flattenTree', () => {
  const folders = new Map<string, FolderState>([
    ['/', loaded([file('readme.txt'), dir('docs'), dir('photos')])],
    ['/docs', loaded([file('b.md'), dir('old'), file('a.md')])],
    ['/docs/old', loaded([file('x.txt')])],
    ['/photos', { status: 'loading', entries: null }],
  ]);

  it('shows expanded folders right below their row, one level deeper', () => {
    const rows = flattenTree({ cwd: '/', folders, expanded: new Set(['/docs', '/docs/old']), sort: { key: 'name', dir: 'asc' }, filter: '' });
    expect(rows.map((r) => `${'  '.repeat(r.depth)}${r.name}`)).toEqual([
      'docs',
      '  old',
      '    x.txt',
      '  a.md',
      '  b.md',
      'photos',
      'readme.txt',
    ]);
    expect(rows[1]).toMatchObject({ path: '/docs/old', parent: '/docs', isDir: true, pos: 1, setSize: 3 });
  });

  it('skips collapsed and not yet loaded folders', () => {
    const rows = flattenTree({ cwd: '/', folders, expanded: new Set(['/docs/old', '/photos']), sort: { key: 'name', dir: 'asc' }, filter: '' });
    expect(rows.map((r) => r.path)).toEqual(['/docs', '/photos', '/readme.txt']);
  });

  it('filters the current folder by name, keeping what is inside a match', () => {
    const rows = flattenTree({ cwd: '/', folders, expanded: new Set(['/docs']), sort: { key: 'name', dir: 'asc' }, filter: 'DO' });
    expect(rows.map((r) => r.path)).toEqual(['/docs', '/docs/old', '/docs/a.md', '/docs/b.md']);
    expect(rows[0]).toMatchObject({ pos: 1, setSize: 1 });
  });

  it('flattens a folder of 100,000 entries, sorting it once for all later flattens (speed is measured by the bench, not here)', () => {
    const entries: Entry[] = [];
    for (let i = 0; i < 100_000; i++) entries.push(i % 10 === 0 ? dir(`folder ${i}`) : file(`file-${(i * 7919) % 100_000}.dat`, i));
    const big = new Map<string, FolderState>([['/big', loaded(entries)]]);
    const input = { cwd: '/big', folders: big, expanded: new Set<string>(), sort: { key: 'name', dir: 'asc' } as const, filter: '' };
    const rows = flattenTree(input);
    expect(rows).toHaveLength(100_000);
    expect(rows[0]!.isDir).toBe(true);
    expect(rows[10_000]!.isDir).toBe(false);
    expect(rows[10_000]!.name).toBe('file-1.dat');
    // The sorted order is kept per listing and order: expanding a folder or filtering
    // does not sort the 100,000 entries again, and a new order does.
    const sorted = sortedCached(entries, input.sort);
    expect(sortedCached(entries, input.sort)).toBe(sorted);
    const again = flattenTree({ ...input, expanded: new Set(['/big/folder 0']) });
    expect(again.map((r) => r.entry)).toEqual(rows.map((r) => r.entry));
    expect(sortedCached(entries, input.sort)).toBe(sorted);
    expect(sortedCached(entries, { key: 'name', dir: 'desc' })).not.toBe(sorted);
    const filtered = flattenTree({ ...input, filter: 'file-99' });
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((r) => r.name.includes('file-99'))).toBe(true);
  });
});
