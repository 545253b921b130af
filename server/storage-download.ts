/** A file being read for a download: large chunks, flat memory, whole-file SHA-256. */
import { createHash, type Hash } from 'node:crypto';
import type * as fsp from 'node:fs/promises';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { Download } from './storage.js';

export const READ_CHUNK_BYTES = 1024 * 1024;

export class LocalDownload implements Download {
  private readonly hash: Hash = createHash('sha256');
  private digest: string | null = null;
  private closed = false;

  constructor(
    private readonly handle: fsp.FileHandle,
    readonly path: string,
    readonly total: number,
    readonly offset: number,
    readonly mtime: number,
  ) {}

  async *chunks(): AsyncIterable<Buffer> {
    if (this.digest !== null) throw new FerryError('EINVAL', 'The download was already read.');
    // The hash covers the whole file, so a resumed download hashes what the client already has.
    if (this.offset > 0) {
      const scratch = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, this.offset));
      let position = 0;
      while (position < this.offset) {
        const n = await this.read(scratch, Math.min(scratch.length, this.offset - position), position);
        this.hash.update(scratch.subarray(0, n));
        position += n;
      }
    }
    let position = this.offset;
    while (position < this.total) {
      // A fresh buffer per chunk: the consumer may still hold the previous one.
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, this.total - position));
      const n = await this.read(chunk, chunk.length, position);
      const data = n === chunk.length ? chunk : chunk.subarray(0, n);
      this.hash.update(data);
      position += n;
      yield data;
    }
    this.digest = this.hash.digest('hex');
  }

  sha256(): string {
    if (this.digest === null) throw new FerryError('EINVAL', 'The download has not been read to the end.');
    return this.digest;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
