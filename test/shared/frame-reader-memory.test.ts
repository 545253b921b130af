/**
 * The FrameReader lets go of every body chunk once it is taken. Socket reads are fresh
 * buffers; a reader that kept taken chunks until its queue was compacted held up to 64 MiB
 * of them on plain TCP (the 1 GiB `--plain` receivers then peaked at 170–200 MB RSS).
 */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeHeader } from '../../shared/common/frame.js';
import { FrameReader } from '../../shared/node/frame-stream.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('FrameReader memory', () => {
  it('keeps no chunk it has handed out', async () => {
    const socket = new PassThrough();
    const reader = new FrameReader(socket);
    const pieces = 2000;
    const pieceSize = 1024;
    socket.write(encodeHeader({ type: 'data', id: 1, size: pieces * pieceSize }));
    // Each piece arrives on its own, as socket reads do.
    const taken: WeakRef<Buffer>[] = [];
    const header = reader.next();
    for (let i = 0; i < pieces; i++) socket.write(Buffer.alloc(pieceSize, i & 0xff));
    expect((await header)?.type).toBe('data');
    let bytes = 0;
    for await (const chunk of reader.body()) {
      bytes += chunk.length;
      taken.push(new WeakRef(chunk));
    }
    expect(bytes).toBe(pieces * pieceSize);
    expect(taken.length).toBeGreaterThan(1024);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const alive = taken.filter((ref) => ref.deref() !== undefined).length;
    // Only what the stream itself may still hold on to (its last read) may be alive.
    expect(alive).toBeLessThan(8);
    socket.destroy();
  });
});
