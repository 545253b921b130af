/** The queue's totals (engine/queue/queue-totals.ts): the one definition every front end shows. */
import { describe, expect, it } from 'vitest';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { queueTotals } from '../../engine/queue/queue-totals.js';

const row = (state: TransferView['state'], bytes: number, size = 1000) => ({ state, bytes, size });

describe('queue totals', () => {
  it('count rows by state and the bytes of the work', () => {
    const totals = queueTotals([
      row('done', 1000),
      row('active', 250),
      row('verifying', 1000),
      row('queued', 0),
      row('failed', 0),
      row('cancelled', 10),
      row('paused', 100),
    ]);
    expect(totals).toEqual({
      count: 7,
      queued: 1,
      active: 2,
      paused: 1,
      done: 1,
      failed: 1,
      cancelled: 1,
      unfinished: 4,
      bytes: 2350,
      size: 6000,
    });
  });

  it('a skipped file counts as done but its bytes are not part of the work', () => {
    const totals = queueTotals([row('done', 1000), row('skipped', 0, 5000)]);
    expect(totals).toMatchObject({ count: 2, done: 2, unfinished: 0, bytes: 1000, size: 1000 });
    // So the overall progress of a finished queue is 100 %.
    expect(totals.bytes / totals.size).toBe(1);
  });

  it('an empty queue is all zeros', () => {
    expect(Object.values(queueTotals([])).every((n) => n === 0)).toBe(true);
  });
});
