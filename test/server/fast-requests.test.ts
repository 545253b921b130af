/**
 * The hand-written checks of the hot requests (server/fast-requests.ts) must accept
 * exactly what the zod schemas accept, and build the same request: compared on every
 * edge value and on many random headers.
 */
import { describe, expect, it } from 'vitest';
import type { FrameHeader } from '../../shared/common/frame.js';
import { Request } from '../../shared/common/messages.js';
import { fastRequest } from '../../server/fast-requests.js';

const numbers: unknown[] = [0, -0, 1, 7, -1, 1.5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), Infinity, -Infinity, NaN, 1e300, '5', null, true, undefined];
const strings: unknown[] = ['', 'a', 'docs/a.bin', '/x', 'x'.repeat(4096), 'x'.repeat(4097), 'é'.repeat(10), 5, null, undefined, ['a']];
const hashes: unknown[] = ['a'.repeat(64), '0123456789abcdef'.repeat(4), 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), 12, undefined];
const policies: unknown[] = ['overwrite', 'fail', 'skip', 'rename', 'OVERWRITE', '', 1, null, undefined];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A small deterministic generator (the test must fail the same way every time). */
function generator(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

function header(random: () => number): FrameHeader {
  const type = pick(['put', 'put-end', 'read', 'get', 'list'], random);
  const h: Record<string, unknown> = { type };
  // Mostly valid values, so that both ways are taken often.
  const maybe = (key: string, values: readonly unknown[], valid: readonly unknown[]): void => {
    if (random() < 0.9) {
      const v = random() < 0.8 ? pick(valid, random) : pick(values, random);
      if (v !== undefined) h[key] = v;
    }
  };
  const counts = [0, 1, 4096, 2 ** 53 - 1];
  maybe('id', numbers, counts);
  maybe('path', strings, ['a', 'docs/a.bin', 'x'.repeat(4096)]);
  maybe('offset', numbers, counts);
  maybe('total', numbers, counts);
  maybe('size', numbers, counts);
  maybe('exists', policies, ['overwrite', 'fail', 'skip', 'rename']);
  maybe('mtime', numbers, [0, 1.5, -3, 1e300]);
  maybe('sha256', hashes, ['a'.repeat(64)]);
  maybe('max', numbers, counts);
  if (random() < 0.2) h.extra = 'ignored';
  return h as FrameHeader;
}

/** True when the fast path took it. */
function compare(h: FrameHeader): boolean {
  const fast = fastRequest(h);
  const zod = Request.safeParse(h);
  if (fast !== undefined) {
    expect(zod.success, JSON.stringify(h)).toBe(true);
    expect(fast).toEqual(zod.data);
  } else if (h.type === 'put' || h.type === 'put-end' || h.type === 'read') {
    // Not taken by the fast path: the schema must refuse it too.
    expect(zod.success, JSON.stringify(h)).toBe(false);
  }
  return fast !== undefined;
}

describe('fastRequest', () => {
  it('takes the usual put, put-end and read exactly as the schema parses them', () => {
    const put = { type: 'put', id: 3, path: 'a/b.bin', offset: 0, total: 4096, size: 4096, exists: 'overwrite', mtime: 1732406400000.5 };
    expect(fastRequest(put)).toEqual(Request.parse(put));
    const end = { type: 'put-end', id: 3, sha256: 'ab'.repeat(32), stray: 1 };
    expect(fastRequest(end)).toEqual(Request.parse(end));
    expect(fastRequest(end)).not.toHaveProperty('stray');
    const read = { type: 'read', id: 9, path: '/x', max: 262144 };
    expect(fastRequest(read)).toEqual(Request.parse(read));
    expect(fastRequest({ type: 'list', id: 1 })).toBeUndefined();
  });

  it('agrees with the schema on 50,000 random headers (valid ones among them)', () => {
    const random = generator(20261124);
    let taken = 0;
    for (let i = 0; i < 50_000; i++) if (compare(header(random))) taken++;
    expect(taken).toBeGreaterThan(100);
  });
});
