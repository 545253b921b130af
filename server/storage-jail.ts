/**
 * The home jail of the local disk: virtual paths are normalised as strings (no '..' above
 * '/'), then every host path is resolved with realpath and must stay inside realpath(home),
 * so symlinks cannot lead out. Operations then work on the resolved real paths.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { lstatOrNull, realpathNative, statPath } from '../shared/node/fs-calls.js';
import type { Account } from './storage.js';

/** A home as seen by one operation: the account name and the home's real (symlink-free) host path. */
export interface Home {
  readonly name: string;
  readonly real: string;
}

// Not every platform has O_NOFOLLOW (Windows); there the realpath checks have to do.
export const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/**
 * How long the resolution of a home or a folder (realpath, jail check, "is a folder") is
 * shared by the requests that need it: a burst of small files into one folder resolves it
 * once per window instead of once per file. Short on purpose (a commit's fsync takes
 * longer), and cleared by every rename, delete and command of the server's own.
 */
const RESOLVE_WINDOW_MS = 5;

/**
 * Results of lookups shared for a short window: one still running is always shared; a
 * finished one for `windowMs` after it settled. Failures are never kept.
 */
class SharedLookups<T> {
  private readonly entries = new Map<string, { done: number; value: Promise<T> }>();

  constructor(private readonly windowMs: number) {}

  get(key: string, lookup: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && (hit.done === 0 || performance.now() - hit.done < this.windowMs)) return hit.value;
    if (this.entries.size >= 4096) this.prune();
    const entry = { done: 0, value: lookup() };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.done = performance.now();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(): void {
    const now = performance.now();
    for (const [key, entry] of this.entries) if (entry.done !== 0 && now - entry.done >= this.windowMs) this.entries.delete(key);
  }
}

const outside = (): FerryError => new FerryError('EACCES', 'Access denied: the path leads outside your home.');

export function sysCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export function isMissing(err: unknown): boolean {
  const code = sysCode(err) ?? (err instanceof FerryError ? err.code : undefined);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function isInside(real: string, home: string): boolean {
  return real === home || real.startsWith(home.endsWith(path.sep) ? home : home + path.sep);
}

/** Run an operation and turn whatever it throws into a FerryError without host paths. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFerryError(err);
  }
}

function checkAccountName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new FerryError('EINVAL', 'Invalid account name.');
  }
}

export function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new FerryError('EINVAL', `Invalid ${what}.`);
}

export function vjoin(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function vparent(vpath: string): string {
  const i = vpath.lastIndexOf('/');
  return i <= 0 ? '/' : vpath.slice(0, i);
}

export function vbase(vpath: string): string {
  return vpath.slice(vpath.lastIndexOf('/') + 1);
}

/** The homes under ROOT/homes, and the resolution of virtual paths inside them. */
export class HomeJail {
  /** Real paths of homes and folders, shared for a few milliseconds (see RESOLVE_WINDOW_MS). */
  private readonly resolved = new SharedLookups<string>(RESOLVE_WINDOW_MS);

  constructor(private readonly root: string) {}

  normalize(cwd: string, target: string): string {
    if (/[\0\\]/.test(target) || /[\0\\]/.test(cwd)) {
      throw new FerryError('EACCES', 'Access denied: paths may not contain NUL bytes or backslashes.');
    }
    const parts: string[] = [];
    const apply = (text: string): void => {
      for (const segment of text.split('/')) {
        if (segment === '' || segment === '.') continue;
        if (segment === '..') {
          if (parts.length === 0) throw outside();
          parts.pop();
        } else {
          // Never decoded: '%2e%2e' is a file name like any other.
          parts.push(segment);
        }
      }
    };
    if (!target.startsWith('/')) apply(cwd);
    apply(target);
    return `/${parts.join('/')}`;
  }

  async ensureHome(account: Account): Promise<void> {
    await guard(async () => {
      const homes = path.join(this.root, 'homes');
      await fsp.mkdir(homes, { recursive: true, mode: 0o755 });
      try {
        await fsp.mkdir(this.homeHost(account), { mode: 0o700 });
      } catch (err) {
        if (sysCode(err) !== 'EEXIST') throw err;
      }
    });
  }

  /** The host path of the account's home, before any link is resolved (the name checked). */
  homeHost(account: Account): string {
    checkAccountName(account.name);
    return path.join(this.root, 'homes', account.name);
  }

  async home(account: Account): Promise<Home> {
    const host = this.homeHost(account);
    const name = account.name;
    const real = await this.resolved.get(`home\0${name}`, () => realpathNative(host));
    return { name, real };
  }

  /**
   * The real folder behind the virtual folder `vdir`: inside the home (realInside), and a
   * folder (ENOTDIR). Shared by the requests of a short window (a burst of small files).
   */
  folder(home: Home, vdir: string): Promise<string> {
    const host = this.hostOf(home, vdir);
    return this.resolved.get(`dir\0${host}`, async () => {
      const real = await this.realInside(home, host);
      if (!(await statPath(real)).isDirectory()) throw new FerryError('ENOTDIR');
      return real;
    });
  }

  /** The host path a virtual path maps to, before any link is resolved. */
  hostOf(home: Home, vpath: string): string {
    return vpath === '/' ? home.real : path.join(home.real, ...vpath.slice(1).split('/'));
  }

  /** The real path of a virtual path, which must be inside the home (see realInside). */
  real(home: Home, vpath: string): Promise<string> {
    return this.realInside(home, this.hostOf(home, vpath));
  }

  /**
   * realpath(host), which must be inside the home. When it does not exist, the deepest
   * existing ancestor must be inside (and a dangling link there must not point out), so
   * that ENOENT never tells a user anything about the world outside their home.
   */
  async realInside(home: Home, host: string): Promise<string> {
    let real: string;
    try {
      real = await fsp.realpath(host);
    } catch (err) {
      if (isMissing(err)) await this.checkMissing(home, host);
      throw err;
    }
    if (!isInside(real, home.real)) throw outside();
    return real;
  }

  /** The real parent folder of a virtual path, and the host path of the entry itself (links not followed). */
  async entryOf(home: Home, vpath: string): Promise<{ parent: string; host: string }> {
    const parent = await this.real(home, vparent(vpath));
    return { parent, host: path.join(parent, vbase(vpath)) };
  }

  /** A real folder (ENOTDIR otherwise) inside the home, for `cd` and a command's working directory. */
  async realFolder(home: Home, vpath: string): Promise<string> {
    const real = await this.real(home, vpath);
    if (!(await fsp.stat(real)).isDirectory()) throw new FerryError('ENOTDIR');
    return real;
  }

  /** Resolve everything afresh from now on (after a rename or delete, or while a command may run). */
  forget(): void {
    this.resolved.clear();
  }

  private async checkMissing(home: Home, host: string): Promise<void> {
    let child = host;
    let current = path.dirname(host);
    while (isInside(current, home.real)) {
      let real: string;
      try {
        real = await fsp.realpath(current);
      } catch (err) {
        if (!isMissing(err) || current === home.real) throw err;
        child = current;
        current = path.dirname(current);
        continue;
      }
      if (!isInside(real, home.real)) throw outside();
      const below = path.join(real, path.basename(child));
      const st = await lstatOrNull(below).catch(() => null);
      if (st?.isSymbolicLink()) {
        const link = await fsp.readlink(below);
        if (!isInside(path.resolve(real, link), home.real)) throw outside();
      }
      return;
    }
  }
}
