/**
 * Files read for a client: a download (`get`) in large chunks with flat memory and a
 * whole-file SHA-256, and a whole small file (`read`) in one buffer.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { READ_MAX } from '../shared/common/messages.js';
import { openFd, readFd } from '../shared/node/fs-calls.js';
import type { CheckAlgorithm, Digest } from '../shared/common/checks.js';
import { createCheckHash, digestOfBytes } from '../shared/node/checksums.js';
import { acquireBuffer, releaseBuffer, type StreamHash } from '../shared/node/hash-worker.js';
import { smallBuffer } from './small-buffers.js';
import type { Account, Download, WholeFile } from './storage.js';
import { O_NOFOLLOW, checkCount, guard, sysCode, vbase, vparent, type HomeJail } from './storage-jail.js';

export const READ_CHUNK_BYTES = 1024 * 1024;
const READ_WHOLE_FLAGS = fs.constants.O_RDONLY | O_NOFOLLOW | (fs.constants.O_NONBLOCK ?? 0);
/** Chunks yielded whose hash may still be running before reading waits for the oldest. */
const MAX_HASHING = 3;

export class LocalDownload implements Download {
  private readonly hash: StreamHash;
  private result: Digest | null = null;
  private closed = false;
  private started = false;
  /** For each pooled chunk handed out: how many of (hash, socket write) still use it. */
  private readonly users = new WeakMap<Uint8Array, { n: number; buffer: Buffer }>();

  constructor(
    private readonly handle: fsp.FileHandle,
    readonly path: string,
    readonly total: number,
    readonly offset: number,
    readonly mtime: number,
    check: CheckAlgorithm,
  ) {
    this.hash = createCheckHash(check, total);
  }

  /**
   * The bytes from offset to total, 1 MiB at a time, one read ahead (the next read runs
   * while the current chunk is sent). Big files are read into pooled shared buffers that
   * the hash worker hashes in place while the socket sends them; the connection calls
   * release() for each chunk once the socket is done with it.
   */
  async *chunks(): AsyncIterable<Buffer> {
    if (this.started) throw new FerryError('EINVAL', 'The download was already read.');
    this.started = true;
    const pooled = this.total >= READ_CHUNK_BYTES;
    try {
      // The hash covers the whole file, so a resumed download hashes what the client already has.
      let position = 0;
      while (position < this.offset) {
        const scratch = pooled ? acquireBuffer() : Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, this.offset));
        const n = await this.read(scratch, Math.min(scratch.length, this.offset - position), position);
        await this.hash.update(scratch.subarray(0, n));
        releaseBuffer(scratch);
        position += n;
      }
      const readAt = async (at: number): Promise<{ buffer: Buffer; data: Buffer }> => {
        const want = Math.min(READ_CHUNK_BYTES, this.total - at);
        // Small files: a fresh buffer of their size (the consumer may still hold the previous one).
        const buffer = pooled ? acquireBuffer() : Buffer.allocUnsafe(want);
        const n = await this.read(buffer, want, at);
        return { buffer, data: n === buffer.length ? buffer : buffer.subarray(0, n) };
      };
      const hashing: Promise<void>[] = [];
      let next = position < this.total ? readAt(position) : null;
      while (next) {
        const { buffer, data } = await next;
        position += data.length;
        next = position < this.total ? readAt(position) : null;
        next?.catch(() => undefined); // awaited on the next turn
        const hashed = this.hash.update(data);
        if (pooled) {
          const user = { n: 2, buffer };
          this.users.set(data, user);
          hashed.then(
            () => this.done(user),
            () => undefined,
          );
        }
        hashing.push(hashed);
        if (hashing.length > MAX_HASHING) await hashing.shift();
        yield data;
      }
      await Promise.all(hashing);
      this.result = { algorithm: this.hash.algorithm, hex: await this.hash.digest() };
    } finally {
      this.hash.dispose();
    }
  }

  /** The socket is done with a chunk from chunks(): its buffer may be reused. */
  release(chunk: Uint8Array): void {
    const user = this.users.get(chunk);
    if (user) this.done(user);
  }

  private done(user: { n: number; buffer: Buffer }): void {
    if (--user.n === 0) releaseBuffer(user.buffer);
  }

  digest(): Digest {
    if (this.result === null) throw new FerryError('EINVAL', 'The download has not been read to the end.');
    return this.result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hash.dispose();
    await this.handle.close();
  }

  /** Read up to `length` bytes; the file shrinking under us is an error, not a short file. */
  private async read(buffer: Buffer, length: number, position: number): Promise<number> {
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.handle.read(buffer, 0, length, position));
    } catch (err) {
      throw toFerryError(err);
    }
    if (bytesRead === 0) throw new FerryError('EIO', 'The file changed while it was being read.');
    return bytesRead;
  }
}

