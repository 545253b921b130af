/**
 * The SHA-256 of each file as ferryd committed it (or hashed it for a `hash` request), kept
 * outside the homes and given out only while the file is provably unchanged since: each
 * record holds the file's identity as stored (inode, size, mtime and ctime in ns) and a
 * hash is returned only when a stat of the file now matches it exactly.
 *
 * Layout: ROOT/state/hashes/<user>/records is the home's own folder, and the folder a/b of
 * the home (its real path, links resolved) has ROOT/state/hashes/<user>/_a/_b/records:
 * the tree of the home mirrored, each name prefixed with '_' so that no folder can be
 * called "records". A listing reads one record file. Commits change records in memory and
 * a flush writes each changed folder's file once per burst (debounced), atomically (a
 * private file renamed over the old one) and with a SHA-256 of its body in its first line:
 * a torn or damaged file reads as "no hashes", never as wrong ones.
 *
 * Bounds: a record file is read only up to RECORD_FILE_MAX (stored-hashes-file.ts: the format); it holds at most twice the
 * files that matched at its last pruning (plus PRUNE_MIN), because a flush that finds it
 * past that drops every record whose file no longer matches; folders renamed or deleted
 * through the protocol take their records along or drop them; and at start, the records
 * of folders that no longer exist (deleted by a command) are swept.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CHECK_HEX, type Digest } from '../shared/common/checks.js';
import { isInside } from './storage-jail.js';
import { RECORD_FILE_MAX, parse, readSync, serialize, type FileIdentity, type Rec, type Stored } from './stored-hashes-file.js';

export type { FileIdentity };



/** The records of one folder as a listing sees them: the digest of `name` if `st` still matches. */
export interface FolderHashes {
  hashOf(name: string, st: fs.BigIntStats): Digest | undefined;
}

const RECORD_FILE = 'records';
/** Records a folder may hold before a flush checks which still match (and drops the rest). */
const PRUNE_MIN = 1024;
/** Changes wait this long for more to join their folder's write, and never longer than FLUSH_MAX_MS. */
const FLUSH_DELAY_MS = 200;
const FLUSH_MAX_MS = 1000;
/** Folders' records kept parsed in memory (by records, least recently used first out). */
const CACHE_RECORDS = 200_000;
const NAME_MAX = 255;

