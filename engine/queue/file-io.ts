/**
 * The local side of a streamed transfer: a file read in 1 MiB chunks (one read ahead),
 * the hash of the bytes a resume does not resend, and the sink that gathers received
 * bytes into large writes to the partial file while they are hashed.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { CheckAlgorithm } from '../../shared/common/checks.js';
import { createCheckHash } from '../../shared/node/checksums.js';
import { acquireBuffer, releaseBuffer, type StreamHash } from '../../shared/node/hash-worker.js';

const CHUNK = 1024 * 1024;

/** Hash the first `length` bytes of a local file (the part a resume does not resend). */
export async function hashPrefix(file: string, length: number, total: number, check: CheckAlgorithm): Promise<StreamHash> {
  const hash = createCheckHash(check, total);
  if (length === 0) return hash;
  try {
    for await (const chunk of fileChunks(file, 0, length, (c) => releaseBuffer(c))) {
      await hash.update(chunk);
      releaseBuffer(chunk);
    }
  } catch (err) {
    hash.dispose();
    throw err;
  }
  return hash;
}

/**
 * Bytes `start` to `end` of a file, in 1 MiB reads into pooled shared buffers (so the hash
 * worker can read them in place), one read ahead: the next read runs while the consumer
 * sends the current chunk. The consumer gives each chunk back with `release` when done.
 * Small files are read in one piece into a buffer of their size.
 */
export async function* fileChunks(file: string, start: number, end: number, release: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  if (end <= start) return;
  const handle = await open(file, 'r');
  const pooled = end - start >= CHUNK;
  const readAt = async (position: number): Promise<Buffer> => {
    const want = Math.min(CHUNK, end - position);
    const buffer = pooled ? acquireBuffer() : Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buffer, got, want - got, position + got);
      if (bytesRead === 0) break; // the file shrank: the caller reports it
      got += bytesRead;
    }
    return buffer.subarray(0, got);
  };
  let next: Promise<Buffer> | null = readAt(start);
  try {
    let position = start;
    while (next) {
      const chunk: Buffer = await next;
      next = null;
      if (chunk.length === 0) {
        release(chunk);
        return;
      }
      position += chunk.length;
      if (position < end) {
        next = readAt(position);
        next.catch(() => undefined); // awaited on the next turn; never unhandled meanwhile
      }
      yield chunk;
    }
  } finally {
    if (next) await next.then(release, () => undefined);
    await handle.close();
  }
}

// O_NOFOLLOW: a symlink planted where the partial goes is refused, not written through.
export function partialFlags(offset: number): number {
  // No O_APPEND when resuming: Linux ignores pwrite's position on appending files.
  return constants.O_WRONLY | constants.O_CREAT | (offset > 0 ? 0 : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
}

/**
 * Received bytes → the partial file. Socket chunks are small (16–64 KiB): they are
 * gathered into 1 MiB pooled buffers, and each full buffer is written and hashed (in the
 * hash worker for big files) at the same time. At most a few buffers are in flight; then
 * the socket waits (the caller awaits write()).
 */
export class DiskSink {
  private buffer: Buffer | null = null;
  private filled = 0;
  private taken = 0;
  private position: number;
  private readonly inFlight: Promise<void>[] = [];
  private writeTail: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
    private readonly hash: StreamHash,
    private readonly expected: number,
  ) {
    this.position = offset;
  }

  async write(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      if (this.buffer === null) {
        // Sized to what is left for small files, so thousands of them hold little memory.
        const left = Math.max(this.expected - this.taken, bytes.length - at);
        this.buffer = this.expected >= CHUNK ? acquireBuffer() : Buffer.allocUnsafe(Math.min(CHUNK, left));
      }
      const n = bytes.copy(this.buffer, this.filled, at);
      this.filled += n;
      this.taken += n;
      at += n;
      if (this.filled === this.buffer.length) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.buffer === null || this.filled === 0) return;
    const buffer = this.buffer;
    const data = buffer.subarray(0, this.filled);
    this.buffer = null;
    this.filled = 0;
    const position = this.position;
    this.position += data.length;
    const hashed = this.hash.update(data);
    // Writes go to the disk one after another: completed out of order, a crash could leave
    // a hole inside the partial, which a resume would then trust.
    const written = (this.writeTail = this.writeTail.then(() => writeAll(this.handle, data, position)));
    const both = Promise.all([hashed, written]).then(
      () => releaseBuffer(buffer),
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    this.inFlight.push(both);
    if (this.inFlight.length > 2) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  async end(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
  }

  async abort(): Promise<void> {
    this.buffer = null;
    await Promise.all(this.inFlight.splice(0)).catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
