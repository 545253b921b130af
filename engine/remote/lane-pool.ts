/**
 * The pool of lanes behind every Remote: lanes are opened on demand up to a size that can
 * change at any time, lent out, given back, and dropped once broken. Each transport says
 * only how to open one (a data connection, an SFTP channel).
 */
import { FerryError } from '../../shared/common/errors.js';

export interface PooledLane {
  readonly closed: boolean;
  destroy(): void;
}

export class LanePool<L extends PooledLane> {
  private readonly idle: L[] = [];
  private readonly waiters: Array<() => void> = [];
  private opened = 0;
  private max: number;
  private ended = false;

  constructor(
    private readonly open: (signal?: AbortSignal) => Promise<L>,
    size: number,
    /** The most a pool may hold, whatever it is asked for. */
    private readonly limit = Number.MAX_SAFE_INTEGER,
    /** How a healthy idle lane is let go when the pool shrinks or closes (default: destroy). */
    private readonly retire: (lane: L) => void = (lane) => lane.destroy(),
  ) {
    this.max = this.clamp(size);
  }

  private clamp(n: number): number {
    return Math.min(this.limit, Math.max(1, Math.floor(n)));
  }

  /** Borrow a lane: an idle one, else a new one while there is room, else wait for one. */
  async acquire(signal?: AbortSignal): Promise<L> {
    for (;;) {
      if (this.ended) throw new FerryError('ECANCELED', 'the session was closed');
      signal?.throwIfAborted();
      const idle = this.idle.pop();
      if (idle && !idle.closed) return idle;
      if (idle) {
        this.opened--;
        continue;
      }
      if (this.opened < this.max) {
        this.opened++;
        try {
          return await this.open(signal);
        } catch (err) {
          this.opened--;
          this.waiters.shift()?.();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * Take lanes that are being opened elsewhere (warmed up ahead of need): each holds a
   * place while it opens and becomes idle when ready; one that fails (null) frees its
   * place. Lanes beyond the pool's size are let go.
   */
  warm(lanes: ReadonlyArray<Promise<L | null>>): void {
    for (const pending of lanes) {
      if (this.ended || this.opened >= this.max) {
        void pending.then((lane) => lane && this.retire(lane), () => undefined);
        continue;
      }
      this.opened++;
      void pending.then(
        (lane) => {
          if (lane && !lane.closed && !this.ended) {
            this.idle.push(lane);
          } else {
            this.opened--;
            if (lane) this.retire(lane);
          }
          this.waiters.shift()?.();
        },
        () => {
          this.opened--;
          this.waiters.shift()?.();
        },
      );
    }
  }

  /** Give a lane back (a broken one, or one over the pool's size, is dropped). */
  release(lane: L): void {
    if (lane.closed || this.ended || this.opened > this.max) {
      this.opened--;
      lane.destroy();
    } else {
      this.idle.push(lane);
    }
    this.waiters.shift()?.();
  }

  get size(): number {
    return this.max;
  }

  /** Open lanes, idle or lent out. */
  get openLanes(): number {
    return this.opened;
  }

  /**
   * Resize: growing lets waiting transfers open lanes at once; shrinking closes idle lanes
   * now and busy ones as they are given back.
   */
  resize(n: number): void {
    const max = this.clamp(n);
    const grew = max - this.max;
    this.max = max;
    for (let i = 0; i < grew; i++) this.waiters.shift()?.();
    while (this.opened > this.max && this.idle.length > 0) {
      this.retire(this.idle.pop()!);
      this.opened--;
    }
  }

  /** Close the idle lanes (their connection is gone): their places are free again. */
  dropIdle(): void {
    for (const lane of this.idle.splice(0)) {
      this.opened--;
      lane.destroy();
    }
  }

  /** The session ended: idle lanes close, waiters stop waiting (and see the end). */
  close(): void {
    this.ended = true;
    for (const lane of this.idle.splice(0)) {
      this.opened--;
      this.retire(lane);
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
