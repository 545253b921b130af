/**
 * FrameReader over a stream: headers are parsed only when asked for, received bytes are
 * bounded by the marks its owner sets (the socket is paused beyond them), the limits can
 * change between frames, and stop() reads nothing more.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PassThrough } from 'node:stream';
import { encodeFrame } from '../../shared/common/frame.js';
import { FrameReader } from '../../shared/node/frame-stream.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function pings(count: number, pad = ''): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, id) => encodeFrame({ type: 'ping', id, pad })));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('FrameReader', () => {
  it('parses a header only when next() asks for it', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket);
    const parse = vi.spyOn(JSON, 'parse');
    socket.write(pings(500));
    await turn();
    expect(parse).not.toHaveBeenCalled();
    expect((await reader.next())?.id).toBe(0);
    expect((await reader.next())?.id).toBe(1);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('pauses the socket once the bytes waiting between frames reach the header mark, and resumes as they are taken', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket, { headerWaterMark: 4096 });
    const frames = pings(100, 'x'.repeat(60));
    socket.write(frames);
    await turn();
    expect(socket.isPaused()).toBe(true);
    let taken = 0;
    while (taken < 100) {
      expect((await reader.next())?.id).toBe(taken);
      taken++;
    }
    expect(socket.isPaused()).toBe(false);
  });

  it('reads a body up to the body mark, which is higher than the header mark', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket, { headerWaterMark: 1024, highWaterMark: 256 * 1024 });
    socket.write(encodeFrame({ type: 'put', id: 1 }, Buffer.alloc(64 * 1024, 1)));
    const header = await reader.next();
    expect(header?.size).toBe(64 * 1024);
    await turn();
    // 64 KiB of body waits: below the body mark, so the socket keeps reading.
    expect(socket.isPaused()).toBe(false);
    expect((await reader.readBody(64 * 1024, 64 * 1024)).length).toBe(64 * 1024);
  });

  it('applies a new header cap from the next frame on', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket, { maxHeader: 256 });
    socket.write(encodeFrame({ type: 'hello', id: 0 }));
    socket.write(encodeFrame({ type: 'list', id: 1, path: 'p'.repeat(1000) }, undefined, 4096));
    expect((await reader.next())?.type).toBe('hello');
    reader.setLimits({ maxHeader: 4096 });
    expect((await reader.next())?.type).toBe('list');

    const strict = new FrameReader(new PassThrough().end(encodeFrame({ type: 'list', id: 1, path: 'p'.repeat(1000) }, undefined, 4096)), { maxHeader: 256 });
    await expect(strict.next()).rejects.toMatchObject({ code: 'ETOOBIG' });
  });

  it('after stop() reads nothing more: what waits is dropped, and the socket stays paused', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket);
    const parse = vi.spyOn(JSON, 'parse');
    socket.write(pings(10));
    await turn();
    reader.stop();
    socket.write(pings(10));
    await turn();
    expect(socket.isPaused()).toBe(true);
    await expect(reader.next()).rejects.toMatchObject({ code: 'ECONN' });
    expect(parse).not.toHaveBeenCalled();
  });
});
