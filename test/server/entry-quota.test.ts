/**
 * The entry quota on the local disk: every file, folder, link and partial upload counts,
 * whatever its size. mkdir and uploads check and reserve their entry (so concurrent ones
 * cannot jointly pass the limit), deletes and renames give entries back, and a walk of the
 * home finds the same number the operations kept.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../shared/common/errors.js';
import { LocalStorage } from '../../server/local-storage.js';
import type { Account } from '../../server/storage.js';
import { failure } from '../helpers/engine.js';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let root: string;
let home: string;
let storage: LocalStorage;

beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-entries-'));
  home = path.join(root, 'homes', 'alice');
  storage = new LocalStorage({ root });
  await storage.ensureHome({ name: 'alice', quota: null });
});

afterEach(async () => {
  await storage.close();
  await fsp.rm(root, { recursive: true, force: true });
});

/** A whole small upload (the way an empty file arrives). */
async function putWhole(account: Account, vpath: string, data = Buffer.alloc(0)): Promise<void> {
  const { committed } = await storage.putWhole(account, '/', vpath, { exists: 'overwrite' }, data, sha(data));
  await committed;
}

/** A streamed upload from offset 0. */
async function putStreamed(account: Account, vpath: string, data: Buffer): Promise<void> {
  const upload = await storage.beginUpload(account, '/', vpath, { offset: 0, total: data.length, exists: 'overwrite' });
  await upload.write(data);
  await upload.commit(sha(data));
}

/** What the operations kept, and what a fresh walk of the same home finds. */
async function entries(account: Account): Promise<{ kept: number; walked: number }> {
  const kept = (await storage.df(account)).entries!;
  const fresh = new LocalStorage({ root });
  try {
    return { kept, walked: (await fresh.df(account)).entries! };
  } finally {
    await fresh.close();
  }
}

describe('the entry quota', () => {
  it('counts folders and empty files, and refuses the one past the limit with EQUOTA', async () => {
    const alice: Account = { name: 'alice', quota: 1_000_000, maxEntries: 3 };
    await storage.mkdir(alice, '/', 'a', false);
    await putWhole(alice, 'a/empty');
    await storage.mkdir(alice, '/', 'b', false);
    expect(await storage.df(alice)).toMatchObject({ used: 0, entries: 3, maxEntries: 3 });

    const mkdir = await failure(storage.mkdir(alice, '/', 'c', false));
    expect(mkdir.code).toBe('EQUOTA');
    expect(mkdir.message).toMatch(/limit of 3 files and folders/);
    expect(mkdir.details).toEqual({ entries: 3, maxEntries: 3 });
    expect((await failure(putWhole(alice, 'b/empty'))).code).toBe('EQUOTA');
    expect((await failure(storage.mkdir(alice, '/', 'x/y/z', true))).code).toBe('EQUOTA');
    expect((await failure(putStreamed(alice, 'big', Buffer.alloc(300_000)))).code).toBe('EQUOTA');
    // Nothing was made by the refusals.
    expect((await fsp.readdir(home)).sort()).toEqual(['a', 'b']);
    expect(await fsp.readdir(path.join(home, 'b'))).toEqual([]);

    // Overwriting makes no new entry, so it still fits at the limit (whole and streamed).
    await putWhole(alice, 'a/empty', Buffer.from('now with bytes'));
    expect(await entries(alice)).toEqual({ kept: 3, walked: 3 });

    // A delete gives its entry back.
    await storage.remove(alice, '/', 'b', false);
    await storage.mkdir(alice, '/', 'c', false);
    expect(await entries(alice)).toEqual({ kept: 3, walked: 3 });
  });

  it('does not let concurrent mkdirs and uploads jointly pass the limit', async () => {
    const alice: Account = { name: 'alice', quota: null, maxEntries: 10 };
    const tries = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => storage.mkdir(alice, '/', `d${i}`, false)),
      ...Array.from({ length: 10 }, (_, i) => putWhole(alice, `f${i}`)),
    ]);
    const refused = tries.filter((t) => t.status === 'rejected');
    expect(tries.length - refused.length).toBe(10);
    for (const t of refused) expect(((t as PromiseRejectedResult).reason as FerryError).code).toBe('EQUOTA');
    expect(await entries(alice)).toEqual({ kept: 10, walked: 10 });
  });

  it('keeps the count through streamed uploads, partials, renames and recursive deletes', async () => {
    const alice: Account = { name: 'alice', quota: null, maxEntries: 100 };
    await storage.mkdir(alice, '/', 'tree/sub', true);
    await putStreamed(alice, 'tree/sub/big', Buffer.alloc(300_000, 1));
    await putStreamed(alice, 'tree/sub/big', Buffer.alloc(300_001, 2));
    await putWhole(alice, 'tree/small');
    expect(await entries(alice)).toEqual({ kept: 4, walked: 4 });

    // An interrupted upload keeps a partial: it is an entry until it is finished or replaced.
    const upload = await storage.beginUpload(alice, '/', 'half', { offset: 0, total: 300_000, exists: 'overwrite' });
    await upload.write(Buffer.alloc(1000));
    await upload.abort(true);
    expect(await entries(alice)).toEqual({ kept: 5, walked: 5 });
    await putWhole(alice, 'half', Buffer.from('whole now'));
    expect(await entries(alice)).toEqual({ kept: 5, walked: 5 });

    // A rename over a file leaves one entry where there were two.
    await storage.rename(alice, '/', 'tree/small', 'half', true);
    expect(await entries(alice)).toEqual({ kept: 4, walked: 4 });

    await storage.remove(alice, '/', 'tree', true);
    expect(await entries(alice)).toEqual({ kept: 1, walked: 1 });
  });

  it('is not checked for an account without one (the walk is not even needed)', async () => {
    const alice: Account = { name: 'alice', quota: null };
    for (let i = 0; i < 5; i++) await storage.mkdir(alice, '/', `d${i}`, false);
    expect(await storage.df(alice)).toMatchObject({ entries: 5, maxEntries: null });
  });
});
