/** ByteBudget: reservations wait for room, one too big runs alone, a close frees the waiters. */
import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../server/byte-budget.js';

/** Resolves to true if `p` settles within a few turns of the event loop. */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 20));
  return Promise.race([p.then(() => true, () => true), timeout]);
}

describe('ByteBudget', () => {
  it('makes a reservation wait until enough is given back', async () => {
    const budget = new ByteBudget(100);
    await budget.reserve(60);
    await budget.reserve(40);
    const third = budget.reserve(10);
    expect(await settlesSoon(third)).toBe(false);
    budget.release(40);
    expect(await settlesSoon(third)).toBe(true);
    expect(budget.bytes).toBe(70);
  });

  it('lets one reservation bigger than the whole budget run, alone', async () => {
    const budget = new ByteBudget(100);
    await budget.reserve(500);
    const next = budget.reserve(1);
    expect(await settlesSoon(next)).toBe(false);
    budget.release(500);
    expect(await settlesSoon(next)).toBe(true);
  });

  it('fails the waiting reservations with ECONN once closed', async () => {
    const budget = new ByteBudget(10);
    await budget.reserve(10);
    const waiting = budget.reserve(5);
    budget.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ECONN' });
  });
});
