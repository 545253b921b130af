/**
 * `ferry history [SEARCH] [--json | --csv] [--limit N]`: the finished transfers of this
 * computer's Ferry (the app's and the CLI's, from the config folder's
 * transfer-history.jsonl), newest first; no connection needed.
 */
import { HISTORY_DEFAULT_LIMIT, TransferHistory } from '../engine/history/transfer-history.js';
import { exportHistory } from '../engine/history/history-export.js';
import { FerryError } from '../shared/common/errors.js';
import { formatBytes } from '../shared/common/size.js';
import type { TransferLogEntry } from '../shared/common/transfer-log.js';
import { printable } from './terminal-text.js';

export interface HistoryOptions {
  readonly search: string | undefined;
  readonly format: 'table' | 'json' | 'csv';
  readonly limit: string | undefined;
}

export async function historyCommand(configDir: string, options: HistoryOptions): Promise<number> {
  const limit = options.limit === undefined ? HISTORY_DEFAULT_LIMIT : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new FerryError('EINVAL', `--limit must be a whole number from 1, not "${options.limit}"`);
  const entries = await new TransferHistory(configDir).list({ search: options.search, limit });
  if (options.format !== 'table') {
    process.stdout.write(exportHistory(entries, options.format));
    return 0;
  }
  if (entries.length === 0) {
    process.stderr.write(options.search ? `ferry: no finished transfer matches "${printable(options.search)}"\n` : 'ferry: no finished transfers yet\n');
    return 0;
  }
  for (const line of table(entries)) process.stdout.write(`${line}\n`);
  return 0;
}

/** Columns padded to their widest cell; paths last, as they are (made printable). */
function table(entries: readonly TransferLogEntry[]): string[] {
  const rows = entries.map((e) => [
    localTime(e.finishedAt),
    e.direction === 'upload' ? 'put' : 'get',
    formatBytes(e.size),
    `${(e.durationMs / 1000).toFixed(1)} s`,
    `${formatBytes(e.speed)}/s`,
    e.check === 'sha256' && e.sha256 ? `sha256:${e.sha256.slice(0, 12)}` : e.check === 'xxh128' && e.xxh128 ? `xxh128:${e.xxh128.slice(0, 12)}` : 'size',
    `${e.protocol === 'sftp' ? 'sftp://' : ''}${e.server}`,
    e.direction === 'upload' ? `${e.localPath} -> ${e.remotePath}` : `${e.remotePath} -> ${e.localPath}`,
  ]);
  const header = ['FINISHED', 'DIR', 'SIZE', 'TIME', 'SPEED', 'CHECK', 'SERVER', 'FROM -> TO'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => printable(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')));
}

function localTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
