/** The lane pool every Remote uses: bounded, resizable, broken lanes dropped, closed for good. */
import { describe, expect, it } from 'vitest';
import { toFerryError } from '../../shared/common/errors.js';
import { LanePool } from '../../engine/remote/lane-pool.js';

class FakeLane {
  closed = false;
  retired = false;
  constructor(readonly id: number) {}
  destroy(): void {
    this.closed = true;
  }
}

function pool(size: number, limit?: number): { pool: LanePool<FakeLane>; made: FakeLane[] } {
  const made: FakeLane[] = [];
  const p = new LanePool<FakeLane>(
    async () => {
      const lane = new FakeLane(made.length);
      made.push(lane);
      return lane;
    },
    size,
    limit,
    (lane) => {
      lane.retired = true;
      lane.destroy();
    },
  );
  return { pool: p, made };
}

describe('LanePool', () => {
  it('opens lanes up to its size, then lends the idle ones, and waiters get a lane as one is given back', async () => {
    const { pool: p, made } = pool(2);
    const a = await p.acquire();
    const b = await p.acquire();
    let third: FakeLane | undefined;
    const waiting = p.acquire().then((l) => (third = l));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    p.release(a);
    await waiting;
    expect(third).toBe(a);
    expect(made).toHaveLength(2);
    p.release(b);
    expect(p.openLanes).toBe(2);
  });

  it('drops a broken lane instead of lending it again, and opens a fresh one', async () => {
    const { pool: p, made } = pool(1);
    const a = await p.acquire();
    a.destroy();
    p.release(a);
    expect(p.openLanes).toBe(0);
    const b = await p.acquire();
    expect(b).not.toBe(a);
    expect(made).toHaveLength(2);
    // A lane that broke while idle is noticed when it would be lent.
    p.release(b);
    b.destroy();
    const c = await p.acquire();
    expect(c.id).toBe(2);
    expect(p.openLanes).toBe(1);
  });

  it('resizes within its limit: shrinking retires idle lanes now and busy ones when given back', async () => {
    const { pool: p } = pool(3, 4);
    const lanes = [await p.acquire(), await p.acquire(), await p.acquire()];
    p.release(lanes[0]!);
    p.resize(1);
    expect(lanes[0]!.retired).toBe(true);
    p.release(lanes[1]!);
    expect(lanes[1]!.closed).toBe(true);
    p.release(lanes[2]!);
    expect(lanes[2]!.closed).toBe(false);
    expect(p.openLanes).toBe(1);
    p.resize(100);
    expect(p.size).toBe(4);
    p.resize(0);
    expect(p.size).toBe(1);
  });

  it('close retires idle lanes, wakes waiters with ECANCELED and refuses new borrowers', async () => {
    const { pool: p } = pool(1);
    const a = await p.acquire();
    const waiter = p.acquire().catch((e: unknown) => toFerryError(e).code);
    p.close();
    expect(await waiter).toBe('ECANCELED');
    p.release(a);
    expect(a.closed).toBe(true);
    expect(toFerryError(await p.acquire().catch((e: unknown) => e)).code).toBe('ECANCELED');
  });
});
