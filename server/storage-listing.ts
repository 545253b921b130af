/**
 * What is in a home: folder listings and entries, with lstat semantics (a link is shown as
 * a link, never followed out of the home). Small folders are listed in one blocking pass.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Entry, EntryType } from '../shared/common/messages.js';
import { lstatOrNull } from '../shared/node/fs-calls.js';
import type { Account } from './storage.js';
import { guard, isInside, isMissing, vbase, type HomeJail } from './storage-jail.js';

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

export interface Listing {
  path: string;
  entries: Entry[];
}

function entryType(st: fs.Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toEntry(name: string, st: fs.Stats): Entry {
  return { name, type: entryType(st), size: st.size, mtime: Math.round(st.mtimeMs), mode: st.mode & 0o7777 };
}

function byName(a: Entry, b: Entry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function statEntry(jail: HomeJail, account: Account, cwd: string, target: string): Promise<Entry> {
  return guard(async () => {
    const home = await jail.home(account);
    const vpath = jail.normalize(cwd, target);
    const real = await jail.real(home, vpath);
    return toEntry(vpath === '/' ? '/' : vbase(vpath), await fsp.stat(real));
  });
}

export function listFolder(jail: HomeJail, account: Account, cwd: string, target: string): Promise<Listing> {
  return guard(async () => {
    const homeHost = jail.homeHost(account);
    const vpath = jail.normalize(cwd, target);
    const small = listSmallSync(jail, homeHost, vpath);
    if (small) return small;
    const home = await jail.home(account);
    const real = await jail.real(home, vpath);
    const names = await fsp.readdir(real);
    const entries: Entry[] = [];
    for (let i = 0; i < names.length; i += LIST_PARALLEL) {
      const batch = await Promise.all(
        names.slice(i, i + LIST_PARALLEL).map(async (name) => {
          // lstat: a link is shown as a link and never followed out of the home.
          const st = await lstatOrNull(path.join(real, name));
          return st ? toEntry(name, st) : null;
        }),
      );
      for (const entry of batch) if (entry) entries.push(entry);
    }
    entries.sort(byName);
    return { path: vpath, entries };
  });
}

/**
 * A small folder's listing with blocking calls (see LIST_SYNC_MAX), under the same jail
 * as listFolder(): the folder's real path must be inside the real home, and entries are
 * lstat'ed (a link is shown as a link). Null means "take the asynchronous way": the
 * folder is bigger, or something failed there (which listFolder() then reports properly).
 */
function listSmallSync(jail: HomeJail, homeHost: string, vpath: string): Listing | null {
  let dir: fs.Dir | undefined;
  try {
    const homeReal = fs.realpathSync.native(homeHost);
    const real = fs.realpathSync.native(jail.hostOf({ name: '', real: homeReal }, vpath));
    if (!isInside(real, homeReal)) return null;
    dir = fs.opendirSync(real, { bufferSize: 64 });
    // The names first: a bigger folder is given up before any lstat.
    const names: string[] = [];
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      if (names.length === LIST_SYNC_MAX) return null;
      names.push(d.name);
    }
    const entries: Entry[] = [];
    for (const entry of names) {
      let st: fs.Stats;
      try {
        st = fs.lstatSync(path.join(real, entry));
      } catch (err) {
        if (isMissing(err)) continue; // deleted since the folder was read
        return null;
      }
      entries.push(toEntry(entry, st));
    }
    entries.sort(byName);
    return { path: vpath, entries };
  } catch {
    return null;
  } finally {
    dir?.closeSync();
  }
}
