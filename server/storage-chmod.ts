/**
 * `chmod` on the local disk: permission bits for one entry of a home, or for a folder and
 * everything below it. Links are never followed (a link is refused, and skipped inside a
 * recursive change), so a change never leaves the home. A file's stored SHA-256 survives:
 * its content did not change, only its ctime did (stored-hashes.ts keys records by it).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError } from '../shared/common/errors.js';
import { checkChmodMode } from '../shared/common/permissions.js';
import type { Account } from './storage.js';
import { guard, type Home, type HomeJail } from './storage-jail.js';
import type { StoredHashes } from './stored-hashes.js';
import { DEFAULT_MAX_ENTRIES } from './user-store.js';

export interface ChmodOptions {
  readonly recursive: boolean;
  /** Stops a recursive change between entries (ECANCELED; what was changed stays changed). */
  readonly signal?: AbortSignal | undefined;
}

export interface ChmodResult {
  /** The virtual path changed. */
  readonly path: string;
  /** Entries whose bits were set (links skipped are not counted). */
  readonly changed: number;
}

/** ferryd's default umask (`ferryd serve --umask`): group and others lose write. */
export const DEFAULT_UMASK = 0o022;

/**
 * The bits an upload or mkdir gives a new entry: what the client sent (else 0o666 for a file,
 * 0o777 for a folder, as open(2) and mkdir(2) would), rwx only, less the server's umask.
 * A client can never set setuid, setgid or sticky.
 */
export function newEntryMode(requested: number | undefined, kind: 'file' | 'dir', umask: number): number {
  return (requested ?? (kind === 'file' ? 0o666 : 0o777)) & 0o777 & ~umask;
}

export function changeMode(
  jail: HomeJail,
  hashes: StoredHashes,
  account: Account,
  cwd: string,
  target: string,
  mode: number,
  options: ChmodOptions,
): Promise<ChmodResult> {
  return guard(async () => {
    checkChmodMode(mode);
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    const host = vpath === '/' ? home.real : (await jail.entryOf(home, vpath)).host;
    const st = await fsp.lstat(host, { bigint: true });
    if (st.isSymbolicLink()) {
      throw new FerryError('EINVAL', 'This is a link: links have no permissions of their own, and chmod does not follow them.');
    }
    const change = new ModeChange(hashes, home, mode, options.signal, account.maxEntries ?? DEFAULT_MAX_ENTRIES);
    if (st.isDirectory() && options.recursive) await change.tree(host);
    else await change.one(host, st);
    return { path: vpath, changed: change.changed };
  });
}

/** One request's change: its count, its bound and its signal. */
class ModeChange {
  changed = 0;
  private visited = 0;

  constructor(
    private readonly hashes: StoredHashes,
    private readonly home: Home,
    private readonly mode: number,
    private readonly signal: AbortSignal | undefined,
    private readonly maxEntries: number,
  ) {}

  /**
   * Set the bits of the entry at real path `host` (not a link: lstat said so). A file's
   * stored hash is looked up before and recorded again after, if nothing but its ctime moved.
   * Between the lstat and the chmod, only a command of the user's own could swap in a
   * link, and such a command can already change any mode the server could.
   */
  async one(host: string, st: fs.BigIntStats): Promise<void> {
    const sha256 = st.isFile() ? await this.hashes.lookup(this.home.name, this.home.real, host, st) : undefined;
    await fsp.chmod(host, this.mode);
    this.changed++;
    if (sha256 === undefined) return;
    const now = await fsp.lstat(host, { bigint: true });
    if (now.isFile() && now.ino === st.ino && now.size === st.size && now.mtimeNs === st.mtimeNs) {
      this.hashes.record(this.home.name, this.home.real, host, now, sha256);
    }
  }

  /**
   * A folder and everything below it, each folder's contents before the folder itself: a
   * mode without the owner's x or r bits must not lock the walk out of what remains.
   */
  async tree(dir: string): Promise<void> {
    const names: string[] = [];
    const folder = await fsp.opendir(dir);
    for await (const dirent of folder) names.push(dirent.name);
    names.sort();
    for (const name of names) {
      if (this.signal?.aborted) throw new FerryError('ECANCELED', 'The chmod was cancelled: the entries changed so far keep their new mode.');
      if (++this.visited > this.maxEntries) {
        throw new FerryError('ETOOBIG', `More than ${this.maxEntries.toLocaleString('en')} entries: the chmod stopped (the entries changed so far keep their new mode).`, {
          maxEntries: this.maxEntries,
        });
      }
      const host = path.join(dir, name);
      let st: fs.BigIntStats;
      try {
        st = await fsp.lstat(host, { bigint: true });
      } catch (err) {
        // Gone meanwhile (a command, a delete): nothing to change.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) await this.tree(host);
      else await this.one(host, st);
    }
    await this.one(dir, await fsp.lstat(dir, { bigint: true }));
  }
}
