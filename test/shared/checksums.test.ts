/**
 * The transfer checks' hashing (shared/node/checksums.ts): XXH3-128 gives the canonical
 * hex that `xxhsum -H2` (Debian's xxhash 0.8.1) prints, fed whole or in any chunking,
 * through a pooled hasher or a fresh one; SHA-256 is node:crypto's; and a local file
 * hashes to the same digests.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCheckHash, digestOfBytes, hashLocalFile, xxhHashersMade } from '../../shared/node/checksums.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';
import { afterAll } from 'vitest';

afterAll(cleanupAll);

/** 3 MiB + 5 bytes: byte i is (31i + 7) mod 251. */
function pattern(): Buffer {
  const n = 3 * 1024 * 1024 + 5;
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) % 251;
  return b;
}

// Printed by `xxhsum -H2` (and `sha256sum`) for the same bytes.
const VECTORS: Array<{ name: string; data: () => Buffer; xxh128: string; sha256?: string }> = [
  { name: 'empty', data: () => Buffer.alloc(0), xxh128: '99aa06d3014798d86001c324468d497f' },
  { name: '"hello world"', data: () => Buffer.from('hello world'), xxh128: 'df8d09e93f874900a99b8775cc15b6c7' },
  { name: '"small file\\n"', data: () => Buffer.from('small file\n'), xxh128: '14232dd909529dfb8d91a62a8700c4a5' },
  {
    name: '3 MiB pattern',
    data: pattern,
    xxh128: '8e91b070331cdf72018aae0bffeaf12a',
    sha256: '0c413e80a4d8c904546482f7a4208a5f7f9504468c13f354d30016696ebd9eb2',
  },
];

describe('checksums', () => {
  for (const v of VECTORS) {
    it(`XXH3-128 of ${v.name} is what xxhsum -H2 prints, whole or in chunks`, async () => {
      const data = v.data();
      expect(await digestOfBytes(data, 'xxh128')).toEqual({ algorithm: 'xxh128', hex: v.xxh128 });
      for (const chunk of [1, 7, 65_536, 1024 * 1024]) {
        if (chunk === 1 && data.length > 4096) continue;
        const hash = createCheckHash('xxh128', data.length);
        expect(hash.algorithm).toBe('xxh128');
        for (let at = 0; at < data.length; at += chunk) await hash.update(data.subarray(at, at + chunk));
        expect(await hash.digest()).toBe(v.xxh128);
      }
      if (v.sha256) expect((await digestOfBytes(data, 'sha256')).hex).toBe(v.sha256);
    });
  }

  it('a hasher given back (digest or dispose) starts clean when reused; many at once do not mix', async () => {
    const a = Buffer.from('hello world');
    const hashes = Array.from({ length: 40 }, () => createCheckHash('xxh128', 11));
    await Promise.all(hashes.map((h, i) => h.update(i % 2 === 0 ? a : Buffer.alloc(0))));
    for (const [i, h] of hashes.entries()) {
      if (i % 3 === 0) h.dispose();
      else expect(await h.digest()).toBe(i % 2 === 0 ? VECTORS[1]!.xxh128 : VECTORS[0]!.xxh128);
    }
    const again = createCheckHash('xxh128', 11);
    await again.update(a);
    expect(await again.digest()).toBe(VECTORS[1]!.xxh128);
    // A disposed hash refuses more bytes rather than hashing into a reused state.
    const gone = createCheckHash('xxh128', 1);
    gone.dispose();
    await expect(gone.update(a)).rejects.toMatchObject({ code: 'ECANCELED' });
  });

  it('hundreds of small streams at once share the pooled hashers; a big one takes its own', async () => {
    const before = xxhHashersMade();
    const small = Array.from({ length: 500 }, () => createCheckHash('xxh128', 11));
    await Promise.all(small.map((h) => h.update(Buffer.from('hello world'))));
    for (const h of small) expect(await h.digest()).toBe(VECTORS[1]!.xxh128);
    // Each was hashed at its digest, one after another: at most one new instance.
    expect(xxhHashersMade() - before).toBeLessThanOrEqual(1);
    const data = VECTORS[3]!.data();
    const big = createCheckHash('xxh128', data.length);
    for (let at = 0; at < data.length; at += 100_000) await big.update(data.subarray(at, at + 100_000));
    expect(await big.digest()).toBe(VECTORS[3]!.xxh128);
    // Many big streams at once, their updates not awaited one by one (as a sender does):
    // the pool runs dry, hashers are made while bytes keep coming, and the order holds.
    const streams = Array.from({ length: 24 }, (_, i) => ({ hash: createCheckHash('xxh128', data.length), chunk: [1_048_576, 16_384, 250_000][i % 3]! }));
    await Promise.all(
      streams.map(async ({ hash, chunk }) => {
        const updates: Array<Promise<void>> = [];
        for (let at = 0; at < data.length; at += chunk) updates.push(hash.update(data.subarray(at, at + chunk)));
        await Promise.all(updates);
      }),
    );
    for (const { hash } of streams) expect(await hash.digest()).toBe(VECTORS[3]!.xxh128);
  });

  it('hashes bytes in shared memory (the pooled transfer buffers) as any others', async () => {
    const shared = Buffer.from(new SharedArrayBuffer(11));
    shared.write('hello world');
    const hash = createCheckHash('xxh128', 11);
    await hash.update(shared);
    expect(await hash.digest()).toBe(VECTORS[1]!.xxh128);
  });

  it('hashes a local file with either algorithm', async () => {
    const dir = await tempDir('ferry-checksums-');
    const file = path.join(dir, 'p.bin');
    const data = pattern();
    await writeFile(file, data);
    expect(await hashLocalFile(file, 'xxh128')).toEqual({ hex: VECTORS[3]!.xxh128, size: data.length });
    expect(await hashLocalFile(file, 'sha256')).toEqual({ hex: createHash('sha256').update(data).digest('hex'), size: data.length });
  });
});
