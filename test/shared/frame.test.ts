import { describe, it, expect } from 'vitest';
import { FrameDecoder, MAX_HEADER_VALUES, encodeFrame, encodeHeader, parseHeader, type FrameHeader } from '../../shared/common/frame.js';
import { FerryError } from '../../shared/common/errors.js';

interface Decoded {
  header: FrameHeader;
  body: Uint8Array;
}

function collector(): { frames: Decoded[]; decoder: FrameDecoder } {
  const frames: Decoded[] = [];
  let current: { header: FrameHeader; parts: Uint8Array[] } | undefined;
  const decoder = new FrameDecoder({
    header(header) {
      if ((header.size ?? 0) > 0) current = { header, parts: [] };
      else frames.push({ header, body: new Uint8Array(0) });
    },
    body(chunk) {
      current!.parts.push(chunk.slice());
    },
    bodyEnd() {
      const size = current!.parts.reduce((n, p) => n + p.length, 0);
      const body = new Uint8Array(size);
      let at = 0;
      for (const p of current!.parts) {
        body.set(p, at);
        at += p.length;
      }
      frames.push({ header: current!.header, body });
      current = undefined;
    },
  });
  return { frames, decoder };
}

const enc = new TextEncoder();

function sampleStream(): { bytes: Uint8Array; expected: Decoded[] } {
  const expected: Decoded[] = [
    { header: { type: 'list', id: 1, path: '/' }, body: new Uint8Array(0) },
    { header: { type: 'put', id: 2, path: '/a', size: 11 }, body: enc.encode('hello world') },
    { header: { type: 'pwd', id: 3, note: 'ünïcødé ✓' }, body: new Uint8Array(0) },
    { header: { type: 'data', id: 4, size: 1 }, body: new Uint8Array([0]) },
  ];
  const parts = expected.map((f) => encodeFrame(f.header, f.body.length ? f.body : undefined));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, expected };
}

