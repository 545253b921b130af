/**
 * Speed limits: one token bucket per direction, shared by every transfer of the app (the
 * CLI makes its own). A transfer asks for its bytes before it moves them and awaits the
 * answer, so a limit is backpressure on the source (uploads) or the sink (downloads),
 * never a buffer. The limit may change at any moment; 0 means none and costs nothing.
 */
import { FerryError } from '../../shared/common/errors.js';
import type { TransferDirection } from '../../shared/common/transfer-model.js';

/** The most a bucket holds after an idle spell: a fifth of a second of the limit (smooth, yet a late timer loses nothing). */
const BURST_SECONDS = 0.2;
/** A bucket holds at least this much, so a very low limit still moves a useful piece at a time. */
const MIN_BURST = 4096;

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * A token bucket in bytes. take() lets the first waiter in line go as soon as the bucket
 * is not in debt, and charges its bytes (which may put it in debt): a request bigger than
 * the bucket still moves, and the average over time is the limit exactly. Waiters go in
 * the order they asked, so transfers sharing the bucket share the rate.
 */
export class TokenBucket {
  private rate = 0;
  private tokens = 0;
  private last = 0;
  private readonly waiters: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Bytes per second; 0 when there is no limit. */
  get limit(): number {
    return this.rate;
  }

  /**
   * Change the limit now: waiting transfers go faster or slower at once. Debt run up at
   * the old limit is forgiven beyond one bucket of the new one (a piece sent fast is not
   * paid for with a long stall at a much lower limit).
   */
  setLimit(bytesPerSecond: number): void {
    const rate = Math.max(0, Math.floor(bytesPerSecond));
    if (rate === this.rate) return;
    if (this.rate > 0) this.refill();
    else {
      // Limited from now on: start empty, so the first second moves no more than the limit.
      this.tokens = 0;
      this.last = this.now();
    }
    this.rate = rate;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (rate > 0) {
      const burst = this.burst();
      this.tokens = Math.max(-burst, Math.min(burst, this.tokens));
    }
    this.grant();
  }

  /**
   * Ask for `bytes` before moving them: null when they may move now (always, without a
   * limit), else a promise to await. It rejects with ECANCELED when `signal` aborts first.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> | null {
    if (this.rate === 0 || bytes <= 0) return null;
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 0) {
      this.tokens -= bytes;
      return null;
    }
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled());
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(cancelled());
          // The one at the head may have gone: the next one's turn may be now.
          this.grant();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** How many transfers are waiting for their turn (for tests). */
  get waiting(): number {
    return this.waiters.length;
  }

  private burst(): number {
    return Math.max(MIN_BURST, this.rate * BURST_SECONDS);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst(), this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
  }

  /** Let waiters go while the bucket allows, then wake up when the next one may. */
  private grant(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rate > 0) this.refill();
    while (this.waiters.length > 0 && (this.rate === 0 || this.tokens >= 0)) {
      const waiter = this.waiters.shift()!;
      if (this.rate > 0) this.tokens -= waiter.bytes;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.waiters.length === 0 || this.rate === 0) return;
    const ms = Math.max(1, Math.ceil((-this.tokens * 1000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.grant();
    }, ms);
  }
}

const cancelled = (): FerryError => new FerryError('ECANCELED', 'the transfer was cancelled');

/** The limits in bytes per second (0: none), as settings hold them. */
export interface SpeedLimits {
  readonly uploadLimit: number;
  readonly downloadLimit: number;
}

/** The app's two buckets: one for uploads, one for downloads. */
export class RateLimits {
  readonly upload = new TokenBucket();
  readonly download = new TokenBucket();
  private changed = false;

  set(limits: SpeedLimits): void {
    this.changed = true;
    this.upload.setLimit(limits.uploadLimit);
    this.download.setLimit(limits.downloadLimit);
  }

  /** The limits saved last time, read at start: a change made since wins over them. */
  setSaved(limits: SpeedLimits): void {
    if (!this.changed) this.set(limits);
  }

  of(direction: TransferDirection): TokenBucket {
    return direction === 'upload' ? this.upload : this.download;
  }
}

/**
 * `bucket`'s leave for `bytes`: null when they may move now (no bucket, no limit), else a
 * promise to await. Not async, so an unlimited transfer does not pay a turn per chunk.
 */
export function paceBytes(bucket: TokenBucket | undefined, bytes: number, signal?: AbortSignal): Promise<void> | null {
  return bucket?.take(bytes, signal) ?? null;
}

/** The largest piece a limited upload sends at once: about 1/32 s of the limit, so its rate is smooth. */
function pieceSize(rate: number): number {
  return Math.max(MIN_BURST, Math.min(256 * 1024, Math.floor(rate / 32)));
}

/**
 * An upload's source, paced by `bucket`: while a limit is on, each chunk goes out in
 * pieces, each one waited for. `release` gets each whole chunk back once the transport is
 * done with all its pieces (call the returned `done` where the transport gives pieces back).
 */
export function pacedSource(
  source: () => AsyncIterable<Buffer>,
  bucket: TokenBucket | undefined,
  signal: AbortSignal | undefined,
  release: (chunk: Buffer) => void,
): { source: () => AsyncIterable<Buffer>; done: (piece: Buffer) => void } {
  const owners = new Map<Buffer, { chunk: Buffer; left: number }>();
  const done = (piece: Buffer): void => {
    const owner = owners.get(piece);
    if (owner === undefined) return release(piece);
    owners.delete(piece);
    if (--owner.left === 0) release(owner.chunk);
  };
  if (bucket === undefined) return { source, done };
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of source()) {
      const rate = bucket!.limit;
      const size = pieceSize(rate);
      if (rate === 0 || chunk.length <= size) {
        const wait = paceBytes(bucket, chunk.length, signal);
        if (wait) await wait;
        yield chunk;
        continue;
      }
      const owner = { chunk, left: Math.ceil(chunk.length / size) };
      for (let at = 0; at < chunk.length; at += size) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + size));
        owners.set(piece, owner);
        const wait = paceBytes(bucket, piece.length, signal);
        if (wait) await wait;
        yield piece;
      }
    }
  }
  return { source: paced, done };
}
