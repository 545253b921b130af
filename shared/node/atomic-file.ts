/**
 * Replace a small file atomically and durably: write a private temporary file next to
 * it, fsync it, rename it over the old one, and (optionally) fsync the folder so the
 * rename itself survives a crash. Readers see the old file or the new one, never half.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../common/errors.js';

export interface AtomicWriteOptions {
  /** Permission bits, applied exactly whatever the umask (default 0o600). */
  readonly mode?: number;
  /** Create the folder (0o700) if it is missing. */
  readonly createDir?: boolean;
  /** fsync the folder after the rename (default true). */
  readonly syncDir?: boolean;
  /**
   * fsync the file before the rename (default true). Only a cache that may be lost may skip
   * it: after a crash it can then be empty or short (never another file's bytes).
   */
  readonly syncFile?: boolean;
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = path.dirname(file);
  if (options.createDir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode);
      if (options.syncFile ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.syncDir ?? true) await syncDir(dir);
}

/** Make a rename durable. Some platforms (Windows) cannot fsync a folder: best effort there. */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') {
      throw new FerryError('EIO', `Cannot flush the folder ${dir} to disk (${(err as Error).message}).`);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
