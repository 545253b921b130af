/**
 * What a sync remembers about one pair of folders (a local folder and a remote one on one
 * account), in one private file per pair under the config folder:
 * - the base: each path as both sides held it after the last sync, so that "both" can
 *   tell which side changed since (and a change on both sides becomes a conflict);
 * - local hashes: each local file's SHA-256 with the identity it had when hashed (inode,
 *   size, mtime and ctime; any write moves ctime), so unchanged files are not read again.
 * A lost or unreadable file only costs hashing again and a first-sync plan, never a wrong answer.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SHA256_HEX } from '../../shared/common/messages.js';
import type { SyncFacts } from '../../shared/common/sync-model.js';
import { writeFileAtomic } from '../../shared/node/atomic-file.js';
import type { LocalIdentity } from './sync-scan.js';

const Facts = z.object({
  type: z.enum(['file', 'dir', 'other']),
  size: z.number().nonnegative(),
  mtime: z.number(),
  sha256: z.string().regex(SHA256_HEX).optional(),
});

const Hashed = z.object({ ino: z.number(), size: z.number(), mtimeMs: z.number(), ctimeMs: z.number(), sha256: z.string().regex(SHA256_HEX) });

const StateFile = z.object({
  version: z.literal(2),
  localRoot: z.string(),
  remote: z.string(),
  base: z.record(z.string(), Facts),
  hashes: z.record(z.string(), Hashed),
});

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
    private readonly hashes: Map<string, LocalIdentity & { sha256: string }>,
  ) {}

  /** Each path as both sides held it after the last sync. */
  get base(): ReadonlyMap<string, SyncFacts> {
    return this.baseMap;
  }

  /** Both sides now hold `facts` at `rel`. */
  setBase(rel: string, facts: SyncFacts): void {
    const old = this.baseMap.get(rel);
    if (old && old.type === facts.type && old.size === facts.size && old.mtime === facts.mtime && old.sha256 === facts.sha256) return;
    this.baseMap.set(rel, { type: facts.type, size: facts.size, mtime: facts.mtime, ...(facts.sha256 ? { sha256: facts.sha256 } : {}) });
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
    let parsed: z.infer<typeof StateFile> | null = null;
    try {
      if (text !== null) parsed = StateFile.parse(JSON.parse(text));
    } catch {
      parsed = null; // corrupt: start over (a first-sync plan)
    }
    if (parsed && (parsed.remote !== pair.remote || parsed.localRoot !== path.resolve(pair.localRoot))) parsed = null;
    return new SyncState(file, pair, new Map(Object.entries(parsed?.base ?? {})), new Map(Object.entries(parsed?.hashes ?? {})));
  }

  /** The stored SHA-256 of a local file, if it was hashed with exactly this identity. */
  localHash(rel: string, id: LocalIdentity): string | undefined {
    const h = this.hashes.get(rel);
    return h && h.ino === id.ino && h.size === id.size && h.mtimeMs === id.mtimeMs && h.ctimeMs === id.ctimeMs ? h.sha256 : undefined;
  }

  rememberHash(rel: string, id: LocalIdentity, sha256: string): void {
    this.hashes.set(rel, { ...id, sha256 });
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
    const data: z.infer<typeof StateFile> = {
      version: 2,
      localRoot: path.resolve(this.pair.localRoot),
      remote: this.pair.remote,
      base: Object.fromEntries(this.baseMap),
      hashes: Object.fromEntries(this.hashes),
    };
    await writeFileAtomic(this.file, JSON.stringify(data), { createDir: true, syncDir: false, syncFile: false });
    this.dirty = false;
  }
}