describe('frame codec', () => {
  it('writes a u32 little-endian header length, as struct.pack("<I") does', () => {
    const head = encodeHeader({ type: 'pwd', id: 7 });
    const json = JSON.stringify({ type: 'pwd', id: 7 });
    expect([...head.subarray(0, 4)]).toEqual([json.length, 0, 0, 0]);
    expect(new TextDecoder().decode(head.subarray(4))).toBe(json);
  });

  it('decodes the same frames whatever the split: one cut at every byte offset', () => {
    const { bytes, expected } = sampleStream();
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { frames, decoder } = collector();
      decoder.push(bytes.subarray(0, cut));
      decoder.push(bytes.subarray(cut));
      expect(frames).toEqual(expected);
      expect(decoder.idle).toBe(true);
    }
  });

  it('decodes a stream fed one byte at a time, and two cuts at every pair of offsets', () => {
    const { bytes, expected } = sampleStream();
    const single = collector();
    for (let i = 0; i < bytes.length; i++) single.decoder.push(bytes.subarray(i, i + 1));
    expect(single.frames).toEqual(expected);
    for (let a = 0; a < bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) {
        const { frames, decoder } = collector();
        decoder.push(bytes.subarray(0, a));
        decoder.push(bytes.subarray(a, b));
        decoder.push(bytes.subarray(b));
        expect(frames).toEqual(expected);
      }
    }
  });

  it('passes body bytes through without copying them', () => {
    const seen: Uint8Array[] = [];
    const decoder = new FrameDecoder({ header() {}, body: (c) => seen.push(c), bodyEnd() {} });
    const frame = encodeFrame({ type: 'data', id: 1 }, new Uint8Array(1000).fill(7));
    decoder.push(frame);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.buffer).toBe(frame.buffer);
  });

  it('refuses a header length above the cap before allocating it', () => {
    const { decoder } = collector();
    const bytes = new Uint8Array([0xff, 0xff, 0xff, 0x7f]);
    expect(() => decoder.push(bytes)).toThrowError(expect.objectContaining({ code: 'ETOOBIG' }));
    // Once failed, the decoder ignores everything after (no growth, no second error).
    expect(() => decoder.push(new Uint8Array(1 << 20))).not.toThrow();
    expect(decoder.error?.code).toBe('ETOOBIG');
  });

  it('honours a custom header cap', () => {
    const frames: FrameHeader[] = [];
    const decoder = new FrameDecoder({ header: (h) => void frames.push(h), body() {}, bodyEnd() {} }, 32);
    decoder.push(encodeHeader({ type: 'x', id: 1 }));
    expect(frames).toHaveLength(1);
    expect(() => decoder.push(encodeHeader({ type: 'x', id: 2, pad: 'y'.repeat(64) }))).toThrow(FerryError);
    expect(() => encodeHeader({ type: 'x', pad: 'y'.repeat(64) }, 32)).toThrowError(expect.objectContaining({ code: 'ETOOBIG' }));
  });

  const malformed: Array<[string, string]> = [
    ['not JSON', '{nope'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
    ['no type', '{"id":1}'],
    ['an empty type', '{"type":""}'],
    ['a negative size', '{"type":"x","size":-1}'],
    ['a fractional size', '{"type":"x","size":1.5}'],
    ['a string id', '{"type":"x","id":"1"}'],
    ['a size beyond 2^53', '{"type":"x","size":1e300}'],
  ];
  for (const [what, json] of malformed) {
    it(`answers a header with ${what} with EPROTO`, () => {
      const { decoder, frames } = collector();
      const body = enc.encode(json);
      const bytes = new Uint8Array(4 + body.length);
      new DataView(bytes.buffer).setUint32(0, body.length, true);
      bytes.set(body, 4);
      expect(() => decoder.push(bytes)).toThrowError(expect.objectContaining({ code: 'EPROTO' }));
      expect(frames).toHaveLength(0);
    });
  }

  it('refuses invalid UTF-8 and a zero-length header', () => {
    const bad = collector();
    expect(() => bad.decoder.push(new Uint8Array([2, 0, 0, 0, 0xc3, 0x28]))).toThrowError(
      expect.objectContaining({ code: 'EPROTO' }),
    );
    const zero = collector();
    expect(() => zero.decoder.push(new Uint8Array([0, 0, 0, 0]))).toThrowError(expect.objectContaining({ code: 'EPROTO' }));
  });

  it('refuses a header of more than MAX_HEADER_VALUES objects, arrays and items, before parsing it', () => {
    const items = (n: number): Uint8Array => enc.encode(`{"type":"ping","pad":[${Array(n).fill('[]').join(',')}]}`);
    // n items count 2n + 2: the header's object, its pad array, a comma between its fields,
    // each item's opening and the commas between items.
    expect(() => parseHeader(items((MAX_HEADER_VALUES - 2) / 2))).not.toThrow();
    expect(() => parseHeader(items(MAX_HEADER_VALUES))).toThrowError(expect.objectContaining({ code: 'ETOOBIG' }));
    expect(() => parseHeader(enc.encode(`{"type":"x","deep":${'['.repeat(300)}${']'.repeat(300)}}`))).toThrowError(
      expect.objectContaining({ code: 'ETOOBIG' }),
    );
    // What is inside strings is not structure, escaped quotes included.
    const name = 'a,b[c{d\\"e,'.repeat(1000);
    expect(parseHeader(enc.encode(JSON.stringify({ type: 'stat', id: 1, path: name }))).path).toBe(name);
  });

  it('stops after a header or a body end when its sink says so, and tells how many bytes it took', () => {
    const seen: string[] = [];
    const decoder = new FrameDecoder({
      header: (h) => {
        seen.push(h.type);
        return false;
      },
      body: (c) => void seen.push(`body ${c.length}`),
      bodyEnd: () => {
        seen.push('end');
        return false;
      },
    });
    const first = encodeFrame({ type: 'put', id: 1 }, new Uint8Array(10));
    const second = encodeFrame({ type: 'pwd', id: 2 });
    const bytes = new Uint8Array([...first, ...second]);
    const afterHeader = decoder.push(bytes);
    expect(seen).toEqual(['put']);
    const afterBody = afterHeader + decoder.push(bytes.subarray(afterHeader));
    expect(afterBody).toBe(first.length);
    expect(seen).toEqual(['put', 'body 10', 'end']);
    expect(decoder.push(bytes.subarray(afterBody))).toBe(second.length);
    expect(seen).toEqual(['put', 'body 10', 'end', 'pwd']);
    expect(decoder.idle).toBe(true);
  });

  it('never crashes on random garbage: it either decodes frames or fails with a stable code', () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 500; round++) {
      const bytes = new Uint8Array(1 + Math.floor(rand() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      if (round % 2 === 0) bytes.set([bytes.length & 0x3f, 0, 0, 0]); // plausible small lengths too
      const { decoder } = collector();
      try {
        decoder.push(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(FerryError);
        expect(['EPROTO', 'ETOOBIG']).toContain((err as FerryError).code);
      }
    }
  });
});
