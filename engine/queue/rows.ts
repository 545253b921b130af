/**
 * The rows people see, and their states: every change of `view.state` goes through here,
 * so the count of rows still waiting (what idle() sleeps on) and the progress batch stay
 * in step with it.
 */
import type { FerryError } from '../../shared/common/errors.js';
import { FINAL_STATES, type TransferState } from '../../shared/common/transfer-model.js';
import type { ProgressBatcher } from './progress.js';
import type { Item } from './transfer-item.js';

/** States idle() waits for: anything that is neither final nor paused. */
const isWaiting = (state: TransferState): boolean => !FINAL_STATES.has(state) && state !== 'paused';

export class Rows {
  /** Rows in a waiting state, so idle() never has to scan. */
  private waiting = 0;
  /** Resolved (and replaced) whenever a row stops waiting. */
  private settled: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    private readonly progress: ProgressBatcher,
    /** A row became queued (the queue looks for work from the start again). */
    private readonly onQueued: () => void,
  ) {}

  /** A new row (queued). */
  added(): void {
    this.waiting++;
  }

  set(item: Item, state: TransferState): void {
    const was = isWaiting(item.view.state);
    item.view.state = state;
    if (state === 'queued') this.onQueued();
    const now = isWaiting(state);
    if (was !== now) this.waiting += now ? 1 : -1;
    if (was && !now) {
      const settled = this.settled;
      this.settled = undefined;
      settled?.resolve();
    }
    this.progress.mark(item);
  }

  finish(item: Item, state: 'done' | 'skipped' | 'failed' | 'cancelled'): void {
    if (state === 'done' || state === 'skipped') {
      item.view.speed = 0;
      item.view.eta = 0;
    }
    this.set(item, state);
  }

  failed(item: Item, err: FerryError): void {
    item.view.error = err.toInfo();
    item.view.speed = 0;
    item.view.eta = null;
    this.finish(item, 'failed');
  }

  paused(item: Item): void {
    item.view.speed = 0;
    item.view.eta = null;
    // A pause is not a failed attempt, and the row keeps showing how far it got (the
    // transfer takes back what it sent when it stops; resuming starts from the remote's
    // partial, which is about that much).
    if (item.view.attempts > 0) item.view.attempts--;
    if (item.reached !== undefined) item.view.bytes = Math.min(item.view.size, item.reached);
    this.set(item, 'paused');
  }

  /** Resolves when no row is waiting (every one is final or paused). */
  async idle(): Promise<void> {
    // One shared signal, not a race over every row: thousands of files stay cheap.
    while (this.waiting > 0) {
      if (this.settled === undefined) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.settled = { promise, resolve };
      }
      await this.settled.promise;
    }
  }
}
