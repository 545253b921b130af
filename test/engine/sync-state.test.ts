/**
 * The sync state file: what a sync remembers comes back as it was saved, a local hash is
 * only reused for the very same file identity, and a damaged or foreign file is read as
 * no state at all (a first sync), never half-trusted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SyncState } from '../../engine/sync/sync-state.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

const SHA = 'ab'.repeat(32);
const pair = { localRoot: '/tmp/some/site', remote: 'ferry://alice@127.0.0.1:7070/site' };
const id = { ino: 42, size: 10, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_124.5 };

async function stateFile(dir: string): Promise<string> {
  const names = await readdir(path.join(dir, 'sync'));
  expect(names).toHaveLength(1);
  return path.join(dir, 'sync', names[0]!);
}

describe('SyncState', () => {
  it('saves the base and the local hashes privately and reads them back', async () => {
    const dir = await tempDir('ferry-sync-state-');
    const state = await SyncState.load(dir, pair);
    expect(state.base.size).toBe(0);
    state.setBase('a.txt', { type: 'file', size: 10, mtime: 1_700_000_000_000, sha256: SHA });
    state.setBase('sub', { type: 'dir', size: 0, mtime: 0 });
    state.rememberHash('a.txt', id, 'sha256', SHA);
    await state.save();
    expect((await stat(await stateFile(dir))).mode & 0o777).toBe(0o600);

    const again = await SyncState.load(dir, pair);
    expect(again.base.get('a.txt')).toEqual({ type: 'file', size: 10, mtime: 1_700_000_000_000, sha256: SHA });
    expect(again.base.get('sub')).toEqual({ type: 'dir', size: 0, mtime: 0 });
    expect(again.localHash('a.txt', id, 'sha256')).toBe(SHA);
    // Any change of identity (a write moves ctime) and the hash is not reused.
    expect(again.localHash('a.txt', { ...id, ctimeMs: id.ctimeMs + 0.001 }, 'sha256')).toBeUndefined();
    expect(again.localHash('a.txt', { ...id, ino: 43 }, 'sha256')).toBeUndefined();

    again.dropBase('sub');
    await again.save();
    expect((await SyncState.load(dir, pair)).base.has('sub')).toBe(false);
    // Another pair (another remote folder) has a state of its own.
    expect((await SyncState.load(dir, { ...pair, remote: `${pair.remote}2` })).base.size).toBe(0);
  });

  it('reads a damaged file as no state', async () => {
    const dir = await tempDir('ferry-sync-state-');
    const state = await SyncState.load(dir, pair);
    state.setBase('a.txt', { type: 'file', size: 10, mtime: 1, sha256: SHA });
    state.rememberHash('a.txt', id, 'sha256', SHA);
    await state.save();
    const file = await stateFile(dir);
    const good = await readFile(file, 'utf8');

    for (const damaged of [good.slice(0, good.length / 2), good.replace(SHA, 'not a hash'), good.replace('[0,10,1,', '[7,10,1,'), '{}', 'garbage']) {
      await writeFile(file, damaged);
      const read = await SyncState.load(dir, pair);
      expect(read.base.size, damaged.slice(0, 60)).toBe(0);
      expect(read.localHash('a.txt', id, 'sha256')).toBeUndefined();
    }
  });
});
