/**
 * Group commit for uploads. Making one file durable costs an fsync of the file and one of
 * its folder; done one by one, thousands of small files crawl. Commits that arrive within
 * a short delay, or while a group is being synced, are grouped instead: the group's files
 * are fsynced in parallel, then moved into place, then each distinct folder is fsynced
 * once. Every commit still resolves only once its own file and folder are durable.
 */
import * as fsp from 'node:fs/promises';

export interface SyncItem {
  /** Make the file's data durable (fsync, close). Runs in parallel with the group's others. */
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

export async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export class SyncBatcher {
  private queue: Queued<unknown>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly tracked = new Set<Promise<unknown>>();
  /** Groups synced so far (for tests and diagnostics). */
  groups = 0;

  constructor(
    private readonly delayMs: number,
    private readonly log?: (line: string) => void,
  ) {}

  /** Queue an item; resolves with result() once its file and folder are durable. */
  commit<T>(item: SyncItem, result: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ item, result, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
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
        this.run();
      }
      if (this.running) await this.running;
      else if (this.queue.length > 0) this.run();
      else return;
    }
  }

  private schedule(): void {
    // A running group picks up the queue when it ends; a pending timer already covers it.
    if (this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, this.delayMs);
  }

  private run(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.syncGroup(group);
      }
    })().finally(() => {
      this.running = null;
    });
  }

  private async syncGroup(group: Queued<unknown>[]): Promise<void> {
    this.groups++;
    const failed = new Map<Queued<unknown>, unknown>();
    const fail = async (entry: Queued<unknown>, err: unknown): Promise<void> => {
      failed.set(entry, err);
      await entry.item.discard().catch((e: unknown) => this.log?.(`sync: discard failed: ${String(e)}`));
    };

    await Promise.all(group.map((entry) => entry.item.prepare().catch((err: unknown) => fail(entry, err))));

    const dirs = new Map<string, Queued<unknown>[]>();
    await Promise.all(
      group
        .filter((entry) => !failed.has(entry))
        .map(async (entry) => {
          try {
            const dir = await entry.item.place();
            const list = dirs.get(dir);
            if (list) list.push(entry);
            else dirs.set(dir, [entry]);
          } catch (err) {
            await fail(entry, err);
          }
        }),
    );

    await Promise.all(
      [...dirs].map(async ([dir, entries]) => {
        try {
          await syncDir(dir);
        } catch (err) {
          // The files are in place but may not survive a crash: say so to each uploader.
          this.log?.(`sync: fsync of folder ${dir} failed: ${String(err)}`);
          for (const entry of entries) failed.set(entry, err);
        }
      }),
    );

    for (const entry of group) {
      if (failed.has(entry)) {
        entry.reject(failed.get(entry));
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
