/**
 * Moving one big file each way over a Remote's lane, with resume and the check. The
 * queue decides what to move and when; this file only moves bytes. The check is the
 * whole file's XXH3-128 or SHA-256 where the remote computes one (capabilities.checks:
 * the one asked for if the remote offers it, else SHA-256), else the size, and a transfer
 * says which (`digest`; `verified` only for a digest).
 */
import { open, rename, stat, unlink, utimes } from 'node:fs/promises';
import { CHECK_NAMES, ENGINE_DEFAULT_CHECK, type CheckAlgorithm, type Digest } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { ExistsPolicy } from '../../shared/common/messages.js';
import { statOrNull } from '../../shared/node/fs-calls.js';
import { releaseBuffer, type StreamHash } from '../../shared/node/hash-worker.js';
import type { Lane, Remote, WriteResult } from '../remote/remote.js';
import { DiskSink, fileChunks, hashPrefix, partialFlags } from './file-io.js';
import { partialPathFor } from './local-files.js';
import { pacedSource, paceBytes, type TokenBucket } from './rate-limit.js';

/** Below this size a partial is not worth a round trip to ask about: the file is re-sent. */
export const RESUME_THRESHOLD = 1024 * 1024;

export interface TransferHooks {
  /** Bytes moved since the last call (never one call per byte: per chunk, batched above). */
  readonly onBytes?: (delta: number) => void;
  /** A download's size as the remote announced it before its bytes (the file may have changed since it was listed). */
  readonly onSize?: (size: number) => void;
  /** The bytes are all sent; the server is checking the hash and syncing. */
  readonly onVerifying?: () => void;
  readonly signal?: AbortSignal;
  /** The speed limit of this direction (rate-limit.ts): bytes wait for it before they move. */
  readonly pace?: TokenBucket;
  /** The check asked for (default XXH3-128); a remote that does not compute it is checked with SHA-256. */
  readonly check?: CheckAlgorithm;
}

/** The check a transfer with `remote` makes: the one asked for where the remote computes it, else SHA-256. */
export function checkFor(remote: Remote, asked: CheckAlgorithm = ENGINE_DEFAULT_CHECK): CheckAlgorithm {
  return remote.capabilities.checks.includes(asked) ? asked : 'sha256';
}

/** Run `fn` with a lane; an abort destroys the lane (the remote keeps partials). */
async function withLane<T>(remote: Remote, signal: AbortSignal | undefined, fn: (lane: Lane, release: () => void) => Promise<T>): Promise<T> {
  const lane = await remote.acquire(signal);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    remote.release(lane);
  };
  const onAbort = (): void => lane.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(lane, release);
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
  /** Permission bits for the remote file (an edited file keeps its own); default the local file's. */
  readonly mode?: number;
  /** A file this upload replaces takes `mode` too (`scp -p`); else it keeps its own. */
  readonly preserveMode?: boolean;
}

/** An upload or download that ended: `verified` when the remote's digest matched ours. */
export interface TransferResult {
  readonly path: string;
  readonly size: number;
  readonly skipped: boolean;
  readonly verified: boolean;
  /** The digest both ends agreed on, null when only the size was checked or it was skipped. */
  readonly digest: Digest | null;
}

const checked = (result: WriteResult): TransferResult => ({ ...result, verified: !result.skipped && result.digest !== null });

