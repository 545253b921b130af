/** The Settings dialog's speed limit drafts (renderer/src/logic/speed-limit.ts). */
import { describe, expect, it } from 'vitest';
import { draftOf, limitOf } from '../../renderer/src/logic/speed-limit.js';

describe('speed limit drafts', () => {
  it('reads an amount and a unit as bytes per second; empty or 0 is no limit', () => {
    expect(limitOf({ amount: '', unit: 'MiB' })).toBe(0);
    expect(limitOf({ amount: ' 0 ', unit: 'KiB' })).toBe(0);
    expect(limitOf({ amount: '500', unit: 'KiB' })).toBe(512_000);
    expect(limitOf({ amount: '1.5', unit: 'MiB' })).toBe(1.5 * 1024 * 1024);
  });

  it('refuses what is not an amount', () => {
    for (const amount of ['-1', 'abc', '1e3', '0.0000001', '99999999']) expect(limitOf({ amount, unit: 'MiB' }), amount).toBeNull();
  });

  it('shows a saved limit in the unit it reads best in, and back to the same bytes', () => {
    expect(draftOf(0)).toEqual({ amount: '', unit: 'MiB' });
    expect(draftOf(2 * 1024 * 1024)).toEqual({ amount: '2', unit: 'MiB' });
    expect(draftOf(512_000)).toEqual({ amount: '500', unit: 'KiB' });
    for (const bytes of [1024, 300 * 1024, 1024 * 1024, 5.5 * 1024 * 1024]) expect(limitOf(draftOf(bytes))).toBe(bytes);
  });
});
