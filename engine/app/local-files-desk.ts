/**
 * The local pane's files: folders on this computer listed for 'local:list', entries shaped
 * as the remote ones (name, type, size, mtime, mode). Every entry is lstat'ed, so a link
 * is reported as a link and never followed. In browser mode the pane starts in (and may
 * not leave) the folder the web host was started with: web/page-policy.ts refuses paths
 * outside it; here that folder is only where the pane starts.
 */
import { lstat, mkdir, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../../shared/common/errors.js';
import type { Entry, EntryType } from '../../shared/common/messages.js';
import type { LocalHome } from '../../shared/common/places.js';

/** Entries lstat'ed at once while listing a folder (a big folder is not one burst of calls). */
const LSTAT_BATCH = 64;

export class LocalFilesDesk {
  /** `root`: browser mode's folder (the web host's download folder); absent in the desktop app. */
  constructor(private readonly root?: string) {}

  async home(): Promise<LocalHome> {
    if (this.root !== undefined) {
      // The download folder may not exist before the first download.
      await mkdir(this.root, { recursive: true }).catch(() => undefined);
      return { home: this.root, top: this.root };
    }
    const home = os.homedir();
    return { home, top: path.parse(home).root };
  }

  async list(folder: string): Promise<{ path: string; entries: Entry[] }> {
    const dir = path.resolve(folder);
    let names: string[];
    try {
      const info = await stat(dir);
      if (!info.isDirectory()) throw new FerryError('ENOTDIR', `${dir} is a file, not a folder.`);
      names = (await readdir(dir)).filter((n) => n.length <= 1024);
    } catch (err) {
      throw localError(err, dir);
    }
    const entries: Entry[] = [];
    for (let i = 0; i < names.length; i += LSTAT_BATCH) {
      const batch = names.slice(i, i + LSTAT_BATCH);
      const infos = await Promise.all(batch.map((n) => lstat(path.join(dir, n)).catch(() => null)));
      infos.forEach((info, k) => {
        // Gone between readdir and lstat: left out, as a listing a moment later would.
        if (info === null) return;
        entries.push({ name: batch[k]!, type: typeOf(info), size: info.isFile() ? info.size : 0, mtime: Math.round(info.mtimeMs), mode: info.mode & 0o7777 });
      });
    }
    return { path: dir, entries };
  }
}

function typeOf(info: { isSymbolicLink(): boolean; isDirectory(): boolean; isFile(): boolean }): EntryType {
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isDirectory()) return 'dir';
  return info.isFile() ? 'file' : 'other';
}

/** A local failure in words a person can act on, with the code the remote side would use. */
function localError(err: unknown, dir: string): FerryError {
  if (err instanceof FerryError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new FerryError('ENOENT', `There is no folder ${dir} on this computer.`);
  if (code === 'ENOTDIR') return new FerryError('ENOTDIR', `${dir} is not a folder.`);
  if (code === 'EACCES' || code === 'EPERM') return new FerryError('EACCES', `Ferry may not read ${dir} (permission denied).`);
  return new FerryError('EIO', `Could not list ${dir}: ${(err as Error)?.message ?? String(err)}`);
}
