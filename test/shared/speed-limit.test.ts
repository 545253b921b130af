/** curl-style rates for `ferry --limit-rate` (shared/common/speed-limit.ts). */
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../shared/common/speed-limit.js';

describe('parseRate', () => {
  it('reads bytes, and K, M, G as powers of 1024 in either case, as curl does', () => {
    expect(parseRate('1000')).toBe(1000);
    expect(parseRate('500K')).toBe(500 * 1024);
    expect(parseRate('500k')).toBe(500 * 1024);
    expect(parseRate('2M')).toBe(2 * 1024 * 1024);
    expect(parseRate('1.5m')).toBe(1.5 * 1024 * 1024);
    expect(parseRate('1G')).toBe(1024 ** 3);
    expect(parseRate(' 64K ')).toBe(65536);
    expect(parseRate('0')).toBe(0);
  });

  it('refuses what is not a rate, with EINVAL and a hint', () => {
    for (const bad of ['', 'fast', '-1K', '10KB', '2 M', '1T', 'K', '1e6', '0.1']) {
      expect(() => parseRate(bad), bad).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(() => parseRate('2000G')).toThrow(/highest/);
    expect(() => parseRate('x')).toThrow(/500K/);
  });
});
