/**
 * What the two ways of moving files (whole-files.ts, streamed.ts) may ask of the queue
 * that runs them, and the queue's load: slots (files or batches moving at once) and
 * answers owed (requests on the wire whose answer has not come: uploads whose bytes are
 * sent but whose commit is not confirmed, downloads asked for or being checked).
 */
import type { CheckAlgorithm, Digest } from '../../shared/common/checks.js';
import type { FerryError } from '../../shared/common/errors.js';
import type { TransferState } from '../../shared/common/transfer-model.js';
import type { Remote } from '../remote/remote.js';
import type { ConflictDesk } from './conflicts.js';
import type { ProgressBatcher } from './progress.js';
import type { RateLimits } from './rate-limit.js';
import type { Attempt, Item } from './transfer-item.js';

/** How an attempt that did not fail ended: the file's path, and the check it passed. */
export interface SucceedResult {
  readonly skipped: boolean;
  readonly verified: boolean;
  readonly path: string;
  /** The digest both ends agreed on; null or absent when only the size was checked. */
  readonly digest?: Digest | null;
}

export interface QueueHost {
  readonly remote: Remote;
  readonly conflicts: ConflictDesk;
  readonly progress: ProgressBatcher;
  readonly load: Load;
  /** Closed: whatever runs ends as cancelled. */
  readonly closed: boolean;
  /** Blocking small-file I/O (QueueOptions.blockingSmallIo). */
  readonly blockingSmallIo: boolean;
  /** The speed limits every transfer waits for (QueueOptions.rateLimits). */
  readonly limits: RateLimits | undefined;
  /** The check transfers make with this remote now (transfers.ts checkFor). */
  readonly check: CheckAlgorithm;
  setState(item: Item, state: TransferState): void;
  /**
   * A download's size as the remote announced it, when it differs from the plan (the file
   * changed since it was listed): the row and the totals show the new size.
   */
  resized(item: Item, size: number): void;
  /** The attempt ended well: the row is done or skipped. */
  succeed(item: Item, attempt: Attempt, result: SucceedResult): void;
  /** The attempt failed, or was stopped: pause, cancel, ask, retry or fail (the one place that decides). */
  settle(item: Item, attempt: Attempt, err: FerryError): Promise<void>;
  /** A small file must take the streamed way (it grew, or cannot be sent whole): back to the queue. */
  handToStreamed(item: Item, attempt: Attempt): void;
  /** A checked small download to the disk. */
  writeSmall(target: string, data: Buffer, mtime: number): Promise<void>;
}

/**
 * Bound on answers owed at once: past it, no new file starts until some come in, so a
 * fast sender cannot pile up unbounded work on the server.
 */
export const MAX_OWED = 1024;

export class Load {
  private slots = 0;
  private owed = 0;

  /** Called whenever something is given back: more may start. */
  constructor(private readonly onFree: () => void) {}

  /** Room for one more file or batch, at this concurrency. */
  canStart(concurrency: number): boolean {
    return this.slots < concurrency && this.owed < MAX_OWED;
  }

  /** Take a slot; the returned function gives it back (once, whatever the number of calls). */
  takeSlot(): () => void {
    this.slots++;
    return this.once(() => this.slots--);
  }

  /** Owe an answer; the returned function settles it (once). */
  owe(): () => void {
    this.owed++;
    return this.once(() => this.owed--);
  }

  private once(undo: () => void): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      undo();
      this.onFree();
    };
  }
}
