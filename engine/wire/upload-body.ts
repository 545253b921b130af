/**
 * An upload's body on the socket: each chunk is hashed (in the hash worker for big files)
 * while the socket writes the same buffer; a few may be in flight, then the oldest hash is
 * waited for, and the socket's backpressure is honoured.
 */
import type net from 'node:net';
import type { FrameWriter } from '../../shared/node/frame-stream.js';
import type { StreamHash } from '../../shared/node/hash-worker.js';
import type { WriteHooks } from '../remote/remote.js';

/** Send up to `size` bytes of `source` (what a grown file has beyond is left out); returns how many were sent. */
export async function sendHashed(writer: FrameWriter, socket: net.Socket, size: number, source: () => AsyncIterable<Buffer>, hash: StreamHash, hooks: WriteHooks): Promise<number> {
  if (size === 0) return 0;
  let sent = 0;
  const hashing: Promise<void>[] = [];
  for await (const chunk of source()) {
    const room = size - sent;
    if (room === 0) break; // the file grew: send what was announced
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    sent += piece.length;
    const hashed = hash.update(piece);
    // The chunk may be reused once both the hash and the socket are done with it.
    let pending = 2;
    const settle = (): void => {
      if (--pending === 0) hooks.onChunkDone?.(chunk);
    };
    hashed.then(settle, () => undefined);
    const ok = socket.write(piece, settle);
    hooks.onSent?.(piece.length);
    hashing.push(hashed);
    if (hashing.length > 3) await hashing.shift();
    if (!ok) await writer.drained();
  }
  await Promise.all(hashing);
  return sent;
}
