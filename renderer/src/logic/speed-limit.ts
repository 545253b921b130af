/**
 * A speed limit as Settings edits it: an amount and a unit (KiB/s or MiB/s, powers of
 * 1024 as the rest of the app prints sizes), to and from the engine's bytes per second.
 */
import { SPEED_LIMIT_MAX } from '../../../shared/common/speed-limit.js';

export const LIMIT_UNITS = { KiB: 1024, MiB: 1024 * 1024 } as const;
export type LimitUnit = keyof typeof LIMIT_UNITS;

export interface LimitDraft {
  /** What the person typed: empty (or 0) for no limit. */
  readonly amount: string;
  readonly unit: LimitUnit;
}

/** The draft Settings opens with for a saved limit (0: empty, in MiB/s). */
export function draftOf(bytesPerSecond: number): LimitDraft {
  if (bytesPerSecond <= 0) return { amount: '', unit: 'MiB' };
  const unit: LimitUnit = bytesPerSecond >= LIMIT_UNITS.MiB && Number.isInteger((bytesPerSecond * 100) / LIMIT_UNITS.MiB) ? 'MiB' : 'KiB';
  return { amount: String(Math.round((bytesPerSecond / LIMIT_UNITS[unit]) * 100) / 100), unit };
}

/** Bytes per second for a draft (0: no limit), or null when the amount is not a number Settings takes. */
export function limitOf(draft: LimitDraft): number | null {
  const text = draft.amount.trim();
  if (text === '') return 0;
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const bytes = Math.floor(Number(text) * LIMIT_UNITS[draft.unit]);
  if (bytes > SPEED_LIMIT_MAX || (bytes === 0 && Number(text) !== 0)) return null;
  return bytes;
}
