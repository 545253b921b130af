/**
 * Small files, moved whole. A file of a few KiB is all per-file overhead: the transfer
 * queue pipelines many of them on one data connection (transfer-queue.ts) and moves each
 * in as few steps as it can:
 *
 * - up: the file is read in one go (open, fstat, read; the close is not waited for) and
 *   sent as one `put` with its SHA-256; the server stores it durably in its next group
 *   commit, while later puts are already on the wire.
 * - down: one `read` request, answered by one `ok` frame carrying the whole file and its
 *   SHA-256 (checked here before anything is written), then the file is written to its
 *   hidden partial, given its mtime and renamed into place.
 *
 * The file system calls use Node's callback API: for thousands of small files, the
 * FileHandle and promise machinery of fs/promises costs more than the system calls.
 */
import * as fs from 'node:fs';
import { FerryError } from '../../shared/common/errors.js';
import { closeFd, fstatFd, futimesFd, openFd, readFd, renamePath, writeAllFd } from '../../shared/node/fs-calls.js';
import { partialPathFor } from './local-files.js';

/** Small files of one batch being read or written at once (per data connection). */
export const SMALL_WINDOW = 8;

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_NOFOLLOW;

const closeQuietly = (fd: number): void => fs.close(fd, () => undefined);

export interface SmallFile {
  readonly data: Buffer;
  readonly mtimeMs: number;
  /** Permission bits, kept on upload where the remote can. */
  readonly mode: number;
}

/**
 * A local file read whole, or null when it is not a regular file of at most `max` bytes
 * (any more: it grew since the folder was scanned) and must take the streamed way.
 */
export async function readSmallFile(file: string, max: number): Promise<SmallFile | null> {
  const fd = await openFd(file, fs.constants.O_RDONLY);
  try {
    const st = await fstatFd(fd);
    if (!st.isFile()) throw new FerryError('EISDIR', `${file} is not a regular file`);
    if (st.size > max) return null;
    const data = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < data.length) {
      const n = await readFd(fd, data, got, data.length - got, got);
      if (n === 0) throw new FerryError('EIO', `the local file changed during the upload (${got} of ${data.length} bytes read)`);
      got += n;
    }
    return { data, mtimeMs: st.mtimeMs, mode: st.mode & 0o777 };
  } finally {
    closeQuietly(fd);
  }
}

/**
 * readSmallFile() with blocking calls: for a process that has nothing else to do on its
 * thread meanwhile (the CLI). A cached 4 KiB file takes a few microseconds this way, and
 * no trip through the I/O threads.
 */
export function readSmallFileSync(file: string, max: number): SmallFile | null {
  const fd = fs.openSync(file, fs.constants.O_RDONLY);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FerryError('EISDIR', `${file} is not a regular file`);
    if (st.size > max) return null;
    const data = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < data.length) {
      const n = fs.readSync(fd, data, got, data.length - got, got);
      if (n === 0) throw new FerryError('EIO', `the local file changed during the upload (${got} of ${data.length} bytes read)`);
      got += n;
    }
    return { data, mtimeMs: st.mtimeMs, mode: st.mode & 0o777 };
  } finally {
    fs.closeSync(fd);
  }
}

/** The one chunk of a small upload, as the AsyncIterable that Lane.put() reads. */
export async function* onceChunk(data: Buffer): AsyncGenerator<Buffer> {
  if (data.length > 0) yield data;
}

/**
 * Write a checked small download: to its hidden partial (O_NOFOLLOW: never through a
 * planted link), with the remote mtime, then renamed over `target` (whose folder has been
 * checked with safeLocalPath). With `blocking`, every call is made directly (see
 * readSmallFileSync()).
 */
export async function writeSmallFile(target: string, data: Buffer, mtime: number, blocking = false): Promise<void> {
  const partial = partialPathFor(target);
  if (blocking) {
    writeSmallFileSync(partial, target, data, mtime);
    return;
  }
  const fd = await openFd(partial, WRITE_FLAGS, 0o644);
  try {
    await writeAllFd(fd, data, 0);
    if (mtime > 0) await futimesFd(fd, new Date(), new Date(mtime));
  } catch (err) {
    closeQuietly(fd);
    fs.unlink(partial, () => undefined);
    throw err;
  }
  await closeFd(fd);
  try {
    await renamePath(partial, target);
  } catch (err) {
    // e.g. the target became a folder: no partial is left behind (small files never resume).
    fs.unlink(partial, () => undefined);
    throw err;
  }
}

function writeSmallFileSync(partial: string, target: string, data: Buffer, mtime: number): void {
  const fd = fs.openSync(partial, WRITE_FLAGS, 0o644);
  try {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
    if (mtime > 0) fs.futimesSync(fd, new Date(), new Date(mtime));
  } catch (err) {
    closeQuietly(fd);
    fs.rmSync(partial, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(partial, target);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  }
}
