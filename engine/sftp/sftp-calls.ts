/**
 * One SFTP channel as promises, with the server's status codes turned into Ferry's
 * stable errors. Every call names the path in its error so a person can act on it.
 */
import type { Attributes, FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import { FerryError, toFerryError, type ErrorCode } from '../../shared/common/errors.js';
import type { Entry } from '../../shared/common/messages.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks). */
const STATUS: Record<number, { readonly code: ErrorCode; readonly what: string }> = {
  2: { code: 'ENOENT', what: 'no such file or folder' },
  3: { code: 'EACCES', what: 'permission denied by the server' },
  4: { code: 'EIO', what: 'the server reported a failure' },
  5: { code: 'EPROTO', what: 'the server did not understand a request' },
  6: { code: 'ECONN', what: 'no connection' },
  7: { code: 'ECONN', what: 'the connection was lost' },
  8: { code: 'EINVAL', what: 'the server does not support this operation' },
};

/** An ssh2 SFTP error as a FerryError about `subject`. */
export function sftpError(err: unknown, subject: string): FerryError {
  if (err instanceof FerryError) return err;
  const status = (err as { code?: unknown }).code;
  const known = typeof status === 'number' ? STATUS[status] : undefined;
  if (known) return new FerryError(known.code, `${subject}: ${known.what}`, { sftpStatus: status });
  const message = (err as Error)?.message ?? String(err);
  if (/no response|not connected|closed|ECONNRESET|EPIPE|channel/i.test(message)) return new FerryError('ECONN', `${subject}: ${message}`);
  return toFerryError(err, 'EIO');
}

const S_IFMT = 0o170000;

/** An SFTP attribute set as a listing entry. */
export function toEntry(name: string, attrs: Attributes | Stats): Entry {
  const kind = attrs.mode & S_IFMT;
  const type = kind === 0o040000 ? 'dir' : kind === 0o100000 ? 'file' : kind === 0o120000 ? 'symlink' : 'other';
  return { name, type, size: type === 'file' ? Number(attrs.size) : 0, mtime: Number(attrs.mtime) * 1000, mode: attrs.mode & 0o7777 };
}

/** statvfs@openssh.com's reply (the fields Ferry reads; counts may be bigints for huge disks). */
export interface Statvfs {
  readonly f_bsize: number | bigint;
  readonly f_frsize: number | bigint;
  readonly f_blocks: number | bigint;
  readonly f_bfree: number | bigint;
  readonly f_bavail: number | bigint;
}

/** The SFTP requests Ferry uses, on one channel. Requests may be issued concurrently (pipelined). */
export class SftpCalls {
  private ended = false;
  /** Requests waiting for their answer: ending the channel fails them at once. */
  private readonly pending = new Set<(err: FerryError) => void>();

  constructor(readonly sftp: SFTPWrapper) {
    sftp.on('close', () => (this.ended = true));
    // Errors also reach each request's callback; without a listener they would crash the process.
    sftp.on('error', () => (this.ended = true));
  }

  get closed(): boolean {
    return this.ended;
  }

  private call<T>(subject: string, run: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // A request on a closed channel would never be answered: refuse it now.
      if (this.ended) return reject(new FerryError('ECONN', `${subject}: the SFTP channel is closed`));
      const fail = (err: FerryError): void => reject(err);
      this.pending.add(fail);
      try {
        run((err, value) => {
          this.pending.delete(fail);
          if (err) reject(sftpError(err, subject));
          else resolve(value);
        });
      } catch (err) {
        this.pending.delete(fail);
        reject(sftpError(err, subject));
      }
    });
  }

  /** The largest read and write payloads the server takes in one request (limits@openssh.com where offered). */
  get maxRead(): number {
    return (this.sftp as unknown as { _maxReadLen?: number })._maxReadLen ?? 32 * 1024;
  }

  get maxWrite(): number {
    return (this.sftp as unknown as { _maxWriteLen?: number })._maxWriteLen ?? 32 * 1024;
  }

  /** Whether the server offers an extension (posix-rename@openssh.com, statvfs@openssh.com, …). */
  offers(extension: string): boolean {
    const extensions = (this.sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {};
    return Object.hasOwn(extensions, extension);
  }

  open(path: string, flags: 'r' | 'w' | 'r+' | 'wx', mode?: number): Promise<Buffer> {
    return this.call(path, (cb) => this.sftp.open(path, flags, mode === undefined ? {} : { mode }, cb));
  }

  close(handle: Buffer, subject: string): Promise<void> {
    return this.call(subject, (cb) => this.sftp.close(handle, (err) => cb(err, undefined)));
  }

  /**
   * Up to `length` bytes at `position`; fewer at the end of the file, none past it. They land
   * in `into` when given (a buffer the caller reuses: the answer is a view of it), else in a
   * new buffer.
   */
  read(handle: Buffer, length: number, position: number, subject: string, into?: Buffer): Promise<Buffer> {
    const buffer = into && into.length >= length ? into : Buffer.allocUnsafe(length);
    return this.call<number>(subject, (cb) => this.sftp.read(handle, buffer, 0, length, position, (err, bytesRead) => cb(err, bytesRead))).then((n) =>
      n === buffer.length ? buffer : buffer.subarray(0, n),
    );
  }

  write(handle: Buffer, data: Buffer, position: number, subject: string): Promise<void> {
    return this.call(subject, (cb) => this.sftp.write(handle, data, 0, data.length, position, (err) => cb(err, undefined)));
  }

  fstat(handle: Buffer, subject: string): Promise<Stats> {
    return this.call(subject, (cb) => this.sftp.fstat(handle, cb));
  }

  fsetstat(handle: Buffer, attrs: { mode?: number; atime?: number; mtime?: number }, subject: string): Promise<void> {
    return this.call(subject, (cb) => this.sftp.fsetstat(handle, attrs, (err) => cb(err, undefined)));
  }

  setstat(path: string, attrs: { mode?: number; atime?: number; mtime?: number }): Promise<void> {
    return this.call(path, (cb) => this.sftp.setstat(path, attrs, (err) => cb(err, undefined)));
  }

  stat(path: string): Promise<Stats> {
    return this.call(path, (cb) => this.sftp.stat(path, cb));
  }

  lstat(path: string): Promise<Stats> {
    return this.call(path, (cb) => this.sftp.lstat(path, cb));
  }

  /** stat() that answers null when there is nothing there. */
  async lstatOrNull(path: string): Promise<Stats | null> {
    try {
      return await this.lstat(path);
    } catch (err) {
      if ((err as FerryError).code === 'ENOENT') return null;
      throw err;
    }
  }

  realpath(path: string): Promise<string> {
    return this.call(path, (cb) => this.sftp.realpath(path, cb));
  }

  opendir(path: string): Promise<Buffer> {
    return this.call(path, (cb) => this.sftp.opendir(path, cb));
  }

  /** The next batch of a folder handle's entries, or null at the end. */
  async readdirBatch(handle: Buffer, subject: string): Promise<FileEntryWithStats[] | null> {
    const list = await this.call<FileEntryWithStats[] | null>(subject, (cb) =>
      this.sftp.readdir(handle, (err, batch) => {
        if (err && (err as { code?: unknown }).code === 1) return cb(undefined, null); // EOF
        cb(err, batch === undefined || (batch as unknown) === false ? null : (batch as FileEntryWithStats[]));
      }),
    );
    return list;
  }

  mkdir(path: string, mode?: number): Promise<void> {
    return this.call(path, (cb) => this.sftp.mkdir(path, mode === undefined ? {} : { mode }, (err) => cb(err, undefined)));
  }

  rmdir(path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.rmdir(path, (err) => cb(err, undefined)));
  }

  unlink(path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.unlink(path, (err) => cb(err, undefined)));
  }

  /** Plain SFTP rename: fails when `to` exists. */
  rename(from: string, to: string): Promise<void> {
    return this.call(from, (cb) => this.sftp.rename(from, to, (err) => cb(err, undefined)));
  }

  /** posix-rename@openssh.com: replaces `to` atomically. */
  posixRename(from: string, to: string): Promise<void> {
    return this.call(from, (cb) => this.sftp.ext_openssh_rename(from, to, (err) => cb(err, undefined)));
  }

  statvfs(path: string): Promise<Statvfs> {
    return this.call(path, (cb) => this.sftp.ext_openssh_statvfs(path, (err, info) => cb(err, info as unknown as Statvfs)));
  }

  /**
   * Close the channel, and fail what still waits at once: the server answers a close only
   * after the requests before it, which over a slow link can take minutes.
   */
  end(): void {
    this.ended = true;
    this.sftp.end();
    const waiting = [...this.pending];
    this.pending.clear();
    for (const fail of waiting) fail(new FerryError('ECONN', 'the SFTP channel was closed'));
  }
}
