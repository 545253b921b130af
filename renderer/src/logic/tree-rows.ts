/**
 * The remote tree as the list the virtualizer draws: the current folder's entries, each
 * expanded folder's entries right below it, sorted and filtered. Pure, and fast enough for
 * a folder of 100,000 entries (sorting is cached per listing and order).
 */
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { Entry } from '../../../shared/common/messages.js';
import { joinPath } from './remote-path.js';

export type SortKey = 'name' | 'size' | 'mtime';
export interface SortOrder {
  readonly key: SortKey;
  readonly dir: 'asc' | 'desc';
}

export type FolderState =
  | { readonly status: 'loading'; readonly entries: readonly Entry[] | null }
  | { readonly status: 'loaded'; readonly entries: readonly Entry[] }
  | { readonly status: 'error'; readonly entries: readonly Entry[] | null; readonly error: ErrorInfo };

export interface Row {
  readonly path: string;
  readonly parent: string;
  readonly name: string;
  readonly depth: number;
  readonly entry: Entry;
  readonly isDir: boolean;
  /** Position among its siblings (1-based) and their number, for aria-posinset/setsize. */
  readonly pos: number;
  readonly setSize: number;
}

/**
 * A sort key that orders names the way people expect: case-insensitive, and numbers by
 * value ('file2' before 'file10'). Each run of digits becomes '0' + a length character +
 * the digits, so plain string comparison does the rest (much faster than a collator).
 */
export function nameKey(name: string): string {
  const lower = name.toLowerCase();
  if (!/\d/.test(lower)) return lower;
  return lower.replace(/\d+/g, (run) => {
    const digits = run.replace(/^0+(?=\d)/, '');
    return `0${String.fromCharCode(0x30 + Math.min(digits.length, 0xff))}${digits}`;
  });
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Folders first (in either direction, as every file manager does), then by the key; equal
 * sizes or times fall back to names in their natural order.
 */
export function sortEntries(entries: readonly Entry[], order: SortOrder): Entry[] {
  const keyed = entries.map((entry) => ({ entry, key: nameKey(entry.name), dir: entry.type === 'dir' ? 0 : 1 }));
  const sign = order.dir === 'asc' ? 1 : -1;
  keyed.sort((a, b) => {
    if (a.dir !== b.dir) return a.dir - b.dir;
    let c = 0;
    if (order.key === 'size') c = (a.entry.size - b.entry.size) * sign;
    else if (order.key === 'mtime') c = (a.entry.mtime - b.entry.mtime) * sign;
    if (c !== 0) return c;
    return (cmp(a.key, b.key) || cmp(a.entry.name, b.entry.name)) * (order.key === 'name' ? sign : 1);
  });
  return keyed.map((k) => k.entry);
}

// Sorted copies, cached by listing (a new listing is a new array) and order.
const sortCache = new WeakMap<readonly Entry[], { key: string; sorted: Entry[] }>();

export function sortedCached(entries: readonly Entry[], order: SortOrder): Entry[] {
  const key = `${order.key}:${order.dir}`;
  const hit = sortCache.get(entries);
  if (hit && hit.key === key) return hit.sorted;
  const sorted = sortEntries(entries, order);
  sortCache.set(entries, { key, sorted });
  return sorted;
}

export function matchesFilter(name: string, filter: string): boolean {
  return filter === '' || name.toLowerCase().includes(filter.toLowerCase());
}

export interface FlattenInput {
  readonly cwd: string;
  readonly folders: ReadonlyMap<string, FolderState>;
  readonly expanded: ReadonlySet<string>;
  readonly sort: SortOrder;
  /** Applies to the current folder's own entries (what is inside a match stays visible). */
  readonly filter: string;
}

export function flattenTree({ cwd, folders, expanded, sort, filter }: FlattenInput): Row[] {
  const rows: Row[] = [];
  const needle = filter.trim().toLowerCase();
  const walk = (folder: string, depth: number): void => {
    const state = folders.get(folder);
    if (!state || state.entries === null) return;
    let entries = sortedCached(state.entries, sort);
    if (depth === 0 && needle !== '') entries = entries.filter((e) => e.name.toLowerCase().includes(needle));
    const setSize = entries.length;
    for (let i = 0; i < setSize; i++) {
      const entry = entries[i]!;
      const path = joinPath(folder, entry.name);
      const isDir = entry.type === 'dir';
      rows.push({ path, parent: folder, name: entry.name, depth, entry, isDir, pos: i + 1, setSize });
      if (isDir && expanded.has(path)) walk(path, depth + 1);
    }
  };
  walk(cwd, 0);
  return rows;
}

/** Index of each row by path (for selection ranges and keyboard moves). */
export function indexRows(rows: readonly Row[]): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) index.set(rows[i]!.path, i);
  return index;
}
