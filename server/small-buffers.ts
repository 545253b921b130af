/**
 * Buffers for small files, cut from shared slabs. A Buffer of 4 KiB or more is an
 * ArrayBuffer of its own (Node pools only smaller ones): thousands of small files would
 * each allocate one and leave it for the garbage collector. Here they are views into
 * 256 KiB slabs; a slab is freed by the collector once no view of it is left.
 */
const SLAB_BYTES = 256 * 1024;
/**
 * Bigger requests (a whole put body up to WHOLE_FILE_MAX, a `read` up to READ_MAX) get a
 * buffer of their own: a slab would waste too much of itself.
 */
const MAX_FROM_SLAB = 32 * 1024;

let slab: Buffer | null = null;
let used = 0;

/** An uninitialised buffer of `size` bytes (fill it before use). */
export function smallBuffer(size: number): Buffer {
  if (size > MAX_FROM_SLAB) return Buffer.allocUnsafe(size);
  if (slab === null || used + size > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const view = slab.subarray(used, used + size);
  // Keep the views 8-byte aligned.
  used += (size + 7) & ~7;
  return view;
}