/** Upload one local file to `remotePath`. */
export async function uploadFile(remote: Remote, localPath: string, remotePath: string, options: UploadOptions): Promise<TransferResult> {
  const info = await stat(localPath);
  if (!info.isFile()) throw new FerryError('EISDIR', `${localPath} is not a regular file`);
  const total = info.size;
  let offset = 0;
  if (options.resume && remote.capabilities.resume && total >= RESUME_THRESHOLD) {
    const { partial } = await remote.uploadInfo(remotePath, { size: total, mtime: Math.round(info.mtimeMs) });
    if (partial !== null && partial <= total) offset = partial;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return checked(await putOnce(remote, localPath, remotePath, total, offset, info.mtimeMs, options.mode ?? info.mode & 0o777, options));
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
  remote: Remote,
  localPath: string,
  remotePath: string,
  total: number,
  offset: number,
  mtime: number,
  mode: number,
  options: UploadOptions,
): Promise<WriteResult> {
  const hash = await hashPrefix(localPath, offset, total, checkFor(remote, options.check));
  if (offset > 0) options.onBytes?.(offset);
  let sent = 0;
  // Bounded to the announced size, so the stream ends by itself (no early exit).
  const paced = pacedSource(() => fileChunks(localPath, offset, total, releaseBuffer), options.pace, options.signal, releaseBuffer);
  try {
    return await withLane(remote, options.signal, (lane, release) =>
      lane.put(
        { path: remotePath, offset, total, exists: options.exists, mtime: Math.round(mtime), mode, preserveMode: options.preserveMode ?? false },
        paced.source,
        hash,
        {
          onSent: (n) => {
            sent += n;
            options.onBytes?.(n);
          },
          onChunkDone: paced.done,
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
  readonly exists: ExistsPolicy;
  readonly resume: boolean;
}

/** A streamed read whose bytes do not match what it announced: nothing it sent is kept. */
function bodyMismatch(remotePath: string, announced: number, received: string): FerryError {
  return new FerryError('EPROTO', `the server announced ${announced} bytes of ${remotePath} but sent ${received}: the download was discarded`);
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
export async function downloadFile(remote: Remote, remotePath: string, destination: string, options: DownloadOptions): Promise<TransferResult> {
  try {
    return await downloadOnce(remote, remotePath, destination, options);
  } catch (err) {
    // The remote file changed since a partial was kept: the check failed and the partial is
    // gone, so one fresh attempt gets the current file.
    if (toFerryError(err).code === 'ECHECKSUM' && options.resume) {
      return downloadOnce(remote, remotePath, destination, { ...options, resume: false });
    }
    throw err;
  }
}

async function downloadOnce(remote: Remote, remotePath: string, destination: string, options: DownloadOptions): Promise<TransferResult> {
  let target = destination;
  const existing = await statOrNull(target);
  if (existing) {
    if (options.exists === 'skip') return { path: target, size: existing.size, skipped: true, verified: false, digest: null };
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
  const handle = await open(partial, partialFlags(offset), 0o644);
  let received = 0;
  let mtime = 0;
  let total = 0;
  let hash: StreamHash | undefined;
  let sink: DiskSink | undefined;
  let counted = 0;
  const check = checkFor(remote, options.check);
  try {
    let prefixSize = offset;
    const result = await withLane(remote, options.signal, (lane) =>
      lane.get(remotePath, offset, {
        start: async (data) => {
          if (data.offset !== offset) throw new FerryError('EPROTO', 'the server resumed from the wrong offset');
          // The announced size is the one that counts (an honest file may have changed since
          // it was listed): the body must match it, and the row shows it.
          options.onSize?.(data.total);
          mtime = data.mtime;
          total = data.total;
          hash = await hashPrefix(partial, prefixSize, total, check);
          if (offset > 0) options.onBytes?.(offset);
          counted = offset;
          prefixSize = 0;
          sink = new DiskSink(handle, offset, hash, total - offset);
        },
        chunk: async (bytes) => {
          if (sink === undefined) throw new FerryError('EPROTO', `the server sent bytes of ${remotePath} before saying how many`);
          // Checked before the bytes are written: a body longer than announced never reaches the disk.
          if (offset + received + bytes.length > total) throw bodyMismatch(remotePath, total - offset, 'more');
          // A speed limit holds the sink here, and the transport with it.
          const wait = paceBytes(options.pace, bytes.length, options.signal);
          if (wait) await wait;
          received += bytes.length;
          options.onBytes?.(bytes.length);
          await sink.write(bytes);
        },
      }, undefined, check),
    );
    if (sink === undefined) {
      // No data header (a transport that announces nothing for an empty file): nothing to write.
      options.onSize?.(offset);
      hash = await hashPrefix(partial, offset, 0, check);
      sink = new DiskSink(handle, offset, hash, 0);
      total = offset;
    }
    if (offset + received !== total) throw bodyMismatch(remotePath, total - offset, `${received}`);
    await sink.end();
    await handle.close();
    options.onVerifying?.();
    const local: Digest = { algorithm: hash!.algorithm, hex: await hash!.digest() };
    // Without a hash from the remote, the size is all there is to check (done above).
    const theirs = result.digest;
    if (theirs !== null && (theirs.algorithm !== local.algorithm || local.hex !== theirs.hex)) {
      await unlink(partial).catch(() => undefined);
      throw new FerryError('ECHECKSUM', `the ${CHECK_NAMES[theirs.algorithm]} of ${remotePath} did not match: the download was discarded`);
    }
    await rename(partial, target);
    if (mtime > 0) await utimes(target, new Date(), new Date(mtime)).catch(() => undefined);
    return { path: target, size: total, skipped: false, verified: theirs !== null, digest: theirs };
  } catch (err) {
    await sink?.abort();
    hash?.dispose();
    await handle.close().catch(() => undefined);
    options.onBytes?.(-(received + counted));
    // A server that broke the protocol sent nothing worth resuming from.
    if (toFerryError(err).code === 'EPROTO') await unlink(partial).catch(() => undefined);
    throw err;
  }
}

