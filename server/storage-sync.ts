/**
 * Group commit for uploads. Making one file durable costs an fsync of the file and one of
 * its folder; done one by one, thousands of small files crawl. Here each file is made
 * durable and moved into place as soon as it can be (many at a time, but a bounded number,
 * so that nothing waits behind an endless I/O queue), and the folder fsyncs are shared:
 * every file moved into a folder while its previous fsync ran is covered by the next one,
 * so a burst of files into one folder costs one folder fsync per round, not one per file.
 * Every commit still resolves only once its own file was fsynced before it was moved and
 * its folder was fsynced after.
 *
 * (Tried and measured on a 2-core VM: a group of files fsynced together and then placed
 * together waits for its slowest fsync before any file moves on; more fsyncs at once,
 * through more threads, only made the disk write the same folder and inode blocks more
 * often.)
 */
import * as fs from 'node:fs';
import { closeFd, fsyncFd, openFd } from './fs-calls.js';

export interface SyncItem {
  /** Make the file's data durable (fsync, close). Runs in parallel with other items. */
  prepare(): Promise<void>;
  /** Move the file into place; returns the folder to fsync (a host path). */
  place(): Promise<string>;
  /** Undo after a failed prepare or place (e.g. delete the partial). */
  discard(): Promise<void>;
}

interface Queued<T> {
  readonly item: SyncItem;
  readonly result: () => T;
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

/** Errors from fsync on a folder that mean "not supported here", not "not durable". */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR', 'EPERM', 'EBADF', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Items being prepared or placed at once. Each item is a short chain of I/O calls that
 * mostly waits for its fsync, and libuv runs its I/O queue (4 threads by default) in
 * order: enough chains keep the threads busy, and the bound keeps a folder fsync or
 * another request's I/O from queueing behind thousands of file operations (measured:
 * 16 starved the threads, 64 to 256 were alike).
 */
const PREPARING = 128;

export async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await openFd(dir, fs.constants.O_RDONLY);
    await fsyncFd(fd);
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    if (fd !== undefined) await closeFd(fd).catch(() => undefined);
  }
}

export class SyncBatcher {
  /** Commits waiting for a preparing slot. */
  private queue: Queued<unknown>[] = [];
  private head = 0;
  private preparing = 0;
  /** Files in place whose folder fsync has not started yet, by folder. */
  private placed = new Map<string, Queued<unknown>[]>();
  private timer: NodeJS.Timeout | null = null;
  /** The folder-fsync rounds, while they run. */
  private syncing: Promise<void> | null = null;
  private readonly tracked = new Set<Promise<unknown>>();
  private idleWaiters: Array<() => void> = [];
  /** Rounds of folder fsyncs so far, each covering every file placed before it began (for tests and diagnostics). */
  groups = 0;

  constructor(
    private readonly delayMs: number,
    private readonly log?: (line: string) => void,
  ) {}

  /** Queue an item; resolves with result() once its file and folder are durable. */
  commit<T>(item: SyncItem, result: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ item, result, resolve: resolve as (value: unknown) => void, reject });
      this.pump();
    });
  }

  /** Register a commit that will reach commit() soon (it is still flushing): drain() waits for it. */
  track<T>(commit: Promise<T>): Promise<T> {
    this.tracked.add(commit);
    const forget = (): void => {
      this.tracked.delete(commit);
    };
    commit.then(forget, forget);
    return commit;
  }

  /** Sync everything queued or on its way now and wait for it. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.tracked.size > 0) {
        await Promise.allSettled([...this.tracked]);
        continue;
      }
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.syncRounds();
      }
      if (this.syncing) {
        await this.syncing;
        continue;
      }
      if (this.preparing > 0 || this.head < this.queue.length) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        continue;
      }
      if (this.placed.size > 0) {
        this.syncRounds();
        continue;
      }
      return;
    }
  }

  private pump(): void {
    while (this.preparing < PREPARING && this.head < this.queue.length) {
      const entry = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.preparing++;
      void this.prepareAndPlace(entry).finally(() => {
        this.preparing--;
        this.pump();
        if (this.preparing === 0 && this.head >= this.queue.length) {
          for (const wake of this.idleWaiters.splice(0)) wake();
        }
      });
    }
  }

  private async prepareAndPlace(entry: Queued<unknown>): Promise<void> {
    let dir: string;
    try {
      await entry.item.prepare();
      dir = await entry.item.place();
    } catch (err) {
      await entry.item.discard().catch((e: unknown) => this.log?.(`sync: discard failed: ${String(e)}`));
      entry.reject(err);
      return;
    }
    const list = this.placed.get(dir);
    if (list) list.push(entry);
    else this.placed.set(dir, [entry]);
    this.schedule();
  }

  /** The next round of folder fsyncs starts after a short delay (more files join it), or when the current one ends. */
  private schedule(): void {
    if (this.syncing || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.syncRounds();
    }, this.delayMs);
  }

  private syncRounds(): void {
    if (this.syncing) return;
    this.syncing = (async () => {
      while (this.placed.size > 0) {
        const round = this.placed;
        this.placed = new Map();
        this.groups++;
        await Promise.all([...round].map(([dir, entries]) => this.syncFolder(dir, entries)));
      }
    })().finally(() => {
      this.syncing = null;
      // Placed after the last round looked (schedule() saw it still running).
      if (this.placed.size > 0) this.schedule();
    });
  }

  private async syncFolder(dir: string, entries: Queued<unknown>[]): Promise<void> {
    let failure: unknown;
    try {
      await syncDir(dir);
    } catch (err) {
      // The files are in place but may not survive a crash: say so to each uploader.
      this.log?.(`sync: fsync of folder ${dir} failed: ${String(err)}`);
      failure = err ?? new Error('fsync failed');
    }
    for (const entry of entries) {
      if (failure !== undefined) {
        entry.reject(failure);
        continue;
      }
      try {
        entry.resolve(entry.result());
      } catch (err) {
        entry.reject(err);
      }
    }
  }
}
