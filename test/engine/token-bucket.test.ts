/**
 * The token bucket behind speed limits (engine/queue/rate-limit.ts), on a clock of our
 * own: debt and waiting, order, a limit changed while transfers wait, cancel, and pieces.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket, pacedSource } from '../../engine/queue/rate-limit.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => vi.useRealTimers());

/** A bucket on the fake clock (Date.now moves with the fake timers). */
const bucket = (limit: number): TokenBucket => {
  const b = new TokenBucket(() => Date.now());
  b.setLimit(limit);
  return b;
};
const advance = (ms: number): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);

describe('TokenBucket', () => {
  it('costs nothing without a limit: every take may go at once', () => {
    const b = bucket(0);
    for (let i = 0; i < 1000; i++) expect(b.take(1024 * 1024)).toBeNull();
  });

  it('moves exactly the limit over time: a request goes when the bucket is out of debt', async () => {
    const b = bucket(100_000); // 100 kB/s
    let moved = 0;
    let stop = false;
    const mover = (async () => {
      while (!stop) {
        const wait = b.take(10_000);
        if (wait) await wait;
        moved += 10_000;
      }
    })();
    await advance(10_000);
    stop = true;
    // 10 s at 100 kB/s, plus the one request let through in debt at the start.
    expect(moved).toBeGreaterThanOrEqual(1_000_000);
    expect(moved).toBeLessThanOrEqual(1_010_000);
    await advance(1000);
    await mover;
  });

  it('lets waiters go in the order they asked', async () => {
    const b = bucket(1000);
    expect(b.take(1000)).toBeNull(); // in debt for 1 s now
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => b.take(500)!.then(() => order.push(n)));
    expect(b.waiting).toBe(3);
    await advance(999);
    expect(order).toEqual([]);
    await advance(1);
    expect(order).toEqual([1]);
    await advance(500);
    expect(order).toEqual([1, 2]);
    await advance(500);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
  });

  it('applies a new limit to waiting transfers at once, and lifting it frees them all', async () => {
    const b = bucket(1000);
    expect(b.take(1000)).toBeNull();
    let went = false;
    const wait = b.take(1000)!.then(() => (went = true));
    await advance(100);
    b.setLimit(1_000_000); // the debt left (900 B) is paid in under a millisecond now
    await advance(2);
    expect(went).toBe(true);
    await wait;

    const slow = bucket(10);
    expect(slow.take(4096)).toBeNull();
    const waiting = [slow.take(10)!, slow.take(10)!];
    slow.setLimit(0);
    await Promise.all(waiting);
    expect(slow.waiting).toBe(0);
  });

  it('forgives debt beyond one bucket when the limit drops, so a fast piece is not paid for with a long stall', async () => {
    const b = bucket(10_000_000);
    expect(b.take(300_000)).toBeNull();
    b.setLimit(10_000); // a bucket of 4096 B (the minimum) at this limit
    let went = false;
    void b.take(1)!.then(() => (went = true));
    await advance(400);
    expect(went).toBe(false);
    await advance(20);
    expect(went).toBe(true);
  });

  it('keeps no more than a fifth of a second after an idle spell (a small burst)', async () => {
    const b = bucket(100_000);
    await advance(60_000);
    expect(b.take(20_000)).toBeNull();
    expect(b.take(1)).toBeNull(); // exactly empty now: may still go, into debt
    expect(b.take(1)).not.toBeNull();
  });

  it('a cancelled waiter leaves the line without paying, and the next one takes its turn', async () => {
    const b = bucket(1000);
    expect(b.take(1000)).toBeNull();
    const controller = new AbortController();
    const first = b.take(5000, controller.signal)!;
    let second = false;
    void b.take(10)!.then(() => (second = true));
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: 'ECANCELED' });
    await advance(1000);
    expect(second).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    await expect(b.take(10, aborted.signal)!).rejects.toMatchObject({ code: 'ECANCELED' });
  });
});

describe('pacedSource', () => {
  async function* chunks(sizes: number[]): AsyncGenerator<Buffer> {
    for (const n of sizes) yield Buffer.alloc(n, n % 251);
  }

  it('passes chunks through whole without a bucket or a limit', async () => {
    for (const b of [undefined, bucket(0)]) {
      const released: number[] = [];
      const paced = pacedSource(() => chunks([1000, 2000]), b, undefined, (c) => released.push(c.length));
      const seen: number[] = [];
      for await (const c of paced.source()) {
        seen.push(c.length);
        paced.done(c);
      }
      expect(seen).toEqual([1000, 2000]);
      expect(released).toEqual([1000, 2000]);
    }
  });

  it('sends a chunk in pieces while limited, and gives the whole chunk back once every piece is done', async () => {
    const b = bucket(32 * 65536); // pieces of 64 KiB
    const released: Buffer[] = [];
    const source = Buffer.alloc(1024 * 1024, 7);
    const paced = pacedSource(async function* () { yield source; }, b, undefined, (c) => released.push(c));
    const pieces: Buffer[] = [];
    const reading = (async () => {
      for await (const piece of paced.source()) pieces.push(piece);
    })();
    await advance(1000);
    await reading;
    expect(pieces.map((p) => p.length)).toEqual(new Array(16).fill(65536));
    expect(Buffer.concat(pieces).equals(source)).toBe(true);
    for (const piece of pieces.slice(0, -1)) paced.done(piece);
    expect(released).toEqual([]);
    paced.done(pieces.at(-1)!);
    expect(released).toHaveLength(1);
    expect(released[0]).toBe(source);
  });
});
