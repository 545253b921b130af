/**
 * The history of finished transfers: one JSON line per file that ended 'done', appended to
 * CONFIG_DIR/transfer-history.jsonl by the app (every window and tab) and by `ferry put`/`get`,
 * read by the History dialog and `ferry history`. Bounded: past `compactAtBytes` the file is
 * rewritten (atomically) with its newest `maxEntries` lines.
 *
 * Several processes append to it (the app and the CLI at once): every append and every
 * compaction holds a lock file (created exclusively, taken over when older than
 * LOCK_STALE_MS, as a crashed holder leaves it), and an append is one write with O_APPEND.
 * A line cut short by a crash is skipped when read, and the next append starts a new line.
 */
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FerryError } from '../../shared/common/errors.js';
import { PROTOCOLS } from '../../shared/common/protocols.js';
import type { HistoryQuery, TransferLogEntry } from '../../shared/common/transfer-log.js';
import { writeFileAtomic } from '../../shared/node/atomic-file.js';
import { sleep } from '../sleep.js';
import { matchesSearch } from './history-export.js';

export const HISTORY_FILE = 'transfer-history.jsonl';
/** Entries kept (the newest). */
export const HISTORY_MAX_ENTRIES = 10_000;
/** A list without a limit shows this many. */
export const HISTORY_DEFAULT_LIMIT = 1000;
/** A lock older than this was left by a process that died holding it. */
const LOCK_STALE_MS = 10_000;
/** How long an append waits for the lock before giving up (EBUSY). */
const LOCK_WAIT_MS = 5_000;
/** Entries recorded within this time are appended together. */
const FLUSH_DELAY_MS = 200;

const Entry = z.object({
  finishedAt: z.number(),
  direction: z.enum(['upload', 'download']),
  protocol: z.enum(PROTOCOLS),
  server: z.string(),
  localPath: z.string(),
  remotePath: z.string(),
  size: z.number(),
  durationMs: z.number(),
  speed: z.number(),
  check: z.enum(['xxh128', 'sha256', 'size']),
  sha256: z.string().nullable(),
  xxh128: z.string().nullable().optional(),
});

export interface TransferHistoryOptions {
  readonly maxEntries?: number;
  /** Compact once the file is bigger than this (default 8 MiB, about 25,000 entries). */
  readonly compactAtBytes?: number;
  readonly log?: (line: string) => void;
}

export class TransferHistory {
  readonly file: string;
  private readonly lock: string;
  private readonly maxEntries: number;
  private readonly compactAtBytes: number;
  private readonly log: (line: string) => void;
  private pending: TransferLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(configDir: string, options: TransferHistoryOptions = {}) {
    this.file = path.join(configDir, HISTORY_FILE);
    this.lock = `${this.file}.lock`;
    this.maxEntries = options.maxEntries ?? HISTORY_MAX_ENTRIES;
    this.compactAtBytes = options.compactAtBytes ?? 8 * 1024 * 1024;
    this.log = options.log ?? (() => undefined);
  }

  /** Record a finished transfer: appended with the others of the next moment (flush() to wait for it). */
  record(entry: TransferLogEntry): void {
    this.pending.push(entry);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS).unref();
  }

  /** Write what was recorded; resolves once it is in the file (errors are logged, not thrown). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const entries = this.pending;
    this.pending = [];
    if (entries.length > 0) {
      this.writing = this.writing.then(() =>
        this.append(entries).catch((err) => this.log(`could not record ${entries.length} finished transfers in ${this.file}: ${(err as Error).message}`)),
      );
    }
    return this.writing;
  }

  /** Append entries now, as one write, under the lock; compact when the file has grown past its bound. */
  async append(entries: readonly TransferLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.withLock(async () => {
      const handle = await open(this.file, 'a+', 0o600);
      let size: number;
      try {
        const before = (await handle.stat()).size;
        let text = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
        // A crash mid-append left a line without its end: start ours on a line of its own.
        if (before > 0) {
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, before - 1);
          if (last[0] !== 0x0a) text = `\n${text}`;
        }
        await handle.write(text);
        size = before + Buffer.byteLength(text);
      } finally {
        await handle.close();
      }
      if (size > this.compactAtBytes) await this.compact();
    });
  }

  /** The newest entries first, those matching `search` (paths and server), at most `limit`. */
  async list(query: HistoryQuery = {}): Promise<TransferLogEntry[]> {
    const limit = Math.max(1, Math.min(query.limit ?? HISTORY_DEFAULT_LIMIT, this.maxEntries));
    const all = await this.readAll();
    const found: TransferLogEntry[] = [];
    for (let i = all.length - 1; i >= 0 && found.length < limit; i--) {
      if (matchesSearch(all[i]!, query.search)) found.push(all[i]!);
    }
    return found;
  }

  /** Every entry kept, oldest first (at most maxEntries). */
  async readAll(): Promise<TransferLogEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FerryError('EIO', `Cannot read the transfer history ${this.file} (${(err as Error).message}).`);
    }
    const entries: TransferLogEntry[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // cut short by a crash, or being written right now
      }
      const entry = Entry.safeParse(parsed);
      if (entry.success) entries.push(entry.data);
    }
    return entries.length > this.maxEntries ? entries.slice(-this.maxEntries) : entries;
  }

  /** Keep the newest maxEntries (and at most half of compactAtBytes, so it does not compact at once again). Under the lock. */
  private async compact(): Promise<void> {
    const entries = await this.readAll();
    const lines: string[] = [];
    let bytes = 0;
    for (let i = entries.length - 1; i >= 0; i--) {
      const line = `${JSON.stringify(entries[i])}\n`;
      bytes += Buffer.byteLength(line);
      if (bytes > this.compactAtBytes / 2 && lines.length > 0) break;
      lines.push(line);
    }
    lines.reverse();
    await writeFileAtomic(this.file, lines.join(''), { syncFile: true });
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(this.lock, 'wx', 0o600);
        await handle.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // The config folder does not exist yet.
          await mkdir(path.dirname(this.lock), { recursive: true, mode: 0o700 });
          continue;
        }
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const held = await stat(this.lock).catch(() => null);
        if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
          await unlink(this.lock).catch(() => undefined);
          continue;
        }
        if (Date.now() > deadline) throw new FerryError('EBUSY', `The transfer history ${this.file} is locked by another process (${this.lock}).`);
        await sleep(10 + Math.random() * 20);
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(this.lock).catch(() => undefined);
    }
  }
}
