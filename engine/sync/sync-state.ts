/**
 * What a sync remembers about one pair of folders (a local folder and a remote one on one
 * account), in one private file per pair under the config folder:
 * - the base: each path as both sides held it after the last sync, so that "both" can
 *   tell which side changed since (and a change on both sides becomes a conflict);
 * - local hashes: each local file's SHA-256 and/or XXH3-128 (whichever the remote's digests
 *   needed) with the identity it had when hashed (inode, size, mtime and ctime; any write
 *   moves ctime), so unchanged files are not read again.
 * A lost or unreadable file only costs hashing again and a first-sync plan, never a wrong answer.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SHA256_HEX, XXH128_HEX, type CheckAlgorithm } from '../../shared/common/checks.js';
import type { SyncFacts } from '../../shared/common/sync-model.js';
import { writeFileAtomic } from '../../shared/node/atomic-file.js';
import type { LocalIdentity } from './sync-scan.js';

/*
 * The file, version 4: compact tuples, read for 10,000s of files on every sync, so
 * checked by hand (a schema library costs more than the parse):
 *   { version, localRoot, remote,
 *     base:   { REL: [type, size, mtime, sha256 or '', xxh128 or ''] },  type 0 file, 1 dir, 2 other
 *     hashes: { REL: [ino, size, mtimeMs, ctimeMs, sha256 or '', xxh128 or ''] } }
 * Version 3 (SHA-256 only: the tuples without their last field) is read too.
 * One bad record makes the whole file unread (a first sync), never a half-trusted state.
 */
const VERSION = 4;
const READS = new Set([3, 4]);
const TYPES = ['file', 'dir', 'other'] as const;
type BaseRecord = [number, number, number, string, string];
type HashRecord = [number, number, number, number, string, string];
/** A local file's digests as hashed with one identity (at least one of them). */
type LocalHashes = LocalIdentity & { sha256?: string; xxh128?: string };

class Unreadable extends Error {}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Unreadable();
  return v;
}

/** A digest field: its hex, or '' for none (undefined). */
function hex(v: unknown, pattern: RegExp): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !pattern.test(v)) throw new Unreadable();
  return v;
}

/** A record of version 3 (`length`) or 4 (one field more). */
function record(v: unknown, length: number): unknown[] {
  if (!Array.isArray(v) || (v.length !== length && v.length !== length + 1)) throw new Unreadable();
  return v;
}

function digests(sha256: string | undefined, xxh128: string | undefined): { sha256?: string; xxh128?: string } {
  return { ...(sha256 ? { sha256 } : {}), ...(xxh128 ? { xxh128 } : {}) };
}

function readBase(raw: unknown): Map<string, SyncFacts> {
  const out = new Map<string, SyncFacts>();
  if (typeof raw !== 'object' || raw === null) throw new Unreadable();
  for (const [rel, value] of Object.entries(raw)) {
    const [type, size, mtime, sha256, xxh128] = record(value, 4);
    const kind = TYPES[num(type)];
    if (kind === undefined) throw new Unreadable();
    out.set(rel, { type: kind, size: num(size), mtime: num(mtime), ...digests(hex(sha256, SHA256_HEX), hex(xxh128, XXH128_HEX)) });
  }
  return out;
}

function readHashes(raw: unknown): Map<string, LocalHashes> {
  const out = new Map<string, LocalHashes>();
  if (typeof raw !== 'object' || raw === null) throw new Unreadable();
  for (const [rel, value] of Object.entries(raw)) {
    const [ino, size, mtimeMs, ctimeMs, sha256, xxh128] = record(value, 5);
    const known = digests(hex(sha256, SHA256_HEX), hex(xxh128, XXH128_HEX));
    if (!known.sha256 && !known.xxh128) throw new Unreadable();
    out.set(rel, { ino: num(ino), size: num(size), mtimeMs: num(mtimeMs), ctimeMs: num(ctimeMs), ...known });
  }
  return out;
}

/** Which pair a state belongs to: the local folder, and the remote folder on one account of one server. */
export interface SyncPair {
  readonly localRoot: string;
  /** e.g. 'sftp://alice@example.org:22/home/alice/site' */
  readonly remote: string;
}

export class SyncState {
  /** Something changed since the file was read or written. */
  private dirty = false;

