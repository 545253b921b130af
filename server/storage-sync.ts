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
 * Small files (batchable items) go faster still where the storage found a filesystem
 * sync (fs-sync.ts): they are written without an fsync each, one syncfs makes the whole
 * batch durable, and only then are they moved into place and their folders fsynced as
 * above. The order, and so the promise of each reply, is the same.
 *
 * (Tried and measured on a 2-core VM: a group of files fsynced together and then placed
 * together waits for its slowest fsync before any file moves on; more fsyncs at once,
 * through more threads, only made the disk write the same folder and inode blocks more
 * often.)
 */
import * as fs from 'node:fs';
import { closeFd, fsyncFd, openFd } from '../shared/node/fs-calls.js';
import type { FilesystemSync } from './fs-sync.js';

export interface SyncItem {
  /**
   * Write the file and, when `fsync` is true, make its data durable (fsync) before closing
   * it. Runs in parallel with other items. Only a `batchable` item is ever asked not to
   * fsync: the batch's filesystem sync covers it before it is placed.
   */
  prepare(fsync: boolean): Promise<void>;
  /** The item may share one filesystem sync with the rest of its batch (small files). */
  readonly batchable?: boolean;
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
  /** One sync for many small files (see fs-sync.ts), once the storage found one that works. */
  private fsSync: FilesystemSync | null = null;
  /** Batchable items written but not synced yet: the next filesystem sync covers them. */
  private unsynced: Queued<unknown>[] = [];
  /** The filesystem syncs (and the placing after each), while they run. */
  private dataSyncing: Promise<void> | null = null;
  /** Filesystem syncs so far (for tests and diagnostics). */
  filesystemSyncs = 0;

  constructor(
    private readonly delayMs: number,
    private readonly log?: (line: string) => void,
  ) {}

  /**
   * From now on, batchable items are written without an fsync each, and `sync` (of the
   * filesystem that holds them and their targets) makes each batch durable.
   */
  useFilesystemSync(sync: FilesystemSync): void {
    this.fsSync = sync;
  }

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
      if (this.dataSyncing) {
        await this.dataSyncing;
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
    const deferred = this.fsSync !== null && entry.item.batchable === true;
    try {
      await entry.item.prepare(!deferred);
    } catch (err) {
      await this.fail(entry, err);
      return;
    }
    if (deferred) this.awaitFilesystemSync(entry);
    else await this.place(entry);
  }

  private async fail(entry: Queued<unknown>, err: unknown): Promise<void> {
    await entry.item.discard().catch((e: unknown) => this.log?.(`sync: discard failed: ${String(e)}`));
    entry.reject(err);
  }

  /**
   * Written, not synced: wait for the next filesystem sync. One runs at a time, and each
   * covers every item written before it started (an item written while one runs waits
   * for the next: the running one may have passed it by).
   */
  private awaitFilesystemSync(entry: Queued<unknown>): void {
    this.unsynced.push(entry);
    if (this.dataSyncing) return;
    this.dataSyncing = (async () => {
      while (this.unsynced.length > 0) {
        const batch = this.unsynced;
        this.unsynced = [];
        let failure: unknown;
        try {
          await this.fsSync!.run();
          this.filesystemSyncs++;
        } catch (err) {
          this.log?.(`sync: ${String(err)}`);
          failure = err;
        }
        // Not durable: none of them is placed, each uploader hears why.
        await Promise.all(batch.map((e) => (failure === undefined ? this.place(e) : this.fail(e, failure))));
      }
    })().finally(() => {
      this.dataSyncing = null;
    });
  }

  /** Move a durable file into place; its folder joins the next round of folder fsyncs. */
  private async place(entry: Queued<unknown>): Promise<void> {
    let dir: string;
    try {
      dir = await entry.item.place();
    } catch (err) {
      await this.fail(entry, err);
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
