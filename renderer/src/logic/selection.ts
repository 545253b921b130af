/**
 * Multi-selection over the flattened tree, as file managers do it: click selects one,
 * Ctrl/Cmd+click toggles, Shift+click selects the range from the anchor, arrows move the
 * focus (Shift extends, Ctrl moves the focus alone), Ctrl+A selects everything.
 */

export interface Selection {
  readonly selected: ReadonlySet<string>;
  /** Where a Shift range starts. */
  readonly anchor: string | null;
  /** The row the keyboard is on. */
  readonly focus: string | null;
}

export const EMPTY_SELECTION: Selection = { selected: new Set(), anchor: null, focus: null };

export interface Modifiers {
  /** Ctrl on Windows/Linux, Cmd on macOS. */
  readonly toggle: boolean;
  readonly range: boolean;
}

interface Indexed {
  readonly paths: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

function range(list: Indexed, from: string | null, to: string): string[] {
  const end = list.index.get(to);
  if (end === undefined) return [];
  const start = from === null ? end : (list.index.get(from) ?? end);
  const [lo, hi] = start <= end ? [start, end] : [end, start];
  return list.paths.slice(lo, hi + 1);
}

export function clickSelect(sel: Selection, list: Indexed, path: string, mods: Modifiers): Selection {
  if (mods.range) {
    const span = range(list, sel.anchor, path);
    const selected = mods.toggle ? new Set([...sel.selected, ...span]) : new Set(span);
    return { selected, anchor: sel.anchor ?? path, focus: path };
  }
  if (mods.toggle) {
    const selected = new Set(sel.selected);
    if (selected.has(path)) selected.delete(path);
    else selected.add(path);
    return { selected, anchor: path, focus: path };
  }
  return { selected: new Set([path]), anchor: path, focus: path };
}

export function selectAll(list: Indexed, sel: Selection): Selection {
  return { selected: new Set(list.paths), anchor: sel.anchor ?? list.paths[0] ?? null, focus: sel.focus ?? list.paths[0] ?? null };
}

export type Move = 'up' | 'down' | 'home' | 'end' | 'pageup' | 'pagedown';

export function targetIndex(current: number, count: number, move: Move, page: number): number {
  if (count === 0) return -1;
  if (current < 0) return move === 'end' ? count - 1 : 0;
  const step = Math.max(1, page);
  const next =
    move === 'up' ? current - 1
    : move === 'down' ? current + 1
    : move === 'home' ? 0
    : move === 'end' ? count - 1
    : move === 'pageup' ? current - step
    : current + step;
  return Math.max(0, Math.min(count - 1, next));
}

export function moveFocus(sel: Selection, list: Indexed, move: Move, mods: Modifiers, page = 10): Selection {
  const current = sel.focus === null ? -1 : (list.index.get(sel.focus) ?? -1);
  const i = targetIndex(current, list.paths.length, move, page);
  if (i < 0) return sel;
  const path = list.paths[i]!;
  if (mods.range) {
    const anchor = sel.anchor ?? sel.focus ?? path;
    return { selected: new Set(range(list, anchor, path)), anchor, focus: path };
  }
  if (mods.toggle) return { ...sel, focus: path };
  return { selected: new Set([path]), anchor: path, focus: path };
}

/** Set the keyboard focus to a row without changing what is selected. */
export function focusOnly(sel: Selection, path: string): Selection {
  return { ...sel, focus: path };
}

/** Drop paths that are no longer listed (after a refresh, a delete, a collapse). */
export function pruneSelection(sel: Selection, index: ReadonlyMap<string, number>): Selection {
  let changed = false;
  const selected = new Set<string>();
  for (const p of sel.selected) {
    if (index.has(p)) selected.add(p);
    else changed = true;
  }
  const anchor = sel.anchor !== null && index.has(sel.anchor) ? sel.anchor : null;
  const focus = sel.focus !== null && index.has(sel.focus) ? sel.focus : null;
  if (!changed && anchor === sel.anchor && focus === sel.focus) return sel;
  return { selected, anchor, focus };
}
