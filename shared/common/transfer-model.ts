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
  /** All bytes sent; waiting for the SHA-256 check and the durable commit. */
  | 'verifying'
  | 'done'
  | 'skipped'
  | 'failed'
  | 'cancelled';

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
  /** True once the SHA-256 of the whole file was checked by both ends. */
  readonly verified: boolean;
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

export type TransferEvent =
  | { readonly kind: 'added'; readonly transfers: readonly TransferView[] }
  /** Batched: at most about ten of these a second for the whole queue. */
  | { readonly kind: 'updated'; readonly transfers: readonly TransferView[] }
  | { readonly kind: 'removed'; readonly ids: readonly TransferId[] };

export interface QueueTotals {
  readonly count: number;
  readonly active: number;
  readonly done: number;
  readonly failed: number;
  readonly bytes: number;
  readonly size: number;
}
