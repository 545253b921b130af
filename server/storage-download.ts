/** A file being read for a download: large chunks, flat memory, whole-file SHA-256. */
import type * as fsp from 'node:fs/promises';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { acquireBuffer, createStreamHash, releaseBuffer, type StreamHash } from '../shared/node/hash-worker.js';
import type { Download } from './storage.js';

export const READ_CHUNK_BYTES = 1024 * 1024;
/** Chunks yielded whose hash may still be running before reading waits for the oldest. */
const MAX_HASHING = 3;

export class LocalDownload implements Download {
  private readonly hash: StreamHash;
  private digest: string | null = null;
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
  ) {
    this.hash = createStreamHash(total);
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
      this.digest = await this.hash.digest();
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

  sha256(): string {
    if (this.digest === null) throw new FerryError('EINVAL', 'The download has not been read to the end.');
    return this.digest;
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