export function identityOf(st: fs.BigIntStats): FileIdentity {
  return { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function matches(rec: Rec, st: fs.BigIntStats): boolean {
  return st.isFile() && rec.ino === st.ino && rec.size === st.size && rec.mtimeNs === st.mtimeNs && rec.ctimeNs === st.ctimeNs;
}

interface Pending {
  /** The real folder the records describe (to prune them). */
  readonly dir: string;
  /** A record set, or null for one dropped. */
  readonly changes: Map<string, Rec | null>;
}

export class StoredHashes {
  private readonly base: string;
  /** Record files as read or written last, by path (a Map keeps the LRU order). */
  private readonly cache = new Map<string, Stored>();
  private cached = 0;
  /** Changes not yet written, and those being written, by record file. */
  private pending = new Map<string, Pending>();
  private writing = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private firstPendingAt = 0;
  private flushing: Promise<void> | null = null;
  /** Record files written (diagnostics, and the benchmark of a folder upload). */
  writes = 0;

  constructor(
    root: string,
    private readonly log?: (line: string) => void,
  ) {
    this.base = path.join(root, 'state', 'hashes');
  }

  /** The mirror folder of a real folder of a home (null: outside it, or a name too long to mirror). */
  private mirror(user: string, homeReal: string, realDir: string): string | null {
    if (!isInside(realDir, homeReal)) return null;
    const rel = path.relative(homeReal, realDir);
    const names = rel === '' ? [] : rel.split(path.sep);
    if (names.some((n) => Buffer.byteLength(n) + 1 > NAME_MAX)) return null;
    return path.join(this.base, user, ...names.map((n) => `_${n}`));
  }

  private recordFile(user: string, homeReal: string, realDir: string): string | null {
    const dir = this.mirror(user, homeReal, realDir);
    return dir === null ? null : path.join(dir, RECORD_FILE);
  }

  // ---- reading ----------------------------------------------------------------------------

  /** The records of a folder for a listing, read without waiting (small folders); null if it has none. */
  folderSync(user: string, homeReal: string, realDir: string): FolderHashes | null {
    const file = this.recordFile(user, homeReal, realDir);
    if (file === null) return null;
    const stored = this.cachedOrNull(file) ?? this.remember(file, parse(readSync(file), file, this.log));
    return this.view(file, stored);
  }

  /** The records of a folder for a listing; null if it has none. */
  async folder(user: string, homeReal: string, realDir: string): Promise<FolderHashes | null> {
    const file = this.recordFile(user, homeReal, realDir);
    if (file === null) return null;
    return this.view(file, await this.stored(file));
  }

  /** The stored digest of the file at real path `host`, if `st` (its stat now) still matches. */
  async lookup(user: string, homeReal: string, host: string, st: fs.BigIntStats): Promise<Digest | undefined> {
    const hashes = await this.folder(user, homeReal, path.dirname(host));
    return hashes?.hashOf(path.basename(host), st);
  }

  private view(file: string, stored: Stored): FolderHashes | null {
    const pending = this.pending.get(file)?.changes;
    const writing = this.writing.get(file)?.changes;
    if (stored.records.size === 0 && !pending?.size && !writing?.size) return null;
    return {
      hashOf: (name, st) => {
        let rec: Rec | null | undefined = pending?.get(name);
        if (rec === undefined) rec = writing?.get(name);
        if (rec === undefined) rec = stored.records.get(name);
        return rec && matches(rec, st) ? rec.digest : undefined;
      },
    };
  }

  private cachedOrNull(file: string): Stored | null {
    const hit = this.cache.get(file);
    if (!hit) return null;
    this.cache.delete(file);
    this.cache.set(file, hit);
    return hit;
  }

  private async stored(file: string): Promise<Stored> {
    const hit = this.cachedOrNull(file);
    if (hit) return hit;
    let text: string | null = null;
    try {
      const handle = await fsp.open(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
      try {
        const { size } = await handle.stat();
        text = size <= RECORD_FILE_MAX ? await handle.readFile('utf8') : null;
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.(`hashes: cannot read ${file}: ${String(err)}`);
    }
    // Read meanwhile by someone else: theirs is as good, and keeps one copy.
    return this.cachedOrNull(file) ?? this.remember(file, parse(text, file, this.log));
  }

  private remember(file: string, stored: Stored): Stored {
    const old = this.cache.get(file);
    if (old) this.cached -= old.records.size;
    this.cache.delete(file);
    this.cache.set(file, stored);
    this.cached += stored.records.size;
    for (const [key, value] of this.cache) {
      if (this.cached <= CACHE_RECORDS || key === file) break;
      this.cache.delete(key);
      this.cached -= value.records.size;
    }
    return stored;
  }

  private forgetUnder(mirrorDir: string): void {
    for (const [key, value] of [...this.cache]) {
      if (isInside(key, mirrorDir)) {
        this.cache.delete(key);
        this.cached -= value.records.size;
      }
    }
  }

  // ---- changing ---------------------------------------------------------------------------

  /** A file at real path `host` has this digest while it stays as `st` says (taken after it was put in place). */
  record(user: string, homeReal: string, host: string, st: fs.BigIntStats, digest: Digest): void {
    if (!st.isFile() || !CHECK_HEX[digest.algorithm].test(digest.hex)) return;
    this.change(user, homeReal, host, { ...identityOf(st), digest: { algorithm: digest.algorithm, hex: digest.hex } });
  }

  /** The file at real path `host` is gone or replaced (by a delete or a rename through the protocol). */
  drop(user: string, homeReal: string, host: string): void {
    this.change(user, homeReal, host, null);
  }

  private change(user: string, homeReal: string, host: string, rec: Rec | null): void {
    const dir = path.dirname(host);
    const file = this.recordFile(user, homeReal, dir);
    if (file === null) return;
    let pending = this.pending.get(file);
    if (!pending) {
      pending = { dir, changes: new Map() };
      this.pending.set(file, pending);
    }
    pending.changes.set(path.basename(host), rec);
    this.schedule();
  }

  /**
   * A file renamed through the protocol keeps its hash: what `before` (the lookup made
   * before the rename) says is recorded again for the new name if the file is the same
   * one (inode, size, mtime; its ctime changed with the rename).
   */
  moved(user: string, homeReal: string, from: string, to: string, before: { digest: Digest; st: fs.BigIntStats } | undefined): void {
    this.drop(user, homeReal, from);
    this.drop(user, homeReal, to);
    if (!before) return;
    let now: fs.BigIntStats;
    try {
      now = fs.lstatSync(to, { bigint: true });
    } catch {
      return;
    }
    const was = before.st;
    if (now.isFile() && now.ino === was.ino && now.size === was.size && now.mtimeNs === was.mtimeNs) {
      this.record(user, homeReal, to, now, before.digest);
    }
  }

  /** A folder renamed through the protocol: its records (and those below it) move with it. */
  async movedFolder(user: string, homeReal: string, from: string, to: string): Promise<void> {
    await this.flush();
    const a = this.mirror(user, homeReal, from);
    const b = this.mirror(user, homeReal, to);
    if (a) this.forgetUnder(a);
    if (b) this.forgetUnder(b);
    try {
      if (b) await fsp.rm(b, { recursive: true, force: true });
      const had = a !== null && (await fsp.lstat(a).then(() => true, () => false));
      if (had && b) {
        await fsp.mkdir(path.dirname(b), { recursive: true, mode: 0o700 });
        await fsp.rename(a, b);
      } else if (had) {
        await fsp.rm(a, { recursive: true, force: true });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.(`hashes: cannot move the records of a folder: ${String(err)}`);
    }
  }

  /** A folder deleted through the protocol: its records and those below it go. */
  async removedFolder(user: string, homeReal: string, dir: string): Promise<void> {
    await this.flush();
    const mirror = this.mirror(user, homeReal, dir);
    if (!mirror) return;
    this.forgetUnder(mirror);
    await fsp.rm(mirror, { recursive: true, force: true }).catch((err: unknown) => this.log?.(`hashes: cannot delete records: ${String(err)}`));
  }

  // ---- writing ----------------------------------------------------------------------------

  private schedule(): void {
    const now = Date.now();
    if (this.timer === null) this.firstPendingAt = now;
    else if (now - this.firstPendingAt >= FLUSH_MAX_MS) return; // the timer set is due soon enough
    else clearTimeout(this.timer);
    const delay = Math.min(FLUSH_DELAY_MS, Math.max(0, this.firstPendingAt + FLUSH_MAX_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.round();
    }, delay);
    this.timer.unref();
  }

  /** One timed write of what is pending; changes made meanwhile wait for their own timer. */
  private async round(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.pending.size > 0 && !this.flushing) this.flushing = this.writeAll().finally(() => (this.flushing = null));
    await this.flushing;
    if (this.pending.size > 0) this.schedule();
  }

  /** Write every change made so far (and wait for the writes already running). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.flushing || this.pending.size > 0) {
      if (this.flushing) {
        await this.flushing;
        continue;
      }
      this.flushing = this.writeAll().finally(() => (this.flushing = null));
    }
  }

  private async writeAll(): Promise<void> {
    this.writing = this.pending;
    this.pending = new Map();
    for (const [file, pending] of this.writing) {
      try {
        await this.writeFolder(file, pending);
      } catch (err) {
        this.log?.(`hashes: cannot write ${file}: ${String(err)}`);
        // What is on disk is unknown now: read it again next time.
        const old = this.cache.get(file);
        if (old) {
          this.cache.delete(file);
          this.cached -= old.records.size;
        }
      }
    }
    this.writing = new Map();
  }

  private async writeFolder(file: string, pending: Pending): Promise<void> {
    const stored = await this.stored(file);
    const records = new Map(stored.records);
    for (const [name, rec] of pending.changes) {
      if (rec) records.set(name, rec);
      else records.delete(name);
    }
    let live = stored.live;
    if (records.size > PRUNE_MIN && records.size > 2 * live) {
      await prune(records, pending.dir);
      live = records.size;
    }
    const next: Stored = { records, live };
    if (records.size === 0) {
      await fsp.unlink(file).catch(() => undefined);
    } else {
      const dir = path.dirname(file);
      const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
      const text = serialize(next);
      try {
        await fsp.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
        await fsp.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
      }
      try {
        await fsp.rename(tmp, file);
      } catch (err) {
        await fsp.unlink(tmp).catch(() => undefined);
        throw err;
      }
      this.writes++;
    }
    this.remember(file, next);
  }

  /**
   * At start: delete the records of folders that are gone (a command deleted or moved
   * them). Runs in the background; a folder recreated meanwhile only loses its records.
   */
  async sweep(homesRoot: string): Promise<void> {
    let users: string[];
    try {
      users = await fsp.readdir(this.base);
    } catch {
      return;
    }
    for (const user of users) {
      let home: string;
      try {
        home = await fsp.realpath(path.join(homesRoot, user));
      } catch {
        await fsp.rm(path.join(this.base, user), { recursive: true, force: true }).catch(() => undefined);
        continue;
      }
      await this.sweepFolder(path.join(this.base, user), home).catch((err: unknown) => this.log?.(`hashes: sweep: ${String(err)}`));
    }
  }

  private async sweepFolder(mirror: string, real: string): Promise<void> {
    for (const entry of await fsp.readdir(mirror, { withFileTypes: true })) {
      if (!entry.isDirectory() || !entry.name.startsWith('_')) continue;
      const sub = path.join(real, entry.name.slice(1));
      const st = await fsp.lstat(sub).catch(() => null);
      if (st?.isDirectory()) await this.sweepFolder(path.join(mirror, entry.name), sub);
      else await fsp.rm(path.join(mirror, entry.name), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

/** Drop the records whose file is no longer the one recorded (checked with one lstat each). */
async function prune(records: Map<string, Rec>, dir: string): Promise<void> {
  const names = [...records.keys()];
  for (let i = 0; i < names.length; i += 64) {
    await Promise.all(
      names.slice(i, i + 64).map(async (name) => {
        const st = await fsp.lstat(path.join(dir, name), { bigint: true }).catch(() => null);
        if (!st || !matches(records.get(name)!, st)) records.delete(name);
      }),
    );
  }
}
