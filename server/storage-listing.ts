/**
 * What is in a home: folder listings and entries, with lstat semantics (a link is shown as
 * a link, never followed out of the home). Small folders are listed in one blocking pass;
 * bigger ones a page at a time from the open folder, so a listing never holds more than one
 * page whatever the folder's size. Files whose stored SHA-256 still holds carry it
 * (stored-hashes.ts): a folder with records is lstat'ed in ns (bigint) to compare.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { digestField } from '../shared/common/checks.js';
import { LIST_PAGE_BYTES, type Entry, type EntryType } from '../shared/common/messages.js';
import { lstatOrNull } from '../shared/node/fs-calls.js';
import type { Account, FolderPages, ListPage } from './storage.js';
import { guard, isInside, isMissing, vbase, type HomeJail } from './storage-jail.js';
import type { FolderHashes, StoredHashes } from './stored-hashes.js';

const LIST_PARALLEL = 64;
/**
 * Folders with at most this many entries are listed with blocking calls, in one go on the
 * event loop (listSmallSync). Each asynchronous step of a listing (realpath, readdir, the
 * lstats) waits for its own turn of the event loop, and while a big transfer keeps the
 * loop busy a turn takes milliseconds: measured, a listing under a 1 GiB TLS upload took
 * 8–25 ms that way, for well under a millisecond of work. The bound keeps the time the
 * loop is blocked small (a few microseconds per cached entry); bigger folders, and any
 * folder that gives an error, take the asynchronous way.
 */
const LIST_SYNC_MAX = 256;

/** How many names one read of an open folder asks the system for. */
const DIR_BUFFER = 256;
/**
 * The most an entry adds to a listing's JSON besides its quoted name: the punctuation, the
 * field names, a type, a size and an mtime of up to 17 characters each, and the mode.
 */
const ENTRY_JSON_OVERHEAD = 128;
/** What a stored hash adds: `,"sha256":"` + 64 hex digits + `"`. */
const SHA256_JSON_BYTES = 76;

/** An upper bound of an entry's bytes in a listing's JSON body (the comma included). */
function entryBytes(entry: Entry): number {
  return Buffer.byteLength(JSON.stringify(entry.name)) + ENTRY_JSON_OVERHEAD + (entry.sha256 || entry.xxh128 ? SHA256_JSON_BYTES : 0);
}

