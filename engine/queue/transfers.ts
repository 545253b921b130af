/**
 * Moving one file each way, with resume and the SHA-256 check. The queue
 * (transfer-queue.ts) decides what to move and when; this file only moves bytes.
 */
import { constants } from 'node:fs';
import { open, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { ExistsPolicy, PutResult } from '../../shared/common/messages.js';
import { statOrNull } from '../../shared/node/fs-calls.js';
import { acquireBuffer, createStreamHash, releaseBuffer, type StreamHash } from '../../shared/node/hash-worker.js';
import type { ClientConnection } from '../wire/client-connection.js';
import { partialPathFor } from './local-files.js';
import type { RemoteSession } from '../wire/session.js';

const CHUNK = 1024 * 1024;
/** Below this size a partial is not worth a round trip to ask about: the file is re-sent. */
export const RESUME_THRESHOLD = 1024 * 1024;

export interface TransferHooks {
  /** Bytes moved since the last call (never one call per byte: per chunk, batched above). */
  readonly onBytes?: (delta: number) => void;
  /** The bytes are all sent; the server is checking the hash and syncing. */
  readonly onVerifying?: () => void;
  readonly signal?: AbortSignal;
}

/** Hash the first `length` bytes of a local file (the part a resume does not resend). */
async function hashPrefix(file: string, length: number, total: number): Promise<StreamHash> {
  const hash = createStreamHash(total);
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
async function* fileChunks(file: string, start: number, end: number, release: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
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

/** Run `fn` with a data connection; an abort destroys the connection (the server keeps partials). */
async function withConnection<T>(
  session: RemoteSession,
  signal: AbortSignal | undefined,
  fn: (conn: ClientConnection, release: () => void) => Promise<T>,
): Promise<T> {
  const conn = await session.acquire(signal);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    session.release(conn);
  };
  const onAbort = (): void => conn.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(conn, release);
  } catch (err) {
    if (signal?.aborted) throw new FerryError('ECANCELED', 'the transfer was cancelled');
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    release();
  }
}

export interface UploadOptions extends TransferHooks {
  readonly exists: ExistsPolicy;
  /** Ask the server for a partial of this file and continue from it. */
  readonly resume: boolean;
}

/** Upload one local file to `remotePath`. */
export async function uploadFile(
  session: RemoteSession,
  localPath: string,
  remotePath: string,
  options: UploadOptions,
): Promise<PutResult> {
  const info = await stat(localPath);
  if (!info.isFile()) throw new FerryError('EISDIR', `${localPath} is not a regular file`);
  const total = info.size;
  let offset = 0;
  if (options.resume && total >= RESUME_THRESHOLD) {
    const remote = await session.uploadInfo(remotePath);
    if (remote.partial !== null && remote.partial <= total) offset = remote.partial;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await putOnce(session, localPath, remotePath, total, offset, info.mtimeMs, options);
    } catch (err) {
      const e = toFerryError(err);
      const serverOffset = e.details?.offset;
      // The server holds a different amount than we thought: continue from what it has.
      if (e.code === 'EOFFSET' && typeof serverOffset === 'number' && serverOffset <= total && attempt < 2) {
        offset = serverOffset;
        continue;
      }
      // A resumed upload whose source changed since the first attempt: start over once.
      if (e.code === 'ECHECKSUM' && offset > 0 && attempt < 2) {
        offset = 0;
        continue;
      }
      throw e;
    }
  }
}

async function putOnce(
  session: RemoteSession,
  localPath: string,
  remotePath: string,
  total: number,
  offset: number,
  mtime: number,
  options: UploadOptions,
): Promise<PutResult> {
  const hash = await hashPrefix(localPath, offset, total);
  if (offset > 0) options.onBytes?.(offset);
  let sent = 0;
  try {
    return await withConnection(session, options.signal, (conn, release) =>
      conn.put(
        { path: remotePath, offset, total, exists: options.exists, mtime: Math.round(mtime) },
        // Bounded to the announced size, so the stream ends by itself (no early exit).
        () => fileChunks(localPath, offset, total, releaseBuffer),
        hash,
        {
          onSent: (n) => {
            sent += n;
            options.onBytes?.(n);
          },
          onChunkDone: releaseBuffer,
          onWritten: () => {
            // The body is on its way: let the next file use this connection (pipelining).
            release();
            options.onVerifying?.();
          },
        },
      ),
    );
  } catch (err) {
    // Count only what is really on the server next time: take back this attempt's bytes.
    hash.dispose();
    options.onBytes?.(-(sent + offset));
    throw err;
  }
}