  private constructor(
    readonly file: string,
    readonly pair: SyncPair,
    private readonly baseMap: Map<string, SyncFacts>,
    private readonly hashes: Map<string, LocalHashes>,
  ) {}

  /** Each path as both sides held it after the last sync. */
  get base(): ReadonlyMap<string, SyncFacts> {
    return this.baseMap;
  }

  /** Both sides now hold `facts` at `rel`. */
  setBase(rel: string, facts: SyncFacts): void {
    const old = this.baseMap.get(rel);
    if (old && old.type === facts.type && old.size === facts.size && old.mtime === facts.mtime && old.sha256 === facts.sha256 && old.xxh128 === facts.xxh128) return;
    this.baseMap.set(rel, { type: facts.type, size: facts.size, mtime: facts.mtime, ...digests(facts.sha256, facts.xxh128) });
    this.dirty = true;
  }

  /** `rel` and everything under it is gone from both sides. */
  dropBase(rel: string): void {
    for (const p of [...this.baseMap.keys()]) {
      if (p === rel || p.startsWith(`${rel}/`)) {
        this.baseMap.delete(p);
        this.dirty = true;
      }
    }
  }

  /** The pair's state from `dir`, or an empty one (first sync, or an unreadable file). */
  static async load(dir: string, pair: SyncPair): Promise<SyncState> {
    const key = createHash('sha256').update(`${pair.remote}\n${path.resolve(pair.localRoot)}`).digest('hex').slice(0, 32);
    const file = path.join(dir, 'sync', `${key}.json`);
    const text = await readFile(file, 'utf8').catch(() => null);
    const resolved = path.resolve(pair.localRoot);
    try {
      const data = JSON.parse(text ?? 'null') as { version?: unknown; localRoot?: unknown; remote?: unknown; base?: unknown; hashes?: unknown } | null;
      if (typeof data?.version === 'number' && READS.has(data.version) && data.remote === pair.remote && data.localRoot === resolved) {
        return new SyncState(file, pair, readBase(data.base), readHashes(data.hashes));
      }
    } catch {
      // Unreadable or damaged: start over (a first-sync plan, every file hashed again).
    }
    return new SyncState(file, pair, new Map(), new Map());
  }

  /** The stored `algorithm` digest of a local file, if it was hashed with exactly this identity. */
  localHash(rel: string, id: LocalIdentity, algorithm: CheckAlgorithm): string | undefined {
    const h = this.hashes.get(rel);
    return h && h.ino === id.ino && h.size === id.size && h.mtimeMs === id.mtimeMs && h.ctimeMs === id.ctimeMs ? h[algorithm] : undefined;
  }

  /** Keep a local file's digest (with its other one, if that was taken with the same identity). */
  rememberHash(rel: string, id: LocalIdentity, algorithm: CheckAlgorithm, digest: string): void {
    const h = this.hashes.get(rel);
    const same = h && h.ino === id.ino && h.size === id.size && h.mtimeMs === id.mtimeMs && h.ctimeMs === id.ctimeMs;
    this.hashes.set(rel, { ...id, ...(same ? digests(h.sha256, h.xxh128) : {}), [algorithm]: digest });
    this.dirty = true;
  }

  /** Drop hashes of paths that no longer exist locally (kept small). */
  keepHashesOf(paths: ReadonlySet<string>): void {
    for (const rel of this.hashes.keys()) {
      if (paths.has(rel)) continue;
      this.hashes.delete(rel);
      this.dirty = true;
    }
  }

  /** Write the state if it changed: a cache, so without an fsync (a crash costs hashing again). */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const base: Record<string, BaseRecord> = {};
    for (const [rel, f] of this.baseMap) base[rel] = [TYPES.indexOf(f.type), f.size, f.mtime, f.sha256 ?? '', f.xxh128 ?? ''];
    const hashes: Record<string, HashRecord> = {};
    for (const [rel, h] of this.hashes) hashes[rel] = [h.ino, h.size, h.mtimeMs, h.ctimeMs, h.sha256 ?? '', h.xxh128 ?? ''];
    const data = { version: VERSION, localRoot: path.resolve(this.pair.localRoot), remote: this.pair.remote, base, hashes };
    await writeFileAtomic(this.file, JSON.stringify(data), { createDir: true, syncDir: false, syncFile: false });
    this.dirty = false;
  }
}
