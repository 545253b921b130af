import { describe, expect, it } from 'vitest';
import { EMPTY_SELECTION, clickSelect, moveFocus, pruneSelection, selectAll, type Selection } from '../../renderer/src/logic/selection.js';

const paths = ['/a', '/b', '/c', '/d', '/e'];
const list = { paths, index: new Map(paths.map((p, i) => [p, i])) };
const plain = { toggle: false, range: false };
const ctrl = { toggle: true, range: false };
const shift = { toggle: false, range: true };
const sorted = (s: Selection): string[] => [...s.selected].sort();

describe('selection', () => {
  it('click selects one, Ctrl+click toggles, Shift+click selects a range from the anchor', () => {
    let s = clickSelect(EMPTY_SELECTION, list, '/b', plain);
    expect(sorted(s)).toEqual(['/b']);
    s = clickSelect(s, list, '/d', ctrl);
    expect(sorted(s)).toEqual(['/b', '/d']);
    s = clickSelect(s, list, '/b', ctrl);
    expect(sorted(s)).toEqual(['/d']);
    expect(s.anchor).toBe('/b');
    s = clickSelect(s, list, '/e', shift);
    expect(sorted(s)).toEqual(['/b', '/c', '/d', '/e']);
    s = clickSelect(s, list, '/a', shift);
    expect(sorted(s)).toEqual(['/a', '/b']);
    expect(s.focus).toBe('/a');
  });

  it('Ctrl+Shift+click adds a range to what is selected', () => {
    let s = clickSelect(EMPTY_SELECTION, list, '/a', plain);
    s = clickSelect(s, list, '/c', ctrl);
    s = clickSelect(s, list, '/e', { toggle: true, range: true });
    expect(sorted(s)).toEqual(['/a', '/c', '/d', '/e']);
  });

  it('arrows move and select, Shift extends, Ctrl moves the focus alone, ends clamp', () => {
    let s = moveFocus(EMPTY_SELECTION, list, 'down', plain);
    expect(s.focus).toBe('/a');
    s = moveFocus(s, list, 'down', plain);
    expect(sorted(s)).toEqual(['/b']);
    s = moveFocus(s, list, 'down', shift);
    s = moveFocus(s, list, 'down', shift);
    expect(sorted(s)).toEqual(['/b', '/c', '/d']);
    s = moveFocus(s, list, 'up', ctrl);
    expect(s.focus).toBe('/c');
    expect(sorted(s)).toEqual(['/b', '/c', '/d']);
    s = moveFocus(s, list, 'end', plain);
    expect(sorted(s)).toEqual(['/e']);
    s = moveFocus(s, list, 'down', plain);
    expect(s.focus).toBe('/e');
    s = moveFocus(s, list, 'pageup', plain, 3);
    expect(s.focus).toBe('/b');
    s = moveFocus(s, list, 'home', shift);
    expect(sorted(s)).toEqual(['/a', '/b']);
  });

  it('Ctrl+A selects everything; rows that disappear leave the selection', () => {
    let s = selectAll(list, EMPTY_SELECTION);
    expect(s.selected.size).toBe(5);
    s = pruneSelection(s, new Map([['/a', 0], ['/c', 1]]));
    expect(sorted(s)).toEqual(['/a', '/c']);
    expect(pruneSelection(s, new Map([['/a', 0], ['/c', 1]]))).toBe(s);
  });
});
