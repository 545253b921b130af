/**
 * A path typed or pasted into the path bar: what folder it means (absolute, `~` for the
 * pane's home, or relative to the folder shown), and completion of its last name from
 * the folders of its parent. Pure string work on '/'-separated paths.
 */
import type { Entry } from '../../../shared/common/messages.js';
import { nameKey } from './tree-rows.js';

/** Names offered at once (a folder of 10,000 subfolders offers the first ones). */
export const COMPLETIONS_MAX = 50;

/** '.' and '..' folded, repeated and trailing '/' dropped: '/a/./b/../c/' → '/a/c'. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** The absolute folder `typed` means: `~` is the pane's home, a relative path starts at `cwd`. */
export function resolveTyped(typed: string, cwd: string, home: string): string {
  const text = typed.trim();
  if (text === '') return cwd;
  if (text === '~') return normalizePath(home);
  if (text.startsWith('~/')) return normalizePath(`${home}/${text.slice(2)}`);
  if (text.startsWith('/')) return normalizePath(text);
  return normalizePath(`${cwd}/${text}`);
}

/** The folder to list for completion and the start of the name being typed. */
export function completionQuery(typed: string, cwd: string, home: string): { readonly parent: string; readonly prefix: string } {
  const text = typed.trim();
  const cut = text.lastIndexOf('/');
  // '~' alone, or a bare name: complete inside the home or the folder shown.
  if (cut < 0) return text === '~' ? { parent: normalizePath(home), prefix: '' } : { parent: cwd, prefix: text };
  const prefix = text.slice(cut + 1);
  const head = text.slice(0, cut + 1);
  return { parent: resolveTyped(head === '' ? '/' : head, cwd, home), prefix: prefix === '.' || prefix === '..' ? '' : prefix };
}

/** Folder names that start with `prefix` (case-insensitively), in the tree's name order. */
export function matchFolders(entries: readonly Entry[], prefix: string, max = COMPLETIONS_MAX): string[] {
  const lower = prefix.toLowerCase();
  return entries
    .filter((e) => e.type === 'dir' && e.name.toLowerCase().startsWith(lower))
    .map((e) => ({ name: e.name, key: nameKey(e.name) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.name < b.name ? -1 : 1))
    .slice(0, max)
    .map((e) => e.name);
}

/** The typed text with its last name replaced by `name`, ready for the next one: '/a/fo' + 'foo' → '/a/foo/'. */
export function applyCompletion(typed: string, name: string): string {
  const text = typed.trim();
  const cut = text.lastIndexOf('/');
  return `${cut < 0 ? '' : text.slice(0, cut + 1)}${name}/`;
}
