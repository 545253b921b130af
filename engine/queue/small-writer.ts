/**
 * Writes small downloads on a thread of their own. Creating a file is the expensive part
 * of a small download (the kernel finds an inode and takes the folder's lock; much more
 * so right after many files were deleted there), and doing it on the thread that also
 * receives, checks and hands out the next files serialises the two. Through Node's I/O
 * threads each file costs five round trips, and several threads creating in one folder
 * at once only spin on that folder's lock. One writer thread making blocking calls does
 * the files one after another, alongside the main thread, at a few system calls each.
 *
 * Files are handed over in batches (one message per turn of the event loop) and answered
 * in batches. Every file goes to its hidden partial first (O_NOFOLLOW: never through a
 * planted link), gets its mtime, and is renamed into place: exactly what writeSmallFile()
 * does.
 */
import { Worker } from 'node:worker_threads';
import { FerryError, toFerryError } from '../../shared/common/errors.js';

// Plain CommonJS so it runs the same from the TypeScript sources (tests) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | (fs.constants.O_NOFOLLOW || 0);
function one(job) {
  const fd = fs.openSync(job.partial, FLAGS, 0o644);
  try {
    const data = job.data;
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
    if (job.mtime > 0) fs.futimesSync(fd, new Date(), new Date(job.mtime));
  } catch (err) {
    try { fs.closeSync(fd); } catch {}
    try { fs.rmSync(job.partial, { force: true }); } catch {}
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(job.partial, job.target);
  } catch (err) {
    try { fs.rmSync(job.partial, { force: true }); } catch {}
    throw err;
  }
}
parentPort.on('message', (jobs) => {
  const results = [];
  for (const job of jobs) {
    try {
      one(job);
      results.push({ id: job.id });
    } catch (err) {
      results.push({ id: job.id, code: err && err.code, message: String(err && err.message) });
    }
  }
  parentPort.postMessage(results);
});
`;

/** How long an idle writer thread is kept. */
const IDLE_MS = 5000;

interface Job {
  readonly id: number;
  readonly partial: string;
  readonly target: string;
  readonly data: Uint8Array;
  readonly mtime: number;
}

interface Result {
  readonly id: number;
  readonly code?: string;
  readonly message?: string;
}

export class SmallFileWriter {
  private worker: Worker | null = null;
  private failed = false;
  private nextId = 1;
  private batch: Job[] = [];
  private scheduled = false;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private idleTimer: NodeJS.Timeout | undefined;

  /** False once the thread could not run (the caller then writes the files itself). */
  get usable(): boolean {
    return !this.failed;
  }

  /** Write `data` to `partial`, set its mtime (if > 0), rename it to `target`. */
  write(partial: string, target: string, data: Uint8Array, mtime: number): Promise<void> {
    if (this.failed) return Promise.reject(new FerryError('EIO', 'the writer thread is not available'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker?.ref();
      this.batch.push({ id, partial, target, data, mtime });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  /** Stop the thread (what is still queued fails with ECANCELED). */
  close(): void {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = null;
    void worker?.terminate();
    this.failAll(new FerryError('ECANCELED', 'the writer thread was stopped'));
  }

  private send(): void {
    this.scheduled = false;
    const jobs = this.batch;
    this.batch = [];
    if (jobs.length === 0) return;
    let worker: Worker;
    try {
      worker = this.ensure();
    } catch (err) {
      this.failed = true;
      this.failAll(toFerryError(err));
      return;
    }
    // Each file's bytes are copied once (only the view's, never a whole pool it sits in)
    // and the copies are handed over, not cloned again.
    const out = jobs.map((j) => ({ ...j, data: new Uint8Array(j.data) }));
    worker.postMessage(
      out,
      out.map((j) => j.data.buffer as ArrayBuffer),
    );
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'ferry-small-writer',
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    worker.on('message', (results: Result[]) => this.onResults(results));
    const broken = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failed = true;
      this.failAll(new FerryError('EIO', `the writer thread failed: ${err.message}`));
    };
    worker.on('error', broken);
    worker.on('exit', (code) => broken(new Error(`exited with code ${code}`)));
    this.worker = worker;
    if (this.waiting.size === 0) worker.unref();
    return worker;
  }

  private onResults(results: Result[]): void {
    for (const r of results) {
      const w = this.waiting.get(r.id);
      if (w === undefined) continue;
      this.waiting.delete(r.id);
      if (r.code === undefined && r.message === undefined) w.resolve();
      else w.reject(toFerryError(Object.assign(new Error(r.message ?? 'write failed'), { code: r.code })));
    }
    // Keep the process alive only while files are on their way to the disk.
    if (this.waiting.size === 0) {
      this.worker?.unref();
      this.idleLater();
    }
  }

  private failAll(err: Error): void {
    this.batch = [];
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** An idle thread is stopped after a while (it holds a few MB); the next write starts one again. */
  private idleLater(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting.size > 0 || this.batch.length > 0) return;
      const worker = this.worker;
      this.worker = null;
      void worker?.terminate();
    }, IDLE_MS);
    this.idleTimer.unref();
  }
}
