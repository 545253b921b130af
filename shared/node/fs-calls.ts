/**
 * The few file system calls of the small-file paths (ferryd's and the engine's), as thin
 * promises over Node's callback API. fs/promises wraps every descriptor in a FileHandle
 * and every call in more machinery; for thousands of 4 KiB files that bookkeeping costs
 * more main-thread time than the system calls themselves (measured: open+read+close of a
 * cached 4 KiB file is about 30 µs of event-loop time through fs/promises and about 12 µs
 * through callbacks).
 */
import * as fs from 'node:fs';

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, value) => (err ? reject(err) : resolve(value)));
  });
}

export const openFd = (file: string, flags: number, mode = 0o666): Promise<number> =>
  call<number>((done) => fs.open(file, flags, mode, done));

export const closeFd = (fd: number): Promise<void> => call<void>((done) => fs.close(fd, (err) => done(err, undefined)));

export const fsyncFd = (fd: number): Promise<void> => call<void>((done) => fs.fsync(fd, (err) => done(err, undefined)));

export const futimesFd = (fd: number, atime: Date, mtime: Date): Promise<void> =>
  call<void>((done) => fs.futimes(fd, atime, mtime, (err) => done(err, undefined)));

export const renamePath = (from: string, to: string): Promise<void> =>
  call<void>((done) => fs.rename(from, to, (err) => done(err, undefined)));

export const unlinkPath = (file: string): Promise<void> => call<void>((done) => fs.unlink(file, (err) => done(err, undefined)));

/** realpath(3) itself (one call into libuv, not Node's JavaScript walk of every component). */
export const realpathNative = (file: string): Promise<string> => call<string>((done) => fs.realpath.native(file, done));

export const statPath = (file: string): Promise<fs.Stats> => call<fs.Stats>((done) => fs.stat(file, done));

export const fstatFd = (fd: number): Promise<fs.Stats> => call<fs.Stats>((done) => fs.fstat(fd, done));

/** stat, or null when there is nothing to stat (any error: the conflict policies' existence check). */
export function statOrNull(file: string): Promise<fs.Stats | null> {
  return new Promise((resolve) => fs.stat(file, (err, st) => resolve(err ? null : st)));
}

/** lstat, or null when nothing is there (ENOENT). */
export function lstatOrNull(file: string): Promise<fs.Stats | null> {
  return new Promise((resolve, reject) => {
    fs.lstat(file, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT') resolve(null);
      else reject(err);
    });
  });
}

/** Write all of `data` at `position` (pwrite, looping over short writes). */
export async function writeAllFd(fd: number, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const n = await call<number>((cb) => fs.write(fd, data, done, data.length - done, position + done, cb));
    done += n;
  }
}

/** Read up to `length` bytes at `position` into `buffer` at `offset`; resolves with the count. */
export const readFd = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  call<number>((done) => fs.read(fd, buffer, offset, length, position, done));
