/** How numbers and times read in the UI. The engine computes them; this only prints them. */
import type { Protocol } from '../../../shared/common/protocols.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { formatBytes } from '../../../shared/common/size.js';
import type { TransferCheck, TransferState } from '../../../shared/common/transfer-model.js';

export { formatBytes };

export function formatSpeed(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(Math.round(bytesPerSecond))}/s` : '';
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 1) return 'under 1 s left';
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s left`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min left`;
}

/** 0–100, whole numbers; an empty file is 100 once done. */
export function percent(bytes: number, size: number, state?: TransferState): number {
  if (size <= 0) return state === 'done' || state === 'skipped' ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((bytes / size) * 100)));
}

const sameDay = (a: Date, b: Date): boolean =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

let timeFormat: Intl.DateTimeFormat | undefined;
let dateFormat: Intl.DateTimeFormat | undefined;
let yearFormat: Intl.DateTimeFormat | undefined;

/** "Today 14:03", "12 Mar 14:03" (this year), "12 Mar 2023" (older). */
export function formatDate(ms: number, now: number = Date.now()): string {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  const today = new Date(now);
  timeFormat ??= new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  if (sameDay(d, today)) return `Today ${timeFormat.format(d)}`;
  if (d.getFullYear() === today.getFullYear()) {
    dateFormat ??= new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });
    return dateFormat.format(d);
  }
  yearFormat ??= new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  return yearFormat.format(d);
}

export function formatError(error: ErrorInfo): string {
  return `${error.code}: ${error.message}`;
}

/** What a person can do about a connection error, beyond the engine's message. */
export function connectHint(error: ErrorInfo, protocol: Protocol = 'ferry'): string | null {
  switch (error.code) {
    case 'EAUTH':
      return protocol === 'sftp'
        ? 'Check the user name, then the password, the key file or ssh-agent, and try again.'
        : 'Wrong user name or password. Check both and try again.';
    case 'ERATELIMIT':
      return 'Too many failed attempts: wait a minute before trying again.';
    case 'ECONN':
    case 'ETIMEDOUT':
      return `The server could not be reached. Check the host and port, and that ${protocol === 'sftp' ? 'its SSH server' : 'ferryd'} is running and reachable.`;
    case 'EPROTO':
      return 'This is not a Ferry server, or its encryption setting differs from this connection’s (see “No encryption”).';
    case 'EHOSTKEY':
      return 'The server key does not match the one recorded for this host.';
    default:
      return null;
  }
}

/** What a finished transfer's row says about its check (view.check). */
export const CHECK_LABEL: Readonly<Record<TransferCheck, string>> = {
  sha256: 'SHA-256 verified',
  size: 'size checked',
};

/** The badge of a row being checked: what the session's transfers are checked with. */
export function verifyingLabel(check: TransferCheck): string {
  return check === 'sha256' ? 'Verifying SHA-256…' : 'Checking size…';
}

export const STATE_LABEL: Readonly<Record<TransferState, string>> = {
  queued: 'Queued',
  active: 'Transferring',
  paused: 'Paused',
  verifying: 'Verifying SHA-256…',
  done: 'Done',
  skipped: 'Skipped',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
