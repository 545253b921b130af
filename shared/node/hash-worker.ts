/**
 * SHA-256 off the main thread, and pooled 1 MiB buffers to feed it without copies.
 *
 * A transfer's main thread reads a file, writes a socket (or the reverse); hashing the
 * same bytes there would serialise read → hash → send. Instead big transfers hash in one
 * worker thread per process: the bytes live in SharedArrayBuffer-backed buffers, so the
 * worker reads them where they are (no copy, no transfer) while the main thread does the
 * I/O on the same buffer. A buffer may be reused only when both are done with it, which
 * is what `update()`'s promise tells. Small transfers hash inline: a thread hop would
 * cost more than the hash.
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CheckAlgorithm } from '../common/checks.js';
import { FerryError } from '../common/errors.js';

/**
 * A running hash (SHA-256 here; checksums.ts makes either algorithm). `update()` resolves
 * when the bytes have been hashed (they must not change before).
 */
export interface StreamHash {
  readonly algorithm: CheckAlgorithm;
  update(data: Uint8Array): Promise<void>;
  digest(): Promise<string>;
  /** Forget the state (the transfer failed); safe to call at any time, more than once. */
  dispose(): void;
}

/** Transfers at least this big hash in the worker; smaller ones inline. */
export const WORKER_HASH_MIN_BYTES = workerWorthIt() ? 4 * 1024 * 1024 : Infinity;

/**
 * The worker only pays when there is a core for it: on two cores the sender and the
 * receiver already keep both busy, and measured side by side the worker was no faster
 * (and costs a thread's memory). FERRY_HASH_WORKER=1 or 0 forces it on or off.
 */
function workerWorthIt(): boolean {
  const forced = process.env.FERRY_HASH_WORKER;
  if (forced === '0' || forced === '1') return forced === '1';
  return availableParallelism() > 2;
}
export const POOL_BUFFER_BYTES = 1024 * 1024;
/** Free pooled buffers kept for reuse (a cache, never a cap: acquire() never waits). */
const POOL_KEEP = 8;

// Plain CommonJS so it runs the same from the TypeScript sources (tests) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'u') {
    let h = hashes.get(m.id);
    if (h === undefined) { h = createHash('sha256'); hashes.set(m.id, h); }
    h.update(m.data);
    parentPort.postMessage({ op: 'a', id: m.id });
  } else if (m.op === 'd') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ op: 'd', id: m.id, hex: h.digest('hex') });
  } else if (m.op === 'x') {
    hashes.delete(m.id);
  }
});
`;

interface Waiting {
  readonly acks: Array<{ resolve: () => void; reject: (err: Error) => void }>;
  digest?: { resolve: (hex: string) => void; reject: (err: Error) => void };
}

class HashThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private outstanding = 0;

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'ferry-sha256' });
    worker.unref();
    worker.on('message', (m: { op: string; id: number; hex?: string }) => this.onMessage(m));
    const broken = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      const e = new FerryError('EIO', `the hashing thread failed: ${err.message}`);
      for (const w of this.waiting.values()) {
        for (const a of w.acks.splice(0)) a.reject(e);
        w.digest?.reject(e);
      }
      this.waiting.clear();
      this.outstanding = 0;
    };
    worker.on('error', broken);
    worker.on('exit', (code) => broken(new Error(`exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  /** Keep the process alive only while the worker owes us an answer. */
  private busy(delta: number): void {
    this.outstanding += delta;
    if (!this.worker) return;
    if (this.outstanding === 1 && delta > 0) this.worker.ref();
    else if (this.outstanding === 0) this.worker.unref();
  }

  private onMessage(m: { op: string; id: number; hex?: string }): void {
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.busy(-1);
    if (m.op === 'a') w.acks.shift()?.resolve();
    else if (m.op === 'd') {
      this.waiting.delete(m.id);
      w.digest?.resolve(m.hex ?? '');
    }
  }

  open(): number {
    const id = this.nextId++;
    this.waiting.set(id, { acks: [] });
    return id;
  }

  update(id: number, data: Uint8Array): Promise<void> {
    const w = this.waiting.get(id);
    if (w === undefined) return Promise.reject(new FerryError('EINVAL', 'the hash was already finished'));
    const worker = this.ensure();
    // Shared memory is read in place; anything else is copied (only its own bytes, not
    // the whole ArrayBuffer a view may sit in) and handed over.
    const shared = data.buffer instanceof SharedArrayBuffer;
    const payload = shared ? data : new Uint8Array(data);
    return new Promise<void>((resolve, reject) => {
      w.acks.push({ resolve, reject });
      this.busy(1);
      if (shared) worker.postMessage({ op: 'u', id, data: payload });
      else worker.postMessage({ op: 'u', id, data: payload }, [payload.buffer as ArrayBuffer]);
    });
  }

  digest(id: number): Promise<string> {
    const w = this.waiting.get(id);
    if (w === undefined) return Promise.reject(new FerryError('EINVAL', 'the hash was already finished'));
    const worker = this.ensure();
    return new Promise<string>((resolve, reject) => {
      w.digest = { resolve, reject };
      this.busy(1);
      worker.postMessage({ op: 'd', id });
    });
  }

  dispose(id: number): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    const owed = w.acks.length + (w.digest ? 1 : 0);
    const e = new FerryError('ECANCELED', 'the hash was discarded');
    for (const a of w.acks.splice(0)) a.reject(e);
    w.digest?.reject(e);
    if (owed > 0) this.busy(-owed);
    this.worker?.postMessage({ op: 'x', id });
  }
}

let thread: HashThread | undefined;

class WorkerHash implements StreamHash {
  readonly algorithm = 'sha256' as const;
  private readonly id: number;
  private done = false;
  constructor() {
    thread ??= new HashThread();
    this.id = thread.open();
  }
  update(data: Uint8Array): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return thread!.update(this.id, data);
  }
  digest(): Promise<string> {
    this.done = true;
    return thread!.digest(this.id);
  }
  dispose(): void {
    if (this.done) return;
    this.done = true;
    thread!.dispose(this.id);
  }
}

class InlineHash implements StreamHash {
  readonly algorithm = 'sha256' as const;
  private readonly hash: Hash = createHash('sha256');
  update(data: Uint8Array): Promise<void> {
    this.hash.update(data);
    return Promise.resolve();
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }
  dispose(): void {}
}

/** A SHA-256 for a transfer of about `bytes` bytes: in the worker when that pays. */
export function createStreamHash(bytes: number): StreamHash {
  return bytes >= WORKER_HASH_MIN_BYTES ? new WorkerHash() : new InlineHash();
}

const free: Buffer[] = [];

/**
 * A 1 MiB buffer (reused when one is free): in shared memory only where the hash worker
 * runs. Where it does not (2 cores), plain memory: V8 copies into a SharedArrayBuffer with
 * a race-safe loop (relaxed_memmove) instead of memcpy, and every received byte is copied
 * into these buffers once (bench/cpu-profile.ts measures the difference).
 */
export function acquireBuffer(): Buffer {
  return free.pop() ?? (WORKER_HASH_MIN_BYTES === Infinity ? Buffer.allocUnsafeSlow(POOL_BUFFER_BYTES) : Buffer.from(new SharedArrayBuffer(POOL_BUFFER_BYTES)));
}

/** Give a buffer from acquireBuffer() back (only once nothing uses it any more). */
export function releaseBuffer(buffer: Buffer): void {
  if (buffer.length === POOL_BUFFER_BYTES && buffer.byteOffset === 0 && free.length < POOL_KEEP) free.push(buffer);
}
