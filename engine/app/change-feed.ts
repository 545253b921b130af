/**
 * The change feed: the one source of 'fs:changed', the notice that tells the UI which
 * remote folders to list again. Every change the UI can cause is reported here (mkdir,
 * rename, delete, console commands at once; finished uploads and edit-in-place saves
 * gathered for a moment).
 */
import path from 'node:path';
import type { TransferEvent, TransferId } from '../../shared/common/transfer-model.js';
import type { Emit } from './backend-types.js';

export class ChangeFeed {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Uploads already reported as done, so a row updated again is not reported twice. */
  private readonly reportedUploads = new Set<TransferId>();
  private closed = false;

  constructor(
    private readonly emit: Emit,
    /** An absolute remote path for `p` (relative paths are relative to the session's folder). */
    private readonly resolve: (p: string) => string,
    private readonly delayMs = 300,
  ) {}

  /** The folder holding `p`. */
  parentOf(p: string): string {
    return path.posix.dirname(this.resolve(p));
  }

  /** Folders changed by background work (transfers): reported together, a little later. */
  later(...folders: string[]): void {
    for (const f of folders) this.pending.add(this.resolve(f));
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => this.flush(), this.delayMs);
    this.timer.unref?.();
  }

  /**
   * Folders changed by something the UI is waiting for (a mkdir, a rename, a delete, a
   * console command): reported now, before its result, so the UI lists them once.
   */
  now(...folders: string[]): void {
    for (const f of folders) this.pending.add(this.resolve(f));
    this.flush();
  }

  /** Uploads that finished changed their folders. */
  onTransferEvent(event: TransferEvent): void {
    if (event.kind === 'updated') {
      for (const t of event.transfers) {
        if (t.direction === 'upload' && t.state === 'done' && !this.reportedUploads.has(t.id)) {
          this.reportedUploads.add(t.id);
          this.later(this.parentOf(t.remotePath));
        }
      }
    } else if (event.kind === 'removed') {
      for (const id of event.ids) this.reportedUploads.delete(id);
    }
  }

  /** A new queue: its transfer ids start afresh. */
  forgetUploads(): void {
    this.reportedUploads.clear();
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length > 0 && !this.closed) this.emit('fs:changed', { paths });
  }
}