/** Open a file inside the home for a download from `offset`. */
export function openDownload(jail: HomeJail, account: Account, cwd: string, target: string, offset: number, check: CheckAlgorithm): Promise<Download> {
  return guard(async () => {
    checkCount(offset, 'offset');
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    const real = await jail.real(home, vpath);
    const st = await fsp.stat(real);
    if (st.isDirectory()) throw new FerryError('EISDIR');
    if (!st.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
    // The real path has no links left; O_NOFOLLOW refuses one swapped in since.
    const handle = await fsp.open(real, fs.constants.O_RDONLY | O_NOFOLLOW);
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
      if (offset > opened.size) throw new FerryError('EINVAL', 'The offset is past the end of the file.');
      return new LocalDownload(handle, vpath, opened.size, offset, Math.round(opened.mtimeMs), check);
    } catch (err) {
      await handle.close();
      throw err;
    }
  });
}

/** Thrown by readWhole() for a file bigger than the caller's limit: use a streamed get. */
function tooBig(fileSize: number, max: number): FerryError {
  return new FerryError('ETOOBIG', `The file is ${fileSize} bytes, more than the ${max} asked for: use "get".`, { fileSize });
}

/**
 * A whole file of at most `max` bytes, read in one go with its digest (ETOOBIG with
 * details.fileSize when it is bigger). The folder is resolved and jail-checked like any
 * path (shared within a burst); the file itself is opened with O_NOFOLLOW, so a link
 * there takes the careful way (realpath of the whole path, which must stay inside).
 * O_NONBLOCK: opening a FIFO someone left in a home must not hang a thread.
 */
export function readWhole(jail: HomeJail, account: Account, cwd: string, target: string, max: number, check: CheckAlgorithm): Promise<WholeFile> {
  return guard(async () => {
    checkCount(max, 'limit');
    const limit = Math.min(max, READ_MAX);
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    if (vpath === '/') throw new FerryError('EISDIR');
    const parent = await jail.folder(home, vparent(vpath));
    let fd: number;
    try {
      fd = await openFd(path.join(parent, vbase(vpath)), READ_WHOLE_FLAGS);
    } catch (err) {
      if (sysCode(err) !== 'ELOOP') throw err;
      // A link: follow it only as far as the home allows.
      fd = await openFd(await jail.real(home, vpath), READ_WHOLE_FLAGS);
    }
    try {
      // fstat and close of a descriptor we only read never wait for the disk: made
      // directly, not through the I/O threads (a round trip there costs more).
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new FerryError('EISDIR');
      if (!st.isFile()) throw new FerryError('EINVAL', 'Not a regular file.');
      if (st.size > limit) throw tooBig(st.size, limit);
      const data = smallBuffer(st.size);
      let got = 0;
      while (got < data.length) {
        const n = await readFd(fd, data, got, data.length - got, got);
        if (n === 0) throw new FerryError('EIO', 'The file changed while it was being read.');
        got += n;
      }
      return { path: vpath, data, mtime: Math.round(st.mtimeMs), digest: await digestOfBytes(data, check) };
    } finally {
      try {
        fs.closeSync(fd);
      } catch {
        // Nothing was written through it: nothing to lose.
      }
    }
  });
}
