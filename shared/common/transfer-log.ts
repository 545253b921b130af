/**
 * What the app keeps about transfers beyond one session: the history of finished ones (an
 * entry per file that ended 'done') and the unfinished ones saved for the next start, as
 * every front end (the app's UI through the contract, `ferry history`) sees them.
 */
import type { Protocol } from './protocols.js';
import type { ConflictDecision, TransferCheck, TransferDirection, TransferView } from './transfer-model.js';

/** One finished transfer in the history (engine/history/transfer-history.ts keeps them). */
export interface TransferLogEntry {
  /** When it finished, in ms since the epoch. */
  readonly finishedAt: number;
  readonly direction: TransferDirection;
  readonly protocol: Protocol;
  /** user@host:port, as the connection was made. */
  readonly server: string;
  readonly localPath: string;
  readonly remotePath: string;
  readonly size: number;
  /** How long the file was moving, in ms: the sum of its attempts (a pause is not counted). */
  readonly durationMs: number;
  /** Average bytes per second: size over durationMs. */
  readonly speed: number;
  /**
   * 'xxh128' or 'sha256' when both ends computed the file's XXH3-128 or SHA-256 and they
   * matched; 'size' when only the size was compared.
   */
  readonly check: TransferCheck;
  /** The SHA-256 both ends agreed on (hex), or null when it was not the check. */
  readonly sha256: string | null;
  /** The XXH3-128 both ends agreed on (hex), or null when it was not the check (absent in older entries). */
  readonly xxh128?: string | null;
}

/** A search of the history: the newest `limit` entries whose paths or server contain `search`. */
export interface HistoryQuery {
  readonly search?: string | undefined;
  readonly limit?: number | undefined;
}

export const HISTORY_EXPORT_FORMATS = ['csv', 'json'] as const;
export type HistoryExportFormat = (typeof HISTORY_EXPORT_FORMATS)[number];

/**
 * Transfers unfinished when the app last left a connection, kept to be carried on: the
 * row's own fields (`bytes` is how far it had got; a restore continues from the partial
 * that holds them), and what a restart needs besides.
 */
export interface SavedTransfer extends Pick<TransferView, 'direction' | 'name' | 'localPath' | 'remotePath' | 'size' | 'bytes'> {
  /** What the row was: queued (or running at quit), paused, or failed. */
  readonly state: 'queued' | 'paused' | 'failed';
  /** Its batch's answer to a conflict (overwrite, skip, rename, resume), if one was given. */
  readonly conflict?: ConflictDecision | undefined;
  /** How long it had been moving (ms): the history's time and speed count the whole transfer. */
  readonly activeMs?: number | undefined;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

/** 'transfers:saved': what is offered for the connection now in use. */
export interface SavedQueueOffer {
  readonly transfers: readonly SavedTransfer[];
  /** When they were saved (ms since the epoch). */
  readonly savedAt: number;
  /**
   * Files dropped into a browser page (browser mode) that were unfinished too: their bytes
   * lived in the web host's spool, which is deleted with the page, so they cannot be kept.
   */
  readonly leftOut: number;
}
