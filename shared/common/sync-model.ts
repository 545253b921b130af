/**
 * Folder sync as every front end sees it: a plan (what would change, and why) that can be
 * shown, edited by unticking lines, and run. The engine builds and runs plans
 * (engine/sync/); this file is only the shapes and the arguments that cross the contract.
 */
import { z } from 'zod';

/** up: make the remote like the local folder; down: the other way; both: newer wins, conflicts are kept. */
export const SyncDirection = z.enum(['up', 'down', 'both']);
export type SyncDirection = z.infer<typeof SyncDirection>;

export const SyncRequest = z.object({
  localRoot: z.string().min(1).max(4096),
  remoteRoot: z.string().min(1).max(4096),
  direction: SyncDirection,
  /** Delete what exists only on the side being made like the other (opt-in). */
  deleteExtras: z.boolean(),
});
export type SyncRequest = z.infer<typeof SyncRequest>;

/**
 * How two files were compared: 'xxh128' or 'sha256' by content (the remote lists stored
 * digests, the local side is hashed with the same algorithm; 'xxh128' where the server
 * offers it, though a file whose stored digest is a SHA-256 is compared by that), and
 * 'size-mtime' by size and modification time (to the second) where the remote offers no
 * hashes of its own (SFTP).
 */
export type SyncCompare = 'xxh128' | 'sha256' | 'size-mtime';

/** One side's file or folder as the plan saw it. */
export interface SyncFacts {
  readonly type: 'file' | 'dir' | 'other';
  readonly size: number;
  /** ms since the epoch. */
  readonly mtime: number;
  readonly sha256?: string;
  readonly xxh128?: string;
}

/**
 * upload / download: copy one file across (replacing what is there); mkdir: create a
 * folder on `side`; delete: remove a file or folder on `side`; conflict: nothing is done
 * (both sides kept, the reason says why); same: nothing to do; keep: an extra left alone.
 */
export type SyncActionKind = 'upload' | 'download' | 'mkdir' | 'delete' | 'conflict' | 'same' | 'keep';

export interface SyncAction {
  /** Its position in the plan: what `sync:run` selects by. */
  readonly id: number;
  readonly kind: SyncActionKind;
  /** Path relative to both roots, '/'-separated. */
  readonly path: string;
  /** The side a mkdir, delete or keep applies to. */
  readonly side?: 'local' | 'remote';
  readonly reason: string;
  readonly local?: SyncFacts;
  readonly remote?: SyncFacts;
}

export interface SyncPlan {
  /** Names this plan for `sync:run` (a plan is run at most once). */
  readonly id: string;
  readonly localRoot: string;
  readonly remoteRoot: string;
  readonly direction: SyncDirection;
  readonly deleteExtras: boolean;
  readonly compare: SyncCompare;
  /** Whether an earlier sync of this pair was on record (only 'both' uses it: what changed since). */
  readonly hasBase: boolean;
  readonly actions: readonly SyncAction[];
  /** Bytes the planned uploads and downloads would move. */
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/** Actions that change something (what a run carries out, and what is ticked by default). */
export const SYNC_CHANGES: ReadonlySet<SyncActionKind> = new Set<SyncActionKind>(['upload', 'download', 'mkdir', 'delete']);

/** What a run did, action by action (failed ones keep their error). */
export interface SyncOutcome {
  readonly planId: string;
  readonly done: number;
  readonly failed: ReadonlyArray<{ readonly id: number; readonly path: string; readonly code: string; readonly message: string }>;
  /** Actions not run: unticked, conflicts, or cancelled. */
  readonly skipped: number;
}
