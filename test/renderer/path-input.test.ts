/** The path bar's pure logic: typed paths, completion of folder names, and breadcrumbs of both panes. */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../shared/common/messages.js';
import { applyCompletion, completionQuery, matchFolders, normalizePath, resolveTyped } from '../../renderer/src/logic/path-input.js';
import { crumbs } from '../../renderer/src/logic/remote-path.js';

const dir = (name: string): Entry => ({ name, type: 'dir', size: 0, mtime: 0, mode: 0o755 });
const file = (name: string): Entry => ({ name, type: 'file', size: 1, mtime: 0, mode: 0o644 });

describe('typed paths', () => {
  it('folds . and .. and slashes', () => {
    expect(normalizePath('/a/./b/../c/')).toBe('/a/c');
    expect(normalizePath('//a//b')).toBe('/a/b');
    expect(normalizePath('/../..')).toBe('/');
  });

  it('reads ~ as the home and a relative path from the folder shown', () => {
    expect(resolveTyped('  /srv/www/ ', '/x', '/home/al')).toBe('/srv/www');
    expect(resolveTyped('~', '/x', '/home/al')).toBe('/home/al');
    expect(resolveTyped('~/docs/../pics', '/x', '/home/al')).toBe('/home/al/pics');
    expect(resolveTyped('sub/deeper', '/x/y', '/')).toBe('/x/y/sub/deeper');
    expect(resolveTyped('..', '/x/y', '/')).toBe('/x');
    expect(resolveTyped('', '/x/y', '/')).toBe('/x/y');
  });
});

describe('completion', () => {
  it('lists the parent of what is typed and completes its last name', () => {
    expect(completionQuery('/srv/ww', '/', '/')).toEqual({ parent: '/srv', prefix: 'ww' });
    expect(completionQuery('/srv/', '/', '/')).toEqual({ parent: '/srv', prefix: '' });
    expect(completionQuery('/', '/a', '/')).toEqual({ parent: '/', prefix: '' });
    expect(completionQuery('do', '/a', '/')).toEqual({ parent: '/a', prefix: 'do' });
    expect(completionQuery('~/Do', '/a', '/home/al')).toEqual({ parent: '/home/al', prefix: 'Do' });
    expect(completionQuery('~', '/a', '/home/al')).toEqual({ parent: '/home/al', prefix: '' });
  });

  it('offers folders only, case-insensitively, in natural order, bounded', () => {
    const entries = [dir('photos10'), dir('Photos2'), file('photo.txt'), dir('music'), dir('photos1')];
    expect(matchFolders(entries, 'pho')).toEqual(['photos1', 'Photos2', 'photos10']);
    expect(matchFolders(entries, '')).toEqual(['music', 'photos1', 'Photos2', 'photos10']);
    expect(matchFolders(entries, 'x')).toEqual([]);
    expect(matchFolders(Array.from({ length: 80 }, (_, i) => dir(`d${i}`)), 'd', 50)).toHaveLength(50);
  });

  it('puts the chosen name in place of the one being typed', () => {
    expect(applyCompletion('/srv/ww', 'www')).toBe('/srv/www/');
    expect(applyCompletion('/', 'etc')).toBe('/etc/');
    expect(applyCompletion('do', 'docs')).toBe('docs/');
    expect(applyCompletion('~/Do', 'Documents')).toBe('~/Documents/');
  });
});

describe('breadcrumbs', () => {
  it('start at Home inside the home, at / outside it', () => {
    expect(crumbs('/home/al/docs/x', '/home/al')).toEqual([
      { name: 'Home', path: '/home/al' },
      { name: 'docs', path: '/home/al/docs' },
      { name: 'x', path: '/home/al/docs/x' },
    ]);
    expect(crumbs('/etc/ssh', '/home/al')).toEqual([
      { name: '/', path: '/' },
      { name: 'etc', path: '/etc' },
      { name: 'ssh', path: '/etc/ssh' },
    ]);
    expect(crumbs('/', '/')).toEqual([{ name: 'Home', path: '/' }]);
  });
});
