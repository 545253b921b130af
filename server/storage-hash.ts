/**
 * The `hash` request's work on the local disk: the digest of a file as it is now (SHA-256
 * or XXH3-128, as asked), from its stored record while that still holds (stored-hashes.ts), else read through 1 MiB at a
 * time (hashed in the worker thread for big files, as downloads are) and then stored for
 * the listings that follow.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { FerryError } from '../shared/common/errors.js';
import type { CheckAlgorithm, Digest } from '../shared/common/checks.js';
import { createCheckHash } from '../shared/node/checksums.js';
import { acquireBuffer, releaseBuffer, POOL_BUFFER_BYTES } from '../shared/node/hash-worker.js';
import type { Account, FileHashResult, HashOptions } from './storage.js';
import { O_NOFOLLOW, guard, type HomeJail } from './storage-jail.js';
import type { StoredHashes } from './stored-hashes.js';

const OPEN_FLAGS = fs.constants.O_RDONLY | O_NOFOLLOW | (fs.constants.O_NONBLOCK ?? 0);
/**
 * A file whose ctime is this close to the start of its reading is hashed but not stored:
 * file times move in clock ticks (a few ms), so a change made in the same tick as the last
 * one, after the bytes were read, would leave the stat as it was (git's "racy" entries).
 */
export const RACY_MS = 20;

function msOf(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

function same(a: fs.BigIntStats, b: fs.BigIntStats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

const changed = (): FerryError => new FerryError('EBUSY', 'The file changed while it was being hashed: try again.');

export function hashFile(
  jail: HomeJail,
  hashes: StoredHashes,
  account: Account,
  cwd: string,
  target: string,
  options: HashOptions,
): Promise<FileHashResult> {
  return guard(async () => {
    const { signal } = options;
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    // Links are followed as far as the home allows (EACCES beyond, ENOENT when dangling).
    const real = await jail.real(home, vpath);
    const first = await fsp.stat(real, { bigint: true });
    if (first.isDirectory()) throw new FerryError('EISDIR');
    if (!first.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
    const algorithm = options.algorithm ?? 'sha256';
    const result = (st: fs.BigIntStats, digest: Digest, computed: boolean): FileHashResult => ({
      path: vpath,
      digest,
      size: Number(st.size),
      mtime: Math.round(msOf(st.mtimeNs)),
      computed,
    });
    const stored = await hashes.lookup(home.name, home.real, real, first);
    // A stored digest of the other algorithm does not answer: computed, it replaces it.
    if (stored?.algorithm === algorithm) return result(first, stored, false);

    const release = await options.slot();
    try {
      signal.throwIfAborted();
      // The real path has no links left; O_NOFOLLOW refuses one swapped in since, and
      // O_NONBLOCK a FIFO put there meanwhile.
      const handle = await fsp.open(real, OPEN_FLAGS);
      try {
        const before = await handle.stat({ bigint: true });
        if (!before.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
        const started = Date.now();
        const digest: Digest = { algorithm, hex: await readHash(handle, Number(before.size), signal, algorithm) };
        const after = await handle.stat({ bigint: true });
        if (!same(before, after)) throw changed();
        // Stored only for the file still at that name, and not changed too recently to tell.
        const now = await fsp.lstat(real, { bigint: true }).catch(() => null);
        if (now && same(now, after) && msOf(after.ctimeNs) < started - RACY_MS) hashes.record(home.name, home.real, real, after, digest);
        return result(after, digest, true);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (signal.aborted) throw new FerryError('ECANCELED', 'The hash was cancelled.');
      throw err;
    } finally {
      release();
    }
  });
}

/** Read `size` bytes from the start and hash them: flat memory (one or two 1 MiB buffers). */
async function readHash(handle: fsp.FileHandle, size: number, signal: AbortSignal, algorithm: CheckAlgorithm): Promise<string> {
  const hash = createCheckHash(algorithm, size);
  const pooled = size >= POOL_BUFFER_BYTES;
  try {
    let position = 0;
    let hashing: Promise<void> = Promise.resolve();
    let previous: Buffer | null = null;
    while (position < size) {
      signal.throwIfAborted();
      const buffer = pooled ? acquireBuffer() : Buffer.allocUnsafe(size - position);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) {
        releaseBuffer(buffer);
        throw changed();
      }
      // One buffer is hashed while the next is read; the one before is free again then.
      await hashing;
      if (previous) releaseBuffer(previous);
      hashing = hash.update(buffer.subarray(0, bytesRead));
      previous = pooled ? buffer : null;
      position += bytesRead;
    }
    await hashing;
    if (previous) releaseBuffer(previous);
    // Bytes past the size seen at the start: the file grew meanwhile.
    const probe = Buffer.allocUnsafe(1);
    if ((await handle.read(probe, 0, 1, size)).bytesRead !== 0) throw changed();
    return await hash.digest();
  } finally {
    hash.dispose();
  }
}
