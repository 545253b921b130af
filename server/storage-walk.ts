/**
 * A walk through everything below a folder of a home (the `walk` request): compact records
 * a page at a time, depth first, each folder's record before the records inside it. Links
 * are listed and never followed; each folder is read like a listing (storage-listing.ts),
 * stored hashes included. What is held between pages: a few records read ahead, the open
 * folder, and the folders still to read.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { LIST_PAGE_BYTES, WALK_TYPES, type Entry, type WalkRecord } from '../shared/common/messages.js';
import type { Account, TreePages, WalkPage } from './storage.js';
import { LocalFolderPages, readSmallSync } from './storage-listing.js';
import { guard, isInside, isMissing, type Home, type HomeJail } from './storage-jail.js';
import type { StoredHashes } from './stored-hashes.js';

/** Entries taken from a folder at a time (a listing's batch of lstats runs in parallel). */
const READ_AHEAD = 64;
/**
 * The most a record adds to a page's JSON besides its quoted path: brackets, commas and
 * the separator (10), a type (1), a size and an mtime (up to 17 characters each) and a
 * mode (4), rounded up; plus the hash's 64 digits when there is one.
 */
const RECORD_JSON_OVERHEAD = 48;

/** An upper bound of a record's bytes in a page's JSON body (the comma included). */
function recordBytes(record: WalkRecord): number {
  return Buffer.byteLength(JSON.stringify(record[0])) + RECORD_JSON_OVERHEAD + record[5].length;
}

function toRecord(rel: string, entry: Entry): WalkRecord {
  return [rel, WALK_TYPES.indexOf(entry.type), entry.size, entry.mtime, entry.mode, entry.sha256 ?? entry.xxh128 ?? ''];
}

/**
 * The first page of the walk of `target` (at most `limit` records), and the rest when the
 * tree holds more. The folder must be inside the home (EACCES) and a folder (ENOTDIR).
 */
export function walkTree(
  jail: HomeJail,
  hashes: StoredHashes,
  account: Account,
  cwd: string,
  target: string,
  limit: number,
): Promise<WalkPage> {
  return guard(async () => {
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    const real = await jail.realFolder(home, vpath);
    const pages = new LocalTreePages(hashes, home, real);
    try {
      const first = await pages.next(limit);
      return { path: vpath, records: first.records, rest: first.done ? null : pages };
    } catch (err) {
      await pages.close();
      throw err;
    }
  });
}

/** A folder being read: its entries, and its path below the walked folder ('' for the top). */
interface OpenFolder {
  readonly rel: string;
  readonly real: string;
  readonly pages: LocalFolderPages;
}

class LocalTreePages implements TreePages {
  /** Folders still to read, the last found first (depth first: the stack stays shallow). */
  private readonly folders: Array<{ readonly real: string; readonly rel: string }>;
  private current: OpenFolder | null = null;
  /** Records read that did not fit the last page (at most a small folder's, LIST_SYNC_MAX). */
  private waiting: WalkRecord[] = [];
  private closed = false;

  constructor(
    private readonly hashes: StoredHashes,
    private readonly home: Home,
    root: string,
  ) {
    this.folders = [{ real: root, rel: '' }];
  }

  next(limit: number): Promise<{ records: WalkRecord[]; done: boolean }> {
    return guard(async () => {
      const records: WalkRecord[] = [];
      let bytes = 2;
      while (records.length < limit) {
        if (this.waiting.length === 0 && !(await this.readMore())) break;
        const record = this.waiting[0]!;
        const size = recordBytes(record);
        if (records.length > 0 && bytes + size > LIST_PAGE_BYTES) break;
        this.waiting.shift();
        records.push(record);
        bytes += size;
      }
      const done = this.waiting.length === 0 && this.current === null && this.folders.length === 0;
      if (done) await this.close();
      return { records, done };
    });
  }

  /** Read the next entries of the tree into `waiting`; false once it has no more. */
  private async readMore(): Promise<boolean> {
    while (this.waiting.length === 0) {
      if (this.closed) return false;
      if (this.current === null) {
        const folder = this.folders.pop();
        if (folder === undefined) return false;
        const small = this.readSmall(folder.real);
        if (small) this.found(folder.rel, small.real, small.entries);
        else this.current = await this.openFolder(folder.real, folder.rel);
        continue;
      }
      const { rel, real, pages } = this.current;
      const { entries, done } = await pages.next(READ_AHEAD);
      if (done) this.current = null;
      this.found(rel, real, entries);
    }
    return true;
  }

  /** The entries of a folder as records, and its subfolders to read later. */
  private found(rel: string, real: string, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      this.waiting.push(toRecord(child, entry));
      if (entry.type === 'dir') this.folders.push({ real: path.join(real, entry.name), rel: child });
    }
  }

  /**
   * A small folder read at once with blocking calls, as a small listing is (see
   * LIST_SYNC_MAX in storage-listing.ts: each asynchronous step would wait for its own turn
   * of the event loop); a folder now outside the home gives nothing. Null: take the
   * asynchronous way (a bigger folder, or a failure that openFolder() then reports).
   */
  private readSmall(host: string): { real: string; entries: Entry[] } | null {
    let real: string;
    try {
      real = fs.realpathSync.native(host);
    } catch {
      return null;
    }
    if (!isInside(real, this.home.real)) return { real, entries: [] };
    const entries = readSmallSync(this.hashes, this.home.name, this.home.real, real);
    return entries ? { real, entries } : null;
  }

  /**
   * A folder found in the walk, opened to be read, or null when it is gone. Its record said
   * it is a folder and not a link, but it may have been replaced since: it is read only if
   * its real path is still inside the home.
   */
  private async openFolder(host: string, rel: string): Promise<OpenFolder | null> {
    try {
      const real = await fsp.realpath(host);
      if (!isInside(real, this.home.real)) return null;
      const hashes = await this.hashes.folder(this.home.name, this.home.real, real);
      return { rel, real, pages: await LocalFolderPages.open(real, hashes) };
    } catch (err) {
      // Deleted (or replaced by a file) since it was found: a walk, like a listing, may or
      // may not show what changes while it runs.
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    this.folders.length = 0;
    const current = this.current;
    this.current = null;
    await current?.pages.close();
  }
}
