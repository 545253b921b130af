/**
 * The sync planner's rules, one by one, on trees built in memory: what each direction
 * copies, when extras are deleted, and that in "both" an older copy never replaces a
 * newer one and a file changed on both sides is a conflict.
 */
import { describe, expect, it } from 'vitest';
import type { SyncAction, SyncFacts } from '../../shared/common/sync-model.js';
import { planSync, sameFile, type PlanInput } from '../../engine/sync/sync-plan.js';
import type { Tree } from '../../engine/sync/sync-scan.js';

const T0 = Date.UTC(2026, 0, 1);
const file = (sha: string, mtime = T0, size = 10): SyncFacts => ({ type: 'file', size, mtime, sha256: sha.padEnd(64, '0') });
const plainFile = (size: number, mtime: number): SyncFacts => ({ type: 'file', size, mtime });
const dir: SyncFacts = { type: 'dir', size: 0, mtime: T0 };
const tree = (entries: Record<string, SyncFacts>): Tree => new Map(Object.entries(entries));

function plan(partial: Partial<PlanInput> & Pick<PlanInput, 'local' | 'remote'>): Map<string, SyncAction> {
  const actions = planSync({ base: null, direction: 'up', deleteExtras: false, compare: 'sha256', ...partial });
  return new Map(actions.map((a) => [`${a.path}${a.side ? `@${a.side}` : ''}`, a]));
}

function kinds(actions: Map<string, SyncAction>): Record<string, string> {
  return Object.fromEntries([...actions].map(([k, a]) => [k, a.kind]));
}

describe('up: the remote becomes like the local folder', () => {
  const local = tree({ 'a.txt': file('a1'), 'same.txt': file('s'), sub: dir, 'sub/new.txt': file('n'), 'edited.txt': file('e2', T0 - 60_000) });
  const remote = tree({ 'a.txt': file('a0'), 'same.txt': file('s'), 'extra.txt': file('x'), old: dir, 'old/x': file('ox'), 'edited.txt': file('e1') });

  it('uploads new and changed files, creates folders, keeps extras unless asked', () => {
    const result = plan({ local, remote });
    expect(kinds(result)).toEqual({
      'a.txt': 'upload',
      'edited.txt': 'upload',
      'extra.txt@remote': 'keep',
      'old@remote': 'keep',
      'same.txt': 'same',
      'sub@remote': 'mkdir',
      'sub/new.txt': 'upload',
    });
    // The same size, other contents: found by the hash, and the newer remote copy is said.
    expect(result.get('edited.txt')!.reason).toMatch(/SHA-256.*remote copy is newer/);
    expect(result.get('extra.txt@remote')!.reason).toMatch(/not asked/);
  });

  it('deletes extras (a folder as one action) only with deleteExtras', () => {
    const result = plan({ local, remote, deleteExtras: true });
    expect(result.get('extra.txt@remote')!.kind).toBe('delete');
    expect(result.get('old@remote')!.kind).toBe('delete');
    expect(result.has('old/x@remote')).toBe(false);
    expect([...result.values()].filter((a) => a.kind === 'delete' && a.side === 'local')).toEqual([]);
  });

  it('a file against a folder is a conflict; links are not synced', () => {
    const result = plan({
      local: tree({ clash: file('c'), link: { type: 'other', size: 0, mtime: T0 } }),
      remote: tree({ clash: dir, 'clash/inner': file('i') }),
    });
    expect(kinds(result)).toEqual({ clash: 'conflict', 'link@local': 'keep' });
  });
});

describe('down: the local folder becomes like the remote', () => {
  it('mirrors up', () => {
    const result = plan({
      direction: 'down',
      deleteExtras: true,
      local: tree({ 'a.txt': file('a1'), 'mine.txt': file('m') }),
      remote: tree({ 'a.txt': file('a0'), docs: dir, 'docs/r.txt': file('r') }),
    });
    expect(kinds(result)).toEqual({ 'a.txt': 'download', 'docs@local': 'mkdir', 'docs/r.txt': 'download', 'mine.txt@local': 'delete' });
  });
});

describe('compared by size and modification time (no hashes)', () => {
  it('an edit that keeps the size is found by its mtime; same size and second is the same', () => {
    const result = plan({
      compare: 'size-mtime',
      local: tree({ edited: plainFile(5, T0 + 5000), untouched: plainFile(5, T0 + 400) }),
      remote: tree({ edited: plainFile(5, T0), untouched: plainFile(5, T0) }),
    });
    expect(kinds(result)).toEqual({ edited: 'upload', untouched: 'same' });
    expect(result.get('edited')!.reason).toMatch(/size or modification time/);
  });

  it('sameFile prefers the hash when both sides have one', () => {
    expect(sameFile(file('a', T0), file('a', T0 + 99_000))).toBe(true);
    expect(sameFile(file('a'), file('b'))).toBe(false);
    expect(sameFile(plainFile(3, T0), plainFile(4, T0))).toBe(false);
  });
});

describe('both', () => {
  it('without a base: the newer copy wins, equal times are a conflict, one-sided files are copied', () => {
    const result = plan({
      direction: 'both',
      local: tree({ n: file('l', T0 + 10_000), o: file('l', T0), tie: file('l', T0 + 200), mine: file('m') }),
      remote: tree({ n: file('r', T0), o: file('r', T0 + 10_000), tie: file('r', T0), theirs: file('t') }),
    });
    expect(kinds(result)).toEqual({ n: 'upload', o: 'download', tie: 'conflict', mine: 'upload', theirs: 'download' });
  });

  it('with a base: the side that changed wins, both changed is a conflict, an older change never replaces a newer copy', () => {
    const base = tree({ l: file('0', T0), r: file('0', T0), both: file('0', T0), older: file('0', T0 + 20_000) });
    const result = plan({
      direction: 'both',
      base,
      local: tree({ l: file('1', T0 + 5000), r: file('0', T0), both: file('1', T0 + 5000), older: file('1', T0 + 1000) }),
      remote: tree({ l: file('0', T0), r: file('2', T0 + 5000), both: file('2', T0 + 6000), older: file('0', T0 + 20_000) }),
    });
    expect(kinds(result)).toEqual({ l: 'upload', r: 'download', both: 'conflict', older: 'conflict' });
    expect(result.get('both')!.reason).toBe('changed on both sides since the last sync');
    expect(result.get('older')!.reason).toMatch(/remote copy is newer/);
  });

  it('a deletion since the base is copied back unless deleteExtras; then it is deleted, or a conflict if the other side changed', () => {
    const base = tree({ gone: file('g'), edited: file('e'), folder: dir, 'folder/f': file('f') });
    const local = tree({ gone: file('g'), edited: file('e2', T0 + 5000), folder: dir, 'folder/f': file('f') });
    const remote = tree({});
    expect(kinds(plan({ direction: 'both', base, local, remote }))).toEqual({ gone: 'upload', edited: 'upload', 'folder@remote': 'mkdir', 'folder/f': 'upload' });
    expect(kinds(plan({ direction: 'both', base, local, remote, deleteExtras: true }))).toEqual({
      'gone@local': 'delete',
      edited: 'conflict',
      'folder@local': 'delete',
    });
  });
});