export interface DownloadOptions extends TransferHooks {
  readonly exists: 'overwrite' | 'skip' | 'rename' | 'fail';
  readonly resume: boolean;
}

export interface DownloadResult {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly skipped: boolean;
}

/** 'name (n).ext' next to `p` that does not exist yet (the 'rename' policy for downloads). */
export async function freeLocalName(p: string): Promise<string> {
  const dot = p.lastIndexOf('.');
  const slash = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  const [stem, ext] = dot > slash + 1 ? [p.slice(0, dot), p.slice(dot)] : [p, ''];
  for (let i = 1; i < 10_000; i++) {
    const candidate = `${stem} (${i})${ext}`;
    if ((await statOrNull(candidate)) === null) return candidate;
  }
  throw new FerryError('EEXIST', `no free name for ${p}`);
}

/**
 * Download `remotePath` to the local file `destination` (its folder must exist and must
 * already have been checked with safeLocalPath). Bytes go to a hidden partial next to
 * it, which is renamed into place only when the SHA-256 matches.
 */
export async function downloadFile(
  session: RemoteSession,
  remotePath: string,
  destination: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  try {
    return await downloadOnce(session, remotePath, destination, options);
  } catch (err) {
    // The remote file changed since a partial was kept: the check failed and the partial is
    // gone, so one fresh attempt gets the current file.
    if (toFerryError(err).code === 'ECHECKSUM' && options.resume) {
      return downloadOnce(session, remotePath, destination, { ...options, resume: false });
    }
    throw err;
  }
}

async function downloadOnce(
  session: RemoteSession,
  remotePath: string,
  destination: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  let target = destination;
  const existing = await statOrNull(target);
  if (existing) {
    if (options.exists === 'skip') return { path: target, size: existing.size, sha256: '', skipped: true };
    if (options.exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
    if (options.exists === 'rename') target = await freeLocalName(target);
  }
  const partial = partialPathFor(target);
  let offset = 0;
  if (options.resume) {
    try {
      const p = await stat(partial);
      if (p.isFile()) offset = p.size;
    } catch {
      offset = 0;
    }
  }
  // The partial's size is what a resume continues from; a download of unknown size
  // hashes inline until the header says how big it is (the worker pays from 4 MiB on).
  const handle = await open(partial, flags(offset), 0o644);
  let received = 0;
  let mtime = 0;
  let total = 0;
  let hash: StreamHash | undefined;
  let sink: DiskSink | undefined;
  let counted = 0;
  try {
    let prefixSize = offset;
    const result = await withConnection(session, options.signal, (conn) =>
      conn.get(remotePath, offset, {
        start: async (data) => {
          if (data.offset !== offset) throw new FerryError('EPROTO', 'the server resumed from the wrong offset');
          mtime = data.mtime;
          total = data.total;
          hash = await hashPrefix(partial, prefixSize, total);
          if (offset > 0) options.onBytes?.(offset);
          counted = offset;
          prefixSize = 0;
          sink = new DiskSink(handle, offset, hash, total - offset);
        },
        chunk: async (bytes) => {
          received += bytes.length;
          options.onBytes?.(bytes.length);
          await sink!.write(bytes);
        },
      }),
    );
    if (sink === undefined) {
      hash = await hashPrefix(partial, offset, 0);
      sink = new DiskSink(handle, offset, hash, 0);
    }
    await sink.end();
    await handle.close();
    options.onVerifying?.();
    const local = await hash!.digest();
    if (local !== result.sha256) {
      await unlink(partial).catch(() => undefined);
      throw new FerryError('ECHECKSUM', `the SHA-256 of ${remotePath} did not match: the download was discarded`);
    }
    await rename(partial, target);
    if (mtime > 0) await utimes(target, new Date(), new Date(mtime)).catch(() => undefined);
    return { path: target, size: total, sha256: local, skipped: false };
  } catch (err) {
    await sink?.abort();
    hash?.dispose();
    await handle.close().catch(() => undefined);
    options.onBytes?.(-(received + counted));
    throw err;
  }
}

// O_NOFOLLOW: a symlink planted where the partial goes is refused, not written through.
function flags(offset: number): number {
  // No O_APPEND when resuming: Linux ignores pwrite's position on appending files.
  return constants.O_WRONLY | constants.O_CREAT | (offset > 0 ? 0 : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
}

/**
 * Received bytes → the partial file. Socket chunks are small (16–64 KiB): they are
 * gathered into 1 MiB pooled buffers, and each full buffer is written and hashed (in the
 * hash worker for big files) at the same time. At most a few buffers are in flight; then
 * the socket waits (the caller awaits write()).
 */
class DiskSink {
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
