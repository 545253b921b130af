/**
 * Per-account disk usage for quotas: bytes, and entries (every file, folder and link in
 * the home, and every partial upload). Usage is walked once (home + partial uploads), then
 * kept up to date in memory by the storage operations themselves; reservations hold the
 * bytes and entries that running operations may still add, so concurrent ones can never
 * jointly exceed a quota.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** How many lstat calls a walk keeps in flight. */
const WALK_PARALLEL = 64;
/** A walk that overlapped changes is redone; after this many tries its result is kept anyway. */
const WALK_TRIES = 3;

export type WalkLog = (line: string) => void;

/** What a walk found: the bytes of the regular files, and the entries of every kind. */
export interface Usage {
  readonly bytes: number;
  readonly entries: number;
}

/**
 * Total size of the regular files under `dir` (links are not followed), and how many
 * entries (files, folders, links, others) it holds, `dir` itself not counted.
 */
export async function walkUsage(
  dir: string,
  log?: WalkLog,
  sizeOf?: (name: string, size: number) => number,
): Promise<Usage> {
  let total = 0;
  let count = 0;
  const stack = [dir];
  const sizes = async (folder: string, files: readonly string[]): Promise<void> => {
    const found = await Promise.all(
      files.map(async (name) => {
        try {
          const st = await fsp.lstat(path.join(folder, name));
          if (!st.isFile()) return 0;
          return sizeOf ? sizeOf(name, st.size) : st.size;
        } catch {
          return 0;
        }
      }),
    );
    for (const size of found) total += size;
  };
  while (stack.length > 0) {
    const current = stack.pop()!;
    // Read as a stream of names, a batch of files lstat'ed at a time: a folder of a
    // million entries is never held whole.
    try {
      const folder = await fsp.opendir(current, { bufferSize: 256 });
      let files: string[] = [];
      for await (const entry of folder) {
        count++;
        if (entry.isDirectory()) stack.push(path.join(current, entry.name));
        else if (entry.isFile()) files.push(entry.name);
        if (files.length === WALK_PARALLEL) {
          await sizes(current, files);
          files = [];
        }
      }
      await sizes(current, files);
    } catch (err) {
      // Vanished while walking, or unreadable: count what we can and say so.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') log?.(`usage walk: cannot read ${current}: ${code ?? String(err)}`);
    }
  }
  return { bytes: total, entries: count };
}

/**
 * One account's usage. Every storage operation that adds, removes or moves bytes is
 * bracketed by startChange()/endChange(delta): the delta keeps the cached number right,
 * and a walk that overlapped a change is redone (it may have seen half of it).
 */
export class UsageTracker {
  /** Bytes at rest in the home and in partials; null until walked (or after invalidate). */
  private used: number | null = null;
  /** Entries in the home and partials, walked with `used`. */
  private entries = 0;
  /** Bytes that running uploads have been promised. */
  private reservedBytes = 0;
  /** Entries that running operations (mkdir, uploads) have been promised. */
  private reservedCount = 0;
  private epoch = 0;
  private changing = 0;
  private walking: Promise<number> | null = null;
  /** Partial file name → bytes of it already counted, for uploads that are writing it now. */
  readonly activePartials = new Map<string, number>();

  constructor(
    private readonly home: string,
    private readonly partials: string,
    private readonly log?: WalkLog,
  ) {}

  get reserved(): number {
    return this.reservedBytes;
  }

  get reservedEntries(): number {
    return this.reservedCount;
  }

  /** The cached usage, or null if it has to be walked first. */
  peek(): number | null {
    return this.used;
  }

  /** The cached usage in bytes and entries, or null if it has to be walked first. */
  peekUsage(): Usage | null {
    return this.used === null ? null : { bytes: this.used, entries: this.entries };
  }

  /** Current usage, walking the home the first time. */
  async current(): Promise<number> {
    return (await this.currentUsage()).bytes;
  }

  /**
   * Current usage in bytes and entries, walking the home the first time. Resolves with the
   * cached numbers, so a caller that checks and reserves right after it (no await between)
   * sees every reservation made before.
   */
  async currentUsage(): Promise<Usage> {
    for (;;) {
      const usage = this.peekUsage();
      if (usage) return usage;
      this.walking ??= this.walk().finally(() => {
        this.walking = null;
      });
      await this.walking;
    }
  }

  reserve(bytes: number, entries = 0): void {
    this.reservedBytes += bytes;
    this.reservedCount += entries;
  }

  release(bytes: number, entries = 0): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
    this.reservedCount = Math.max(0, this.reservedCount - entries);
  }

  startChange(): void {
    this.changing++;
    this.epoch++;
  }

  /** A change ended: `delta` bytes and `entryDelta` entries were added (or, negative, removed). */
  endChange(delta: number, entryDelta = 0): void {
    this.changing = Math.max(0, this.changing - 1);
    this.epoch++;
    if (this.used !== null) {
      this.used = Math.max(0, this.used + delta);
      this.entries = Math.max(0, this.entries + entryDelta);
    }
  }

  invalidate(): void {
    this.used = null;
    // A walk running now may already have missed what changed: make it try again.
    this.epoch++;
  }

  private async walk(): Promise<number> {
    let total = 0;
    let entries = 0;
    for (let attempt = 1; attempt <= WALK_TRIES; attempt++) {
      const epoch = this.epoch;
      const started = Date.now();
      // A partial being written counts as the bytes it had when its upload began; what
      // the upload adds is covered by its reservation.
      const sizeOfPartial = (name: string, size: number): number => this.activePartials.get(name) ?? size;
      const [home, partials] = await Promise.all([
        walkUsage(this.home, this.log),
        walkUsage(this.partials, this.log, sizeOfPartial),
      ]);
      total = home.bytes + partials.bytes;
      entries = home.entries + partials.entries;
      if (this.epoch === epoch && this.changing === 0) {
        this.log?.(`usage walk: ${total} bytes, ${entries} entries in ${Date.now() - started} ms`);
        break;
      }
    }
    this.used = total;
    this.entries = entries;
    return total;
  }
}
