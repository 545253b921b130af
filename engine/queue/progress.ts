/**
 * Batched progress: changed rows are collected and sent as one `updated` event at most
 * every interval (100 ms by default) for the whole queue, with each active row's smoothed
 * speed and ETA worked out here. Active rows stay in the next batch so that their speed
 * decays when bytes stop coming.
 */
import type { TransferId, TransferView } from '../../shared/common/transfer-model.js';
import type { Item } from './transfer-item.js';

export class ProgressBatcher {
  private readonly dirty = new Set<TransferId>();
  private readonly rate = new Map<TransferId, { at: number; bytes: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly lookup: (id: TransferId) => Item | undefined,
    private readonly send: (updates: TransferView[]) => void,
  ) {}

  /** The row changed: it goes out with the next batch. */
  mark(item: Item): void {
    this.dirty.add(item.view.id);
    this.schedule();
  }

  /** An attempt starts: its speed is measured from here. */
  startRate(item: Item): void {
    this.rate.set(item.view.id, { at: performance.now(), bytes: item.view.bytes });
  }

  forget(id: TransferId): void {
    this.dirty.delete(id);
    this.rate.delete(id);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Send one batched update for everything that changed since the last one. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty.size === 0) return;
    const now = performance.now();
    const updates: TransferView[] = [];
    for (const id of this.dirty) {
      const item = this.lookup(id);
      if (!item) continue;
      const view = item.view;
      if (view.state === 'active') {
        const last = this.rate.get(id);
        if (last && now > last.at) {
          const instant = ((view.bytes - last.bytes) * 1000) / (now - last.at);
          // Smooth the speed so the ETA does not jump around with every batch.
          view.speed = view.speed === 0 ? Math.max(0, instant) : Math.max(0, 0.7 * view.speed + 0.3 * instant);
          view.eta = view.speed > 0 ? Math.max(0, (view.size - view.bytes) / view.speed) : null;
        }
        this.rate.set(id, { at: now, bytes: view.bytes });
      }
      updates.push({ ...view });
    }
    this.dirty.clear();
    for (const u of updates) if (u.state === 'active') this.dirty.add(u.id);
    if (this.dirty.size > 0) this.schedule();
    if (updates.length > 0) this.send(updates);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref?.();
  }
}
