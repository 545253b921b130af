/**
 * Changes to the folder tree of a home (mkdir, rename, delete), made on jail-checked real
 * paths, with the account's usage (bytes and entries) kept up to date as entries come and
 * go; a new folder must fit the entry quota.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError } from '../shared/common/errors.js';
import { lstatOrNull } from '../shared/node/fs-calls.js';
import type { Digest } from '../shared/common/checks.js';
import type { Account } from './storage.js';
import type { UploadAdmission } from './storage-admission.js';
import { newEntryMode } from './storage-chmod.js';
import { guard, isInside, sysCode, type HomeJail } from './storage-jail.js';
import { walkUsage } from './storage-usage.js';
import type { StoredHashes } from './stored-hashes.js';

export class TreeChanges {
  constructor(
    private readonly jail: HomeJail,
    private readonly admission: UploadAdmission,
    private readonly hashes: StoredHashes,
    private readonly log: ((line: string) => void) | undefined,
    private readonly umask: number,
  ) {}

  mkdir(account: Account, cwd: string, target: string, parents: boolean, mode?: number): Promise<string> {
    const bits = newEntryMode(mode, 'dir', this.umask);
    const { jail } = this;
    return guard(async () => {
      const home = await jail.home(account);
      const vpath = jail.normalize(cwd, target);
      if (vpath === '/') {
        if (parents) return vpath;
        throw new FerryError('EEXIST');
      }
      // Every folder made is an entry: each is checked against the entry quota first.
      const make = (host: string): Promise<void> =>
        this.admission.addEntry(account, home, async () => {
          await fsp.mkdir(host);
          // Exactly these bits, whatever the process's umask.
          await fsp.chmod(host, bits);
          return true;
        });
      if (!parents) {
        const { host } = await jail.entryOf(home, vpath);
        await make(host);
        return vpath;
      }
      // One level at a time from the home, on real paths: a link met on the way is
      // resolved and jail-checked before anything is created under it.
      let current = home.real;
      const segments = vpath.slice(1).split('/');
      for (let i = 0; i < segments.length; i++) {
        const last = i === segments.length - 1;
        const next = path.join(current, segments[i]!);
        let st = await lstatOrNull(next);
        if (!st) {
          try {
            await make(next);
            current = next;
            continue;
          } catch (err) {
            if (sysCode(err) !== 'EEXIST') throw err;
            st = await fsp.lstat(next);
          }
        }
        if (st.isSymbolicLink()) {
          const real = await jail.realInside(home, next);
          st = await fsp.stat(real);
          current = real;
        } else {
          current = next;
        }
        if (!st.isDirectory()) throw new FerryError(last ? 'EEXIST' : 'ENOTDIR');
      }
      return vpath;
    });
  }

  rename(account: Account, cwd: string, from: string, to: string, overwrite: boolean): Promise<string> {
    const { jail } = this;
    return guard(async () => {
      const home = await jail.home(account);
      const src = jail.normalize(cwd, from);
      const dst = jail.normalize(cwd, to);
      if (src === '/' || dst === '/') throw new FerryError('EACCES', 'Access denied: your home cannot be renamed.');
      jail.forget();
      const [a, b] = await Promise.all([jail.entryOf(home, src), jail.entryOf(home, dst)]);
      const srcSt = await fsp.lstat(a.host);
      if (a.host === b.host) return dst;
      if (srcSt.isDirectory() && isInside(b.parent, a.host)) {
        throw new FerryError('EINVAL', 'A folder cannot be moved into itself.');
      }
      const dstSt = await lstatOrNull(b.host);
      if (dstSt && !overwrite) throw new FerryError('EEXIST');
      // A file's stored hash moves with it: looked up now, recorded again after the move.
      let carried: { digest: Digest; st: fs.BigIntStats } | undefined;
      if (srcSt.isFile()) {
        const st = fs.lstatSync(a.host, { bigint: true });
        const digest = await this.hashes.lookup(home.name, home.real, a.host, st);
        if (digest) carried = { digest, st };
      }
      const tracker = this.admission.tracker(account, home);
      tracker.startChange();
      let delta = 0;
      let entryDelta = 0;
      try {
        await fsp.rename(a.host, b.host);
        if (dstSt?.isFile()) delta = -dstSt.size;
        // What was at `to` (a file, a link, an empty folder) is gone.
        if (dstSt) entryDelta = -1;
      } finally {
        tracker.endChange(delta, entryDelta);
      }
      if (srcSt.isDirectory()) await this.hashes.movedFolder(home.name, home.real, a.host, b.host);
      else this.hashes.moved(home.name, home.real, a.host, b.host, carried);
      return dst;
    });
  }

  async remove(account: Account, cwd: string, target: string, recursive: boolean): Promise<void> {
    const { jail } = this;
    await guard(async () => {
      const home = await jail.home(account);
      const vpath = jail.normalize(cwd, target);
      if (vpath === '/') throw new FerryError('EACCES', 'Access denied: your home cannot be deleted.');
      jail.forget();
      const { host } = await jail.entryOf(home, vpath);
      const st = await fsp.lstat(host);
      const tracker = this.admission.tracker(account, home);
      tracker.startChange();
      let delta = 0;
      let entryDelta = 0;
      try {
        if (!st.isDirectory()) {
          // A link is removed as a link: its target is never touched.
          await fsp.unlink(host);
          if (st.isFile()) delta = -st.size;
          entryDelta = -1;
          this.hashes.drop(home.name, home.real, host);
        } else if (!recursive) {
          await fsp.rmdir(host);
          entryDelta = -1;
          await this.hashes.removedFolder(home.name, home.real, host);
        } else {
          const usage = await walkUsage(host, this.log);
          try {
            // fs.rm does not follow links inside the tree.
            await fsp.rm(host, { recursive: true });
            delta = -usage.bytes;
            entryDelta = -(usage.entries + 1);
            await this.hashes.removedFolder(home.name, home.real, host);
          } catch (err) {
            // Part of the tree may be gone: only a walk knows how much.
            tracker.invalidate();
            throw err;
          }
        }
      } finally {
        tracker.endChange(delta, entryDelta);
      }
    });
  }
}
