/**
 * One hashing abstraction for both checks (shared/common/checks.ts): a stream hash of
 * either algorithm, and a whole file hashed with either. SHA-256 is hash-worker.ts's
 * (node:crypto, in a worker thread on more than two cores); XXH3-128 is hash-wasm's
 * WebAssembly, inline: at about 0.2 CPU-seconds per GiB a thread hop would cost more.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { createXXHash128, type IHasher } from 'hash-wasm';
import type { CheckAlgorithm, Digest } from '../common/checks.js';
import { FerryError } from '../common/errors.js';
import { createStreamHash as createSha256StreamHash, type StreamHash } from './hash-worker.js';

export type { CheckAlgorithm, StreamHash };

/**
 * Idle XXH3-128 hashers for reuse: hash-wasm makes each one async (a WebAssembly
 * instance and its memory), which a folder of small files would pay per file.
 */
const idle: IHasher[] = [];
const IDLE_KEEP = 16;

let made = 0;

/** XXH3-128 hashers (WebAssembly instances) made so far in this process. */
export function xxhHashersMade(): number {
  return made;
}

function acquireXxh(): IHasher | Promise<IHasher> {
  const hasher = idle.pop();
  if (hasher) return hasher.init();
  made++;
  return createXXHash128().then((h) => h.init());
}

function releaseXxh(hasher: IHasher): void {
  if (idle.length < IDLE_KEEP) idle.push(hasher);
}

/** Bytes a stream keeps (copied) before it takes a hasher of its own. */
const SMALL_STREAM_BYTES = 256 * 1024;

/**
 * XXH3-128 with seed 0; digest() gives the canonical (big-endian) hex that `xxhsum -H2`
 * prints. A hasher is a WebAssembly instance: a stream holds one only once it has passed
 * SMALL_STREAM_BYTES (as many as big transfers run). Below that its bytes are copied and
 * hashed at digest() in one go, so hundreds of small files in flight share the few pooled
 * instances instead of each making one.
 */
class XxhStreamHash implements StreamHash {
  readonly algorithm = 'xxh128' as const;
  private hasher: IHasher | null = null;
  private pending: Promise<IHasher> | null = null;
  /** Copies of the bytes so far, while they are few. */
  private kept: Buffer[] | null = [];
  private keptBytes = 0;
  private done = false;

  update(data: Uint8Array): Promise<void> {
    if (this.done) return Promise.reject(new FerryError('ECANCELED', 'the hash was discarded'));
    // Kept only until a hasher was asked for: bytes after that must follow the ones before.
    if (this.kept && !this.pending && this.keptBytes + data.length <= SMALL_STREAM_BYTES) {
      this.kept.push(Buffer.from(data));
      this.keptBytes += data.length;
      return Promise.resolve();
    }
    const h = this.hasher ?? this.take();
    if (h instanceof Promise) return h.then((x) => void x.update(data));
    h.update(data);
    return Promise.resolve();
  }

  /** A hasher of its own, fed what was kept so far. */
  private take(): IHasher | Promise<IHasher> {
    const feed = (h: IHasher): IHasher => {
      for (const chunk of this.kept ?? []) h.update(chunk);
      this.kept = null;
      if (this.done) {
        releaseXxh(h);
        throw new FerryError('ECANCELED', 'the hash was discarded');
      }
      this.hasher = h;
      return h;
    };
    if (this.pending) return this.pending;
    const got = acquireXxh();
    if (!(got instanceof Promise)) return feed(got);
    this.pending = got.then(feed);
    this.pending.catch(() => undefined);
    return this.pending;
  }

  async digest(): Promise<string> {
    if (this.done) throw new FerryError('ECANCELED', 'the hash was discarded');
    let h: IHasher;
    if (this.kept) {
      const got = acquireXxh();
      h = got instanceof Promise ? await got : got;
      for (const chunk of this.kept) h.update(chunk);
      this.kept = null;
    } else {
      h = this.hasher ?? (await this.pending!);
    }
    this.done = true;
    this.hasher = null;
    const hex = h.digest('hex');
    releaseXxh(h);
    return hex;
  }

  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.kept = null;
    if (this.hasher) releaseXxh(this.hasher);
    this.hasher = null;
  }
}

/** A stream hash of `algorithm` for a transfer of about `bytes` bytes. */
export function createCheckHash(algorithm: CheckAlgorithm, bytes: number): StreamHash {
  return algorithm === 'xxh128' ? new XxhStreamHash() : createSha256StreamHash(bytes);
}

/** The digest of bytes in memory (a small file sent or read whole). */
export async function digestOfBytes(data: Uint8Array, algorithm: CheckAlgorithm): Promise<Digest> {
  if (algorithm === 'sha256') return { algorithm, hex: createHash('sha256').update(data).digest('hex') };
  const got = acquireXxh();
  const hasher = got instanceof Promise ? await got : got;
  try {
    return { algorithm, hex: hasher.update(data).digest('hex') };
  } finally {
    releaseXxh(hasher);
  }
}

const FILE_READ_BYTES = 1024 * 1024;

/** A local file's digest with `algorithm`, and its size (read once, constant memory). */
export async function hashLocalFile(file: string, algorithm: CheckAlgorithm): Promise<{ hex: string; size: number }> {
  const handle = await fsp.open(file, 'r');
  const { size } = await handle.stat();
  const hash = createCheckHash(algorithm, size);
  try {
    const buffer = Buffer.allocUnsafe(Math.min(FILE_READ_BYTES, Math.max(1, size)));
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      await hash.update(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    return { hex: await hash.digest(), size: total };
  } finally {
    hash.dispose();
    await handle.close();
  }
}
