/**
 * Moving one file each way, with resume and the SHA-256 check. The queue
 * (transfer-queue.ts) decides what to move and when; this file only moves bytes.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { open, rename, stat, unlink, utimes } from 'node:fs/promises';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { ExistsPolicy, PutResult } from '../../shared/common/messages.js';
import type { ClientConnection } from './client-connection.js';
import { partialPathFor } from './local-files.js';
import type { RemoteSession } from './session.js';

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
async function hashPrefix(file: string, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (length === 0) return hash;
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
  }
  return hash;
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
  const hash = await hashPrefix(localPath, offset);
  if (offset > 0) options.onBytes?.(offset);
  let sent = 0;
  try {
    return await withConnection(session, options.signal, (conn, release) =>
      conn.put(
        { path: remotePath, offset, total, exists: options.exists, mtime: Math.round(mtime) },
        // Bounded to the announced size, so the stream ends by itself (no early exit).
        () => createReadStream(localPath, { start: offset, end: Math.max(offset, total - 1), highWaterMark: CHUNK }) as AsyncIterable<Buffer>,
        hash,
        {
          onSent: (n) => {
            sent += n;
            options.onBytes?.(n);
          },
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

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function freeName(p: string): Promise<string> {
  const dot = p.lastIndexOf('.');
  const slash = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  const [stem, ext] = dot > slash + 1 ? [p.slice(0, dot), p.slice(dot)] : [p, ''];
  for (let i = 1; i < 10_000; i++) {
    const candidate = `${stem} (${i})${ext}`;
    if (!(await exists(candidate))) return candidate;
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
  if (await exists(target)) {
    if (options.exists === 'skip') {
      const size = (await stat(target)).size;
      return { path: target, size, sha256: '', skipped: true };
    }
    if (options.exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
    if (options.exists === 'rename') target = await freeName(target);
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
  const hash = await hashPrefix(partial, offset);
  if (offset > 0) options.onBytes?.(offset);
  // O_NOFOLLOW: a symlink planted where the partial goes is refused, not written through.
  const flags =
    constants.O_WRONLY | constants.O_CREAT | (offset > 0 ? constants.O_APPEND : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
  const handle = await open(partial, flags, 0o644);
  const out = createWriteStream('', { fd: handle.fd, autoClose: false, highWaterMark: CHUNK });
  const writeError = new Promise<never>((_, reject) => out.once('error', reject));
  writeError.catch(() => undefined);
  let received = 0;
  let mtime = 0;
  let total = 0;
  try {
    const result = await withConnection(session, options.signal, (conn) =>
      conn.get(remotePath, offset, {
        start: (data) => {
          if (data.offset !== offset) throw new FerryError('EPROTO', 'the server resumed from the wrong offset');
          mtime = data.mtime;
          total = data.total;
        },
        chunk: async (bytes) => {
          hash.update(bytes);
          received += bytes.length;
          options.onBytes?.(bytes.length);
          if (!out.write(bytes)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), writeError]);
        },
      }),
    );
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await handle.close();
    options.onVerifying?.();
    const local = hash.digest('hex');
    if (local !== result.sha256) {
      await unlink(partial).catch(() => undefined);
      throw new FerryError('ECHECKSUM', `the SHA-256 of ${remotePath} did not match: the download was discarded`);
    }
    await rename(partial, target);
    if (mtime > 0) await utimes(target, new Date(), new Date(mtime)).catch(() => undefined);
    return { path: target, size: total, sha256: local, skipped: false };
  } catch (err) {
    out.destroy();
    await handle.close().catch(() => undefined);
    options.onBytes?.(-(received + offset));
    throw err;
  }
}