function entryType(st: fs.Stats | fs.BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toEntry(name: string, st: fs.Stats | fs.BigIntStats, hashes?: FolderHashes | null): Entry {
  if (typeof st.size === 'number') {
    const s = st as fs.Stats;
    return { name, type: entryType(s), size: s.size, mtime: Math.round(s.mtimeMs), mode: s.mode & 0o7777 };
  }
  const b = st as fs.BigIntStats;
  // The same milliseconds as the float mtimeMs gives, from the exact nanoseconds.
  const mtime = Math.round(Number(b.mtimeNs / 1_000_000n) + Number(b.mtimeNs % 1_000_000n) / 1e6);
  const entry: Entry = { name, type: entryType(b), size: Number(b.size), mtime, mode: Number(b.mode & 0o7777n) };
  const digest = b.isFile() ? hashes?.hashOf(name, b) : undefined;
  if (digest) return { ...entry, ...digestField(digest) };
  return entry;
}

function byName(a: Entry, b: Entry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function statEntry(jail: HomeJail, hashes: StoredHashes, account: Account, cwd: string, target: string): Promise<Entry> {
  return guard(async () => {
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    const real = await jail.real(home, vpath);
    const st = await fsp.stat(real, { bigint: true });
    const name = vpath === '/' ? '/' : vbase(vpath);
    if (!st.isFile()) return toEntry(name, st);
    // Looked up under the real name: a link to a file shows the file's hash.
    const folder = await hashes.folder(home.name, home.real, path.dirname(real));
    const entry = toEntry(name, st);
    const digest = folder?.hashOf(path.basename(real), st);
    return digest ? { ...entry, ...digestField(digest) } : entry;
  });
}

/**
 * The first page of a folder's listing: at most `limit` entries (and LIST_PAGE_BYTES of
 * JSON), sorted by name, with `rest` to read the following pages when the folder holds
 * more. Only one page is ever held: the rest is read from the open folder on demand.
 */
export function listFolder(
  jail: HomeJail,
  hashes: StoredHashes,
  account: Account,
  cwd: string,
  target: string,
  limit: number,
): Promise<ListPage> {
  return guard(async () => {
    const homeHost = jail.homeHost(account);
    const vpath = jail.normalize(cwd, target);
    const small = listSmallSync(jail, hashes, account.name, homeHost, vpath);
    if (small && small.length <= limit) return { path: vpath, entries: small.sort(byName), rest: null };
    const home = await jail.home(account);
    const real = await jail.real(home, vpath);
    const folderHashes = await hashes.folder(home.name, home.real, real);
    const pages = await LocalFolderPages.open(real, folderHashes);
    try {
      const first = await pages.next(limit);
      return { path: vpath, entries: first.entries, rest: first.done ? null : pages };
    } catch (err) {
      await pages.close();
      throw err;
    }
  });
}

/**
 * The pages after the first of a local folder: names come from the open folder in the
 * disk's order, a batch at a time, and are lstat'ed as they come. What was read but did
 * not fit a page waits for the next one (at most LIST_PARALLEL entries). A walk
 * (storage-walk.ts) reads each folder of a tree with one.
 */
export class LocalFolderPages implements FolderPages {
  private waiting: Entry[] = [];
  private exhausted = false;
  private closed = false;

  constructor(
    private readonly real: string,
    private readonly dir: fs.Dir,
    private readonly hashes: FolderHashes | null,
  ) {}

  /** The entries of the real folder `real`, with its stored hashes where it has records. */
  static async open(real: string, hashes: FolderHashes | null): Promise<LocalFolderPages> {
    return new LocalFolderPages(real, await fsp.opendir(real, { bufferSize: DIR_BUFFER }), hashes);
  }

  next(limit: number): Promise<{ entries: Entry[]; done: boolean }> {
    return guard(async () => {
      const entries: Entry[] = [];
      let bytes = 2;
      for (;;) {
        if (this.waiting.length === 0 && !(await this.readBatch())) break;
        const entry = this.waiting[0]!;
        const size = entryBytes(entry);
        if (entries.length === limit || (entries.length > 0 && bytes + size > LIST_PAGE_BYTES)) break;
        this.waiting.shift();
        entries.push(entry);
        bytes += size;
      }
      const done = this.waiting.length === 0 && this.exhausted;
      if (done) await this.close();
      entries.sort(byName);
      return { entries, done };
    });
  }

  /** Read and lstat the next names into `waiting`; false once the folder has no more. */
  private async readBatch(): Promise<boolean> {
    while (this.waiting.length === 0) {
      if (this.exhausted || this.closed) return false;
      const names: string[] = [];
      while (names.length < LIST_PARALLEL) {
        const d = await this.dir.read();
        if (d === null) {
          this.exhausted = true;
          break;
        }
        names.push(d.name);
      }
      const batch = await Promise.all(
        names.map(async (name) => {
          // lstat: a link is shown as a link and never followed out of the home.
          const file = path.join(this.real, name);
          if (this.hashes) {
            const st = await fsp.lstat(file, { bigint: true }).catch((err: unknown) => {
              if (isMissing(err)) return null;
              throw err;
            });
            return st ? toEntry(name, st, this.hashes) : null;
          }
          const st = await lstatOrNull(file);
          return st ? toEntry(name, st) : null;
        }),
      );
      for (const entry of batch) if (entry) this.waiting.push(entry);
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    await this.dir.close().catch(() => undefined);
  }
}

/**
 * A small folder's listing with blocking calls (see LIST_SYNC_MAX), under the same jail
 * as listFolder(): the folder's real path must be inside the real home, and entries are
 * lstat'ed (a link is shown as a link). Null means "take the asynchronous way": the
 * folder is bigger, or something failed there (which listFolder() then reports properly).
 */
function listSmallSync(jail: HomeJail, hashes: StoredHashes, user: string, homeHost: string, vpath: string): Entry[] | null {
  try {
    const homeReal = fs.realpathSync.native(homeHost);
    const real = fs.realpathSync.native(jail.hostOf({ name: '', real: homeReal }, vpath));
    if (!isInside(real, homeReal)) return null;
    return readSmallSync(hashes, user, homeReal, real);
  } catch {
    return null;
  }
}

/**
 * The entries of the real folder `real` (checked by the caller) with blocking calls, or
 * null for "take the asynchronous way" (more than LIST_SYNC_MAX entries, or a failure).
 * Unsorted.
 */
export function readSmallSync(hashes: StoredHashes, user: string, homeReal: string, real: string): Entry[] | null {
  let dir: fs.Dir | undefined;
  try {
    dir = fs.opendirSync(real, { bufferSize: 64 });
    // The names first: a bigger folder is given up before any lstat.
    const names: string[] = [];
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      if (names.length === LIST_SYNC_MAX) return null;
      names.push(d.name);
    }
    const folderHashes = hashes.folderSync(user, homeReal, real);
    const bigint = folderHashes !== null;
    const entries: Entry[] = [];
    for (const entry of names) {
      let st: fs.Stats | fs.BigIntStats;
      try {
        st = fs.lstatSync(path.join(real, entry), { bigint });
      } catch (err) {
        if (isMissing(err)) continue; // deleted since the folder was read
        return null;
      }
      entries.push(toEntry(entry, st, folderHashes));
    }
    return entries;
  } catch {
    return null;
  } finally {
    dir?.closeSync();
  }
}
