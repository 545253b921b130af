/**
 * What the engine tells its front ends (the CLI, the desktop UI) about transfers. The
 * engine owns all the maths (speed, ETA, states); front ends only show these values.
 */
import type { ErrorInfo } from './errors.js';

declare const transferIdBrand: unique symbol;
export type TransferId = string & { readonly [transferIdBrand]: true };

export type TransferDirection = 'upload' | 'download';

export type TransferState =
  | 'queued'
  | 'active'
  | 'paused'
  /** All bytes sent; waiting for the check (XXH3-128 or SHA-256) and the durable commit. */
  | 'verifying'
  | 'done'
  | 'skipped'
  | 'failed'
  | 'cancelled';

/** The check a finished transfer passed: a digest's algorithm (checks.ts), or only the size. */
export type TransferCheck = 'xxh128' | 'sha256' | 'size';

export const FINAL_STATES: ReadonlySet<TransferState> = new Set(['done', 'skipped', 'failed', 'cancelled']);

export interface TransferView {
  readonly id: TransferId;
  readonly direction: TransferDirection;
  /** File name shown to people. */
  readonly name: string;
  readonly localPath: string;
  readonly remotePath: string;
  readonly size: number;
  readonly bytes: number;
  /** Bytes per second, smoothed. */
  readonly speed: number;
  /** Seconds left, or null when unknown. */
  readonly eta: number | null;
  readonly state: TransferState;
  readonly error?: ErrorInfo;
  /** True once the whole file's digest (XXH3-128 or SHA-256) was checked by both ends. */
  readonly verified: boolean;
  /**
   * The check a finished transfer passed, said exactly: 'xxh128' or 'sha256' when both
   * ends computed the file's XXH3-128 or SHA-256 and they matched, 'size' when the remote
   * has no hash of its own (SFTP without commands) and only the size was compared; null
   * until done, or skipped.
   */
  readonly check: TransferCheck | null;
  readonly attempts: number;
}

export type ConflictDecision = 'overwrite' | 'skip' | 'rename' | 'resume';
export type ConflictPolicy = ConflictDecision | 'ask';

export interface Conflict {
  readonly transfer: TransferView;
  /** Size and mtime of what is already there. */
  readonly existing: { readonly size: number; readonly mtime: number };
  /** The upload or download (one drop, one pick) the file belongs to: "apply to all" covers it only. */
  readonly batch: string;
}

/** What changed in the queue (the queue builds these; its events add the totals). */
export type TransferChange =
  | { readonly kind: 'added'; readonly transfers: readonly TransferView[] }
  /** Batched: at most about ten of these a second for the whole queue. */
  | { readonly kind: 'updated'; readonly transfers: readonly TransferView[] }
  | { readonly kind: 'removed'; readonly ids: readonly TransferId[] };

/** A change and the queue's totals after it: front ends show these totals, never their own. */
export type TransferEvent = TransferChange & { readonly totals: QueueTotals };

/**
 * The whole queue in numbers, computed in one place (engine/queue/queue-totals.ts) and
 * shown as they are by every front end.
 * - Rows by state: `done` counts done and skipped rows (nothing is left to do for them);
 *   `active` counts verifying rows too; `unfinished` = queued + active + paused.
 * - `bytes` of `size`: the bytes this queue moves. Cancelled and skipped rows count in
 *   neither: a skipped file (it was already there) is not moved, so the overall progress
 *   reaches 100% once every file that is moved has been moved. Failed rows count (a retry
 *   resumes them).
 */
export interface QueueTotals {
  readonly count: number;
  readonly queued: number;
  readonly active: number;
  readonly paused: number;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly unfinished: number;
  readonly bytes: number;
  readonly size: number;
}
