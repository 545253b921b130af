/**
 * Progress on a terminal: the running file's bar with speed and ETA redrawn in place, and
 * one line per finished file (like scp). Off a terminal only failures are printed.
 */
import type { WriteStream } from 'node:tty';
import type { TransferEvent, TransferView } from '../shared/common/transfer-model.js';
import { formatBytes } from '../shared/common/size.js';
import { printable } from './terminal-text.js';

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function progressLine(t: TransferView, width: number): string {
  const pct = t.size > 0 ? Math.floor((t.bytes / t.size) * 100) : t.state === 'done' ? 100 : 0;
  const stats = `${String(pct).padStart(3)}% ${formatBytes(t.bytes).padStart(9)} ${`${formatBytes(t.speed)}/s`.padStart(11)} ${formatDuration(t.eta)}`;
  const barWidth = Math.max(10, Math.min(30, width - stats.length - 24));
  const filled = Math.round((pct / 100) * barWidth);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  const room = Math.max(8, width - stats.length - bar.length - 3);
  const shown = printable(t.name);
  const name = shown.length > room ? `…${shown.slice(-(room - 1))}` : shown.padEnd(room);
  return `${name} ${bar} ${stats}`;
}

export class ProgressPrinter {
  private readonly tty: boolean;
  private drawn = false;
  private readonly finished = new Set<string>();

  constructor(private readonly out: NodeJS.WriteStream) {
    this.tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
  }

  onEvent(event: TransferEvent): void {
    if (!this.tty || event.kind !== 'updated') return;
    const width = (this.out as WriteStream).columns ?? 80;
    let current: TransferView | undefined;
    for (const t of event.transfers) {
      if ((t.state === 'done' || t.state === 'skipped') && !this.finished.has(t.id)) {
        this.finished.add(t.id);
        this.clear();
        const note = t.state === 'skipped' ? ' (skipped: exists)' : t.check === 'size' ? ' size ok (no hash)' : t.check ? ` ${t.check} ok` : '';
        this.out.write(`${progressLine({ ...t, bytes: t.size, eta: 0 }, width - note.length)}${note}\n`);
      } else if (t.state === 'active') {
        current = t;
      }
    }
    if (current) {
      this.clear();
      this.out.write(progressLine(current, width - 1));
      this.drawn = true;
    }
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  finish(): void {
    this.clear();
  }
}

/**
 * One transfer as `put --json` and `get --json` print it: where it went, how it ended and
 * which check it passed (`check`: "xxh128" or "sha256", "size" where the server has no hash, or null).
 */
export function transferJson(t: TransferView): Record<string, unknown> {
  return {
    name: t.name,
    direction: t.direction,
    localPath: t.localPath,
    remotePath: t.remotePath,
    size: t.size,
    state: t.state,
    check: t.check,
    ...(t.error ? { error: { code: t.error.code, message: t.error.message } } : {}),
  };
}
