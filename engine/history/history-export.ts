/**
 * The history as people and programs take it away: a search over paths and server, CSV
 * (RFC 4180: a header row, CRLF line ends, fields with a comma, quote or line end quoted
 * and quotes doubled) and JSON; and the entry a finished transfer makes.
 */
import path from 'node:path';
import type { HistoryExportFormat, TransferLogEntry } from '../../shared/common/transfer-log.js';
import type { Remote } from '../remote/remote.js';
import type { FinishedTransfer } from '../queue/transfer-queue.js';

/** The entry for a file that ended 'done' on `remote`. */
export function logEntryOf(remote: Pick<Remote, 'protocol' | 'host' | 'user'>, done: FinishedTransfer): TransferLogEntry {
  const { view } = done;
  const durationMs = Math.max(0, Math.round(done.durationMs));
  return {
    finishedAt: done.finishedAt,
    direction: view.direction,
    protocol: remote.protocol,
    server: `${remote.user.name}@${remote.host}`,
    // Absolute, so the entry still says where the file is when read from another folder
    // (the CLI's paths are as typed).
    localPath: path.resolve(view.localPath),
    remotePath: view.remotePath,
    size: view.size,
    durationMs,
    // A file moved within a millisecond is counted as taking one.
    speed: Math.round(view.size / (Math.max(1, durationMs) / 1000)),
    check: done.digest ? done.digest.algorithm : 'size',
    sha256: done.digest?.algorithm === 'sha256' ? done.digest.hex : null,
    xxh128: done.digest?.algorithm === 'xxh128' ? done.digest.hex : null,
  };
}

/** The search matches a path or the server, ignoring case; an empty search matches all. */
export function matchesSearch(entry: TransferLogEntry, search: string | undefined): boolean {
  const needle = search?.trim().toLowerCase();
  if (!needle) return true;
  return [entry.localPath, entry.remotePath, entry.server, `${entry.protocol}://${entry.server}`].some((s) => s.toLowerCase().includes(needle));
}

export const CSV_COLUMNS = ['finished', 'direction', 'protocol', 'server', 'local_path', 'remote_path', 'size', 'duration_ms', 'speed_bytes_per_s', 'check', 'sha256', 'xxh128'] as const;

function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function historyCsv(entries: readonly TransferLogEntry[]): string {
  const rows = entries.map((e) =>
    [new Date(e.finishedAt).toISOString(), e.direction, e.protocol, e.server, e.localPath, e.remotePath, e.size, e.durationMs, e.speed, e.check, e.sha256, e.xxh128 ?? null]
      .map(csvField)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

export function historyJson(entries: readonly TransferLogEntry[]): string {
  return `${JSON.stringify(
    entries.map((e) => ({ ...e, finished: new Date(e.finishedAt).toISOString() })),
    null,
    2,
  )}\n`;
}

export function exportHistory(entries: readonly TransferLogEntry[], format: HistoryExportFormat): string {
  return format === 'csv' ? historyCsv(entries) : historyJson(entries);
}
