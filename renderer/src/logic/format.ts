/**
 * How numbers and times read in the UI, in its language (i18n.ts: `currentLocale()` for
 * Intl, the words from the `common` namespace). The engine computes them; this only prints them.
 */
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { Protocol } from '../../../shared/common/protocols.js';
import type { TransferCheck, TransferState } from '../../../shared/common/transfer-model.js';
import { currentLocale, i18n } from '../i18n/i18n.js';

/** Intl formatters are costly to make: one per locale and shape. */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(digits: number): Intl.NumberFormat {
  const locale = currentLocale();
  const key = `n:${locale}:${digits}`;
  let f = formatters.get(key) as Intl.NumberFormat | undefined;
  // No grouping: "1023 KiB" as the CLI prints it, not "1,023 KiB".
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false })));
  return f;
}
function dateFormat(shape: 'time' | 'date' | 'year'): Intl.DateTimeFormat {
  const locale = currentLocale();
  const key = `d:${locale}:${shape}`;
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      shape === 'time'
        ? { hour: 'numeric', minute: '2-digit' }
        : shape === 'date'
          ? { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' }
          : { day: 'numeric', month: 'short', year: 'numeric' };
    formatters.set(key, (f = new Intl.DateTimeFormat(locale, options)));
  }
  return f;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Bytes as people read them, in the UI's locale: the rounding of shared/common/size.ts
 * (which the CLI prints), with the locale's digits and word for bytes.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return i18n.t('format.bytes', { n: numberFormat(0).format(bytes) });
  let value = bytes / 1024;
  let i = 0;
  // Move up a unit when the printed number would round to 1024 ("1.0 MiB", not "1024 KiB").
  while (value >= 1023.5 && i < UNITS.length - 1) {
    value /= 1024;
    i++;
  }
  return `${numberFormat(value >= 99.95 ? 0 : 1).format(value)} ${UNITS[i]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? i18n.t('format.speed', { size: formatBytes(Math.round(bytesPerSecond)) }) : '';
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 1) return i18n.t('format.etaUnder1s');
  if (s < 60) return i18n.t('format.etaSeconds', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return i18n.t('format.etaMinutes', { m, ss: String(s % 60).padStart(2, '0') });
  const h = Math.floor(m / 60);
  return i18n.t('format.etaHours', { h, mm: String(m % 60).padStart(2, '0') });
}

/** A whole number with the locale's grouping ("12,345"). */
export function formatCount(n: number): string {
  const locale = currentLocale();
  const key = `c:${locale}`;
  let f = formatters.get(key) as Intl.NumberFormat | undefined;
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(locale)));
  return f.format(n);
}

/** 0–100, whole numbers; an empty file is 100 once done. */
export function percent(bytes: number, size: number, state?: TransferState): number {
  if (size <= 0) return state === 'done' || state === 'skipped' ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((bytes / size) * 100)));
}

const sameDay = (a: Date, b: Date): boolean =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** "Today 14:03", "12 Mar 14:03" (this year), "12 Mar 2023" (older); "今天 14:03", "3月12日 14:03", "2023年3月12日" in Chinese. */
export function formatDate(ms: number, now: number = Date.now()): string {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  const today = new Date(now);
  if (sameDay(d, today)) return i18n.t('format.today', { time: dateFormat('time').format(d) });
  if (d.getFullYear() === today.getFullYear()) return dateFormat('date').format(d);
  return dateFormat('year').format(d);
}

/** A date and time in full, for a tooltip. */
export function formatFullDate(ms: number): string {
  return new Date(ms).toLocaleString(currentLocale());
}

/** The engine's error: its stable code, then its message (the engine's words, in English). */
export function formatError(error: ErrorInfo): string {
  return `${error.code}: ${error.message}`;
}

/** What a person can do about a connection error, beyond the engine's message. */
export function connectHint(error: ErrorInfo, protocol: Protocol = 'ferry'): string | null {
  switch (error.code) {
    case 'EAUTH':
      return protocol === 'sftp' ? i18n.t('connect:hint.authSftp') : i18n.t('connect:hint.auth');
    case 'ERATELIMIT':
      return i18n.t('connect:hint.rateLimit');
    case 'ECONN':
    case 'ETIMEDOUT':
      return protocol === 'sftp' ? i18n.t('connect:hint.unreachableSftp') : i18n.t('connect:hint.unreachable');
    case 'EPROTO':
      return i18n.t('connect:hint.proto');
    case 'EHOSTKEY':
      return i18n.t('connect:hint.hostKey');
    default:
      return null;
  }
}

/** A record whose values are looked up in the UI's language each time they are read. */
function translated<K extends string>(words: Readonly<Record<K, () => string>>): Readonly<Record<K, string>> {
  const out = {} as Record<K, string>;
  for (const key of Object.keys(words) as K[]) Object.defineProperty(out, key, { enumerable: true, get: words[key] });
  return out;
}

/** What a finished transfer's row says about its check (view.check). */
export const CHECK_LABEL: Readonly<Record<TransferCheck, string>> = translated({
  xxh128: () => i18n.t('checks:row.xxh128'),
  sha256: () => i18n.t('transfers:check.sha256'),
  size: () => i18n.t('transfers:check.size'),
});

/** The badge of a row being checked: what the session's transfers are checked with. */
export function verifyingLabel(check: TransferCheck): string {
  if (check === 'xxh128') return i18n.t('checks:row.verifyingXxh128');
  return check === 'sha256' ? i18n.t('transfers:state.verifying') : i18n.t('transfers:state.checkingSize');
}

export const STATE_LABEL: Readonly<Record<TransferState, string>> = translated({
  queued: () => i18n.t('transfers:state.queued'),
  active: () => i18n.t('transfers:state.active'),
  paused: () => i18n.t('transfers:state.paused'),
  verifying: () => i18n.t('transfers:state.verifying'),
  done: () => i18n.t('transfers:state.done'),
  skipped: () => i18n.t('transfers:state.skipped'),
  failed: () => i18n.t('transfers:state.failed'),
  cancelled: () => i18n.t('transfers:state.cancelled'),
});
