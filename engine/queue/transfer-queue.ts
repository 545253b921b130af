/**
 * The transfer queue: what the CLI and the desktop app hand their uploads and downloads
 * to. It expands folders, runs a few files at a time, pipelines small files, retries and
 * resumes after a dropped connection, asks about conflicts, and reports progress in
 * batches (about ten events a second for the whole queue, whatever its size).
 */
import { randomBytes } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, toFerryError, type ErrorCode } from '../../shared/common/errors.js';
import { formatBytes } from '../../shared/common/size.js';
import {
  FINAL_STATES,
  type Conflict,
  type ConflictDecision,
  type ConflictPolicy,
  type QueueTotals,
  type TransferChange,
  type TransferDirection,
  type TransferEvent,
  type TransferId,
  type TransferState,
  type TransferView,
} from '../../shared/common/transfer-model.js';
import { assertSafeName, joinRemote, partialPathFor, remoteBasename, safeChildPaths, safeLocalFolder, safeLocalPath } from './local-files.js';
import { queueTotals } from './queue-totals.js';
import { SmallFileWriter } from './small-writer.js';
import type { RemoteSession } from '../wire/session.js';
import { RESUME_THRESHOLD, downloadFile, freeLocalName, uploadFile } from './transfers.js';
import { sleep } from '../sleep.js';
import type { ClientConnection } from '../wire/client-connection.js';
import { createStreamHash } from '../../shared/node/hash-worker.js';
import {
  NotWhole,
  SMALL_FILE_MAX,
  SMALL_WINDOW,
  canReadWhole,
  onceChunk,
  readRemoteWhole,
  readSmallFile,
  readSmallFileSync,
  writeSmallFile,
} from './small-files.js';
import { statOrNull } from '../../shared/node/fs-calls.js';

export interface QueueOptions {
  /** Files moving at once (default 4). */
  readonly concurrency?: number;
  /** How often progress is reported (default 100 ms). */
  readonly progressIntervalMs?: number;
  /** Attempts after a dropped connection before a transfer fails (default 5). */
  readonly retries?: number;
  readonly conflict?: ConflictPolicy;
  /**
   * Asked when conflict is 'ask'. An answer that applies to all covers the rest of the same
   * batch (one upload() or download() call). `signal` aborts when the question no longer
   * needs an answer: its transfer was paused or cancelled, or the queue closed.
   */
  readonly resolveConflict?: (
    conflict: Conflict,
    signal: AbortSignal,
  ) => Promise<{ decision: ConflictDecision; applyToAll: boolean }>;
  /** Refuse an upload up front when it cannot fit the quota (default true). */
  readonly checkQuota?: boolean;
  /**
   * Scan folders to upload, read small files to upload and write small downloads
   * (small-files.ts) with blocking calls instead of through the I/O threads (default
   * false). Cheaper by far (a 4 KiB file costs a few system calls, not a few trips
   * through the I/O threads), but it holds the thread for each file: only for a process
   * that has nothing else to serve meanwhile (the CLI), never for the desktop app's main
   * process.
   */
  readonly blockingSmallIo?: boolean;
}

/** Errors worth another attempt: the connection, not the request, failed. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['ECONN', 'ETIMEDOUT', 'EBUSY']);
/**
 * Bound on requests on the wire whose answer has not come yet: uploads whose bytes are
 * sent but whose commit is not confirmed ('verifying'), and small downloads asked for.
 */
const MAX_VERIFYING = 1024;
/** Small files handed to one pipelined batch (one slot, one data connection) at most. */
const BATCH_FILES = 64;

interface Item {
  view: Mutable<TransferView>;
  controller: AbortController | undefined;
  /** Set when the user paused or cancelled, so the abort is not reported as a failure. */
  stopReason: 'pause' | 'cancel' | undefined;
  decision: ConflictDecision | undefined;
  /** The upload() or download() call that added it. */
  readonly batch: string;
  mtime?: number;
  /** Waiting out a retry delay or an open conflict question: queued, but not to be started yet. */
  backingOff: boolean;
  /**
   * Counts the attempts started (run() or runSmall()). An attempt that ends clears
   * `stop` and `controller` only if no newer attempt has started meanwhile: a retry or
   * a hand-over to the streamed way may start one before the old one has finished.
   */
  generation: number;
  /** The most bytes this attempt had moved (what a paused row keeps showing). */
  reached?: number;
  /** Handed to a batch of small files that has not reached it yet (pump() leaves it alone). */
  claimed: boolean;
  /** Must take the streamed way even if small (it grew, or the server cannot send it whole). */
  streamed: boolean;
  /** Stops this transfer's attempt now (pause, cancel); set while one runs. */
  stop: (() => void) | undefined;
}

/** States idle() waits for: anything that is neither final nor paused. */
function isWaiting(state: TransferState): boolean {
  return !FINAL_STATES.has(state) && state !== 'paused';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class TransferQueue {
  private readonly items = new Map<TransferId, Item>();
  private readonly order: TransferId[] = [];
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private readonly dirty = new Set<TransferId>();
  private flushTimer: NodeJS.Timeout | undefined;
  private activeCount = 0;
  private verifyingCount = 0;
  /** Small downloads asked for and not answered yet (they count against MAX_VERIFYING too). */
  private requestedCount = 0;
  private concurrency: number;
  private readonly progressIntervalMs: number;
  private readonly retries: number;
  private readonly conflict: ConflictPolicy;
  /** "Apply to all" answers, per batch. */
  private readonly batchDecisions = new Map<string, ConflictDecision>();
  /** Aborted by close(): withdraws open conflict questions. */
  private readonly closing = new AbortController();
  /** Transfers in a waiting state (see isWaiting), so idle() never has to scan. */
  private waitingCount = 0;
  /** Resolved (and replaced) whenever a transfer stops waiting: what idle() sleeps on. */
  private settledSignal: { promise: Promise<void>; resolve: () => void } | undefined;
  /** pump() starts here: nothing before it is queued (reset when a transfer is queued again). */
  private pumpFrom = 0;
  /** Conflict questions are asked one at a time (a person answers them in turn). */
  private asking: Promise<unknown> = Promise.resolve();
  private readonly rate = new Map<TransferId, { at: number; bytes: number }>();
  private closed = false;
  /** Writes small downloads on a thread of its own (started with the first one). */
  private readonly writer = new SmallFileWriter();

  constructor(
    private readonly session: RemoteSession,
    private readonly options: QueueOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
    this.retries = options.retries ?? 5;
    this.conflict = options.conflict ?? 'overwrite';
  }

  on(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setConcurrency(n: number): void {
    this.concurrency = Math.max(1, Math.min(32, Math.floor(n)));
    this.pump();
  }

  list(): TransferView[] {
    return this.order.map((id) => ({ ...this.items.get(id)!.view }));
  }

  get(id: TransferId): TransferView | undefined {
    const item = this.items.get(id);
    return item ? { ...item.view } : undefined;
  }

  totals(): QueueTotals {
    return queueTotals(Array.from(this.items.values(), (item) => item.view));
  }

  // ---- adding work ------------------------------------------------------------------------

  /**
   * Upload local files and folders into `remoteDir` (folders recursively). Folders are
   * scanned and created first so totals are honest from the start; an upload that cannot
   * fit the quota is refused before anything is sent (EQUOTA).
   */
  async upload(localPaths: readonly string[], remoteDir: string): Promise<TransferView[]> {
    await this.ensureConnected(); // the connection may have dropped while the queue sat idle
    const files: Array<{ local: string; remote: string; size: number; mtime: number }> = [];
    const dirs: string[] = [];
    for (const local of localPaths) {
      const info = await stat(local).catch((err) => {
        throw new FerryError('ENOENT', `${local}: ${toFerryError(err).message}`);
      });
      const name = path.basename(path.resolve(local));
      const remote = joinRemote(remoteDir, name);
      if (info.isDirectory()) {
        dirs.push(remote);
        await scanLocal(local, remote, files, dirs, this.options.blockingSmallIo ?? false);
      } else if (info.isFile()) {
        files.push({ local, remote, size: info.size, mtime: info.mtimeMs });
      } else {
        throw new FerryError('EINVAL', `${local} is not a file or folder`);
      }
    }
    if (this.options.checkQuota ?? true) {
      const df = await this.session.df();
      let need = files.reduce((n, f) => n + f.size, 0);
      if (need > df.free) need = await this.remoteNeed(files);
      if (need > df.free) {
        throw new FerryError(
          'EQUOTA',
          `this upload needs ${formatBytes(need)} but only ${formatBytes(df.free)} is left${df.quota !== null ? ` of your ${formatBytes(df.quota)} quota` : ''}`,
          { need, free: df.free },
        );
      }
    }
    // The target folder is created if missing (like the folders inside it).
    await this.session.mkdir(remoteDir, true).catch((err: unknown) => {
      throw notAFolder(err, remoteDir);
    });
    // Parents first: the list is in scan order, and mkdir -p makes any missing parent anyway.
    for (let i = 0; i < dirs.length; i += 16) await Promise.all(dirs.slice(i, i + 16).map((dir) => this.session.mkdir(dir, true)));
    return this.add(
      'upload',
      newBatch(),
      files.map((f) => ({ name: remoteBasename(f.remote), localPath: f.local, remotePath: f.remote, size: f.size, mtime: f.mtime })),
    );
  }

  /**
   * What an upload will really add, counted the way the server counts it: a partial that
   * will be resumed is already in `used` (only the rest is new), and a file that exists is
   * free when the policy skips it. One upload-info per file, so only asked when the plain
   * sum does not fit.
   */
  private async remoteNeed(files: ReadonlyArray<{ remote: string; size: number }>): Promise<number> {
    const policy = this.conflict;
    const needOf = async (f: { remote: string; size: number }): Promise<number> => {
      const info = await this.session.uploadInfo(f.remote).catch(() => null);
      if (info === null) return f.size;
      if (info.entry !== null && policy === 'skip') return 0;
      // Mirrors uploadFile(): only partials of files this big are resumed.
      if (info.partial !== null && f.size >= RESUME_THRESHOLD && info.partial <= f.size) return f.size - info.partial;
      return f.size;
    };
    let total = 0;
    for (let i = 0; i < files.length; i += 16) {
      for (const n of await Promise.all(files.slice(i, i + 16).map(needOf))) total += n;
    }
    return total;
  }

  /** Download remote files and folders into the local folder `localDir` (folders recursively). */
  async download(remotePaths: readonly string[], localDir: string): Promise<TransferView[]> {
    const files: Array<{ remote: string; local: string; size: number }> = [];
    await this.ensureConnected();
    await mkdir(localDir, { recursive: true }).catch((err: unknown) => {
      throw notAFolder(err, localDir);
    });
    for (const remote of remotePaths) {
      const entry = await this.session.stat(remote);
      const name = remoteBasename(remote) || 'home';
      assertSafeName(name);
      if (entry.type === 'dir') {
        await this.scanRemote(remote, localDir, name, files);
      } else {
        files.push({ remote, local: await safeLocalPath(localDir, name), size: entry.size });
      }
    }
    return this.add(
      'download',
      newBatch(),
      files.map((f) => ({ name: path.basename(f.local), localPath: f.local, remotePath: f.remote, size: f.size })),
    );
  }

  private async scanRemote(
    remote: string,
    localRoot: string,
    relative: string,
    out: Array<{ remote: string; local: string; size: number }>,
  ): Promise<void> {
    const { path: dir, realRoot } = await safeLocalFolder(localRoot, relative);
    await mkdir(dir, { recursive: true });
    const { entries } = await this.session.list(remote);
    for (const entry of entries) assertSafeName(entry.name);
    const files = entries.filter((e) => e.type === 'file');
    const locals = await safeChildPaths(dir, realRoot, localRoot, files.map((e) => e.name));
    let i = 0;
    for (const entry of entries) {
      const childRemote = joinRemote(remote, entry.name);
      if (entry.type === 'dir') await this.scanRemote(childRemote, localRoot, `${relative}/${entry.name}`, out);
      else if (entry.type === 'file') out.push({ remote: childRemote, local: locals[i++]!, size: entry.size });
    }
  }

  private add(
    direction: TransferDirection,
    batch: string,
    files: ReadonlyArray<{ name: string; localPath: string; remotePath: string; size: number; mtime?: number }>,
  ): TransferView[] {
    const added: TransferView[] = [];
    for (const f of files) {
      const id = `t${randomBytes(6).toString('hex')}` as TransferId;
      const item: Item = {
        view: {
          id,
          direction,
          name: f.name,
          localPath: f.localPath,
          remotePath: f.remotePath,
          size: f.size,
          bytes: 0,
          speed: 0,
          eta: null,
          state: 'queued',
          verified: false,
          attempts: 0,
        },
        controller: undefined,
        stopReason: undefined,
        decision: undefined,
        batch,
        mtime: f.mtime,
        backingOff: false,
        generation: 0,
        claimed: false,
        streamed: false,
        stop: undefined,
      };
      this.waitingCount++;
      this.items.set(id, item);
      this.order.push(id);
      added.push({ ...item.view });
    }
    if (added.length > 0) this.emit({ kind: 'added', transfers: added });
    this.pump();
    return added;
  }

  // ---- controls ------------------------------------------------------------------------------

  pause(id: TransferId): void {
    const item = this.items.get(id);
    if (!item || FINAL_STATES.has(item.view.state) || item.view.state === 'paused') return;
    if (item.view.state === 'verifying') return; // all bytes are sent: let it finish
    if (item.stop) {
      item.stopReason = 'pause';
      item.stop();
    } else {
      this.setState(item, 'paused');
    }
  }

  resume(id: TransferId): void {
    const item = this.items.get(id);
    if (!item || item.view.state !== 'paused') return;
    this.setState(item, 'queued');
    this.pump();
  }

  cancel(id: TransferId): void {
    const item = this.items.get(id);
    if (!item || FINAL_STATES.has(item.view.state)) return;
    if (item.stop) {
      item.stopReason = 'cancel';
      item.stop();
    } else {
      this.finish(item, 'cancelled');
    }
  }

  retry(id: TransferId): void {
    const item = this.items.get(id);
    if (!item || (item.view.state !== 'failed' && item.view.state !== 'cancelled')) return;
    delete item.view.error;
    item.view.attempts = 0;
    this.setState(item, 'queued');
    this.pump();
  }

  pauseAll(): void {
    for (const id of this.order) this.pause(id);
  }

  resumeAll(): void {
    for (const id of this.order) this.resume(id);
  }

  cancelAll(): void {
    for (const id of this.order) this.cancel(id);
  }

  /** Forget finished rows (done, skipped, cancelled; failed too when asked). */
  clear(includeFailed = false): void {
    const removed: TransferId[] = [];
    for (let i = this.order.length - 1; i >= 0; i--) {
      const id = this.order[i]!;
      const state = this.items.get(id)!.view.state;
      if (state === 'done' || state === 'skipped' || state === 'cancelled' || (includeFailed && state === 'failed')) {
        this.order.splice(i, 1);
        this.items.delete(id);
        this.dirty.delete(id);
        removed.push(id);
      }
    }
    this.pumpFrom = 0;
    if (removed.length > 0) this.emit({ kind: 'removed', ids: removed });
  }

  /** Resolves when every transfer added so far is done, skipped, failed or cancelled (or paused). */
  async idle(): Promise<void> {
    // One shared signal, not a race over every transfer: thousands of files stay cheap.
    while (this.waitingCount > 0) {
      if (this.settledSignal === undefined) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.settledSignal = { promise, resolve };
      }
      await this.settledSignal.promise;
    }
    this.flush();
  }

  close(): void {
    this.closed = true;
    this.writer.close();
    this.closing.abort();
    this.cancelAll();
    clearTimeout(this.flushTimer);
  }

  // ---- running -------------------------------------------------------------------------------

  private pump(): void {
    if (this.closed) return;
    for (let i = this.pumpFrom; i < this.order.length; i++) {
      if (this.activeCount >= this.concurrency || this.verifyingCount + this.requestedCount >= MAX_VERIFYING) return;
      const item = this.items.get(this.order[i]!)!;
      if (item.view.state !== 'queued' || item.claimed) {
        if (i === this.pumpFrom) this.pumpFrom++;
        continue;
      }
      if (item.backingOff) continue;
      this.activeCount++;
      if (this.isSmall(item)) {
        // Small files go in a pipelined batch: the queued small files that follow, same way.
        const batch = [item];
        for (let j = i + 1; j < this.order.length && batch.length < BATCH_FILES; j++) {
          const next = this.items.get(this.order[j]!)!;
          if (next.view.state !== 'queued' || next.claimed || next.backingOff) continue;
          if (next.view.direction !== item.view.direction || !this.isSmall(next)) break;
          batch.push(next);
        }
        for (const b of batch) b.claimed = true;
        this.runBatch(batch); // starts its first files (sets them 'active') before returning
      } else {
        void this.run(item); // sets 'active' before its first await
      }
    }
  }

  /** A file moved whole and pipelined with others (small-files.ts). */
  private isSmall(item: Item): boolean {
    return (
      !item.streamed &&
      item.view.size <= SMALL_FILE_MAX &&
      (item.view.direction === 'upload' || canReadWhole(this.session))
    );
  }

  /**
   * Move a batch of small files on one data connection, pipelined: up to SMALL_WINDOW of
   * them being read (up) or asked for (down) at once, each request sent as soon as it is
   * ready, without waiting for the answers before it. The batch holds one slot and the
   * connection until every request is on the wire; the answers complete each file.
   */
  private runBatch(items: Item[]): void {
    let conn: Promise<ClientConnection> | undefined;
    const connection = (): Promise<ClientConnection> => (conn ??= this.session.acquire());
    // Requests go out in the queue's order, whatever order their files are read in: each
    // file gets the connection once the file before it has issued its request.
    let previous: Promise<void> = Promise.resolve();
    let next = 0;
    let sending = 0;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      // Give the connection back (its answers still arrive) and the slot to the next batch.
      void conn?.then(
        (c) => this.session.release(c),
        () => undefined,
      );
      this.activeCount--;
      this.pump();
    };
    const startMore = (): void => {
      while (sending < SMALL_WINDOW && next < items.length) {
        const item = items[next++]!;
        item.claimed = false;
        // Paused, cancelled (or closed) while it waited in the batch.
        if (item.view.state !== 'queued' || this.closed) continue;
        sending++;
        let sent = false;
        const after = previous;
        let issued!: () => void;
        previous = new Promise<void>((resolve) => (issued = resolve));
        this.runSmall(
          item,
          () => after.then(connection),
          issued,
          () => {
            if (sent) return;
            sent = true;
            sending--;
            // Later in this turn: runSmall() may call this before it has returned.
            queueMicrotask(startMore);
          },
        );
      }
      if (sending === 0 && next >= items.length) end();
    };
    startMore();
  }

  /**
   * One small file of a batch. Sets 'active' before its first await. `lane` gives the
   * connection when it is this file's turn to issue its request; `issued` passes the turn
   * on (called once the request is queued, or when the file ended without one); `sent` is
   * called once its request is on the wire (or it ended before that).
   */
  private runSmall(item: Item, lane: () => Promise<ClientConnection>, issued: () => void, sent: () => void): void {
    const generation = ++item.generation;
    item.stopReason = undefined;
    item.view.attempts++;
    item.view.bytes = 0;
    this.setState(item, 'active');
    let stopped = false;
    // Small files share their connection, so stopping one closes it only in the one case
    // where that is the only way: an upload whose request waits to be written (`unsent`;
    // the others on the connection are retried). A download whose `read` is out stops
    // waiting (`abandon`): the reply is still read, then dropped, and the connection stays
    // in step. Anything else either has not asked yet (it just ends) or is answered and
    // being stored, which finishes, as a verifying file does.
    const abandon = new AbortController();
    let unsent: ClientConnection | undefined;
    item.stop = () => {
      stopped = true;
      abandon.abort();
      unsent?.destroy();
    };
    let verifying = false;
    let requested = false;
    const leave = (): void => {
      if (!verifying && !requested) return;
      if (verifying) this.verifyingCount--;
      if (requested) this.requestedCount--;
      verifying = false;
      requested = false;
      this.pump(); // below MAX_VERIFYING again: more may start
    };
    const toVerifying = (): void => {
      if (item.view.state !== 'active') return;
      // An answered request now counts as verifying, not as both.
      if (requested) {
        requested = false;
        this.requestedCount--;
      }
      verifying = true;
      this.verifyingCount++;
      item.view.bytes = item.view.size;
      this.setState(item, 'verifying');
    };
    const checkStopped = (): void => {
      if (stopped || this.closed) throw new FerryError('ECANCELED', 'the transfer was cancelled');
    };
    const decision = item.decision ?? this.batchDecisions.get(item.batch) ?? (this.conflict === 'ask' ? undefined : this.conflict);
    const exists = decision === undefined ? 'fail' : decision === 'resume' ? 'overwrite' : decision;
    const work = async (): Promise<void> => {
      if (item.view.direction === 'upload') {
        const file = this.options.blockingSmallIo
          ? readSmallFileSync(item.view.localPath, SMALL_FILE_MAX)
          : await readSmallFile(item.view.localPath, SMALL_FILE_MAX);
        checkStopped();
        if (file === null) return this.stream(item, sent);
        const conn = await lane();
        checkStopped();
        unsent = conn;
        const putting = conn.put(
          { path: item.view.remotePath, offset: 0, total: file.data.length, exists, mtime: Math.round(file.mtimeMs) },
          () => onceChunk(file.data),
          createStreamHash(file.data.length),
          {
            onWritten: () => {
              unsent = undefined;
              sent();
              toVerifying();
            },
          },
        );
        issued();
        const result = await putting.finally(() => (unsent = undefined));
        leave();
        item.view.remotePath = result.path;
        item.view.verified = !result.skipped;
        item.view.bytes = item.view.size;
        this.finish(item, result.skipped ? 'skipped' : 'done');
        return;
      }
      let target = item.view.localPath;
      if (exists !== 'overwrite') {
        const local = await statOrNull(target);
        if (local) {
          if (exists === 'skip') {
            sent();
            item.view.verified = false;
            item.view.bytes = item.view.size;
            return this.finish(item, 'skipped');
          }
          if (exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
          target = await freeLocalName(target);
        }
      }
      const conn = await lane();
      checkStopped();
      requested = true;
      this.requestedCount++;
      const reading = readRemoteWhole(this.session, conn, item.view.remotePath, SMALL_FILE_MAX, () => {
        issued();
        sent();
      });
      let file;
      try {
        file = await untilAborted(reading, abandon.signal);
      } catch (err) {
        if (abandon.signal.aborted) {
          // Its reply is still owed: it counts against the in-flight bound until it is in.
          requested = false;
          void reading
            .catch(() => undefined)
            .finally(() => {
              this.requestedCount--;
              this.pump();
            });
          throw new FerryError('ECANCELED', 'the transfer was cancelled');
        }
        if (err instanceof NotWhole) return this.stream(item, sent);
        throw err;
      }
      checkStopped();
      toVerifying();
      await this.writeSmall(target, file.data, file.mtime);
      leave();
      item.view.localPath = target;
      item.view.verified = true;
      item.view.bytes = item.view.size;
      this.finish(item, 'done');
    };
    void work()
      .catch(async (err: unknown) => {
        leave();
        issued();
        sent();
        await this.failed(item, toFerryError(err));
      })
      .finally(() => {
        leave();
        issued();
        sent();
        this.endAttempt(item, generation);
      });
  }

  /** A checked small download to the disk: on the writer thread, or here if it cannot run. */
  private async writeSmall(target: string, data: Buffer, mtime: number): Promise<void> {
    if (this.writer.usable) {
      try {
        return await this.writer.write(partialPathFor(target), target, data, mtime);
      } catch (err) {
        if (this.writer.usable || this.closed) throw err;
        // The thread could not run: write it here instead.
      }
    }
    await writeSmallFile(target, data, mtime, this.options.blockingSmallIo);
  }

  /** Hand a small file back to the queue for the streamed way (it grew, or cannot be sent whole). */
  private stream(item: Item, sent: () => void): void {
    item.streamed = true;
    item.view.attempts--;
    sent();
    this.setState(item, 'queued');
    this.pump();
  }

  private async run(item: Item): Promise<void> {
    let slotHeld = true;
    const freeSlot = (): void => {
      if (!slotHeld) return;
      slotHeld = false;
      this.activeCount--;
      this.pump();
    };
    const generation = ++item.generation;
    const controller = new AbortController();
    item.controller = controller;
    item.stop = () => controller.abort();
    item.stopReason = undefined;
    item.view.attempts++;
    this.setState(item, 'active');
    this.rate.set(item.view.id, { at: performance.now(), bytes: item.view.bytes });
    item.view.bytes = 0;
    item.reached = undefined;
    const hooks = {
      signal: item.controller.signal,
      onBytes: (delta: number) => {
        item.view.bytes = Math.max(0, item.view.bytes + delta);
        if (delta > 0) item.reached = Math.max(item.reached ?? 0, item.view.bytes);
        this.markDirty(item);
      },
      onVerifying: () => {
        if (item.view.state !== 'active') return;
        verifying = true;
        this.verifyingCount++;
        this.setState(item, 'verifying');
        freeSlot(); // pipelining: the next file may start while this one is committed
      },
    };
    // Uploads and downloads both pass through 'verifying'; whichever way this attempt ends,
    // it leaves that count, and the queue may then start more (pump() stops at MAX_VERIFYING).
    let verifying = false;
    const endVerifying = (): void => {
      if (!verifying) return;
      verifying = false;
      this.verifyingCount--;
      this.pump();
    };
    try {
      const decision = item.decision ?? this.batchDecisions.get(item.batch) ?? (this.conflict === 'ask' ? undefined : this.conflict);
      // Partials are always ours to continue: the SHA-256 check catches a changed source.
      const resume = true;
      if (item.view.direction === 'upload') {
        const result = await uploadFile(this.session, item.view.localPath, item.view.remotePath, {
          ...hooks,
          exists: decision === undefined ? 'fail' : decision === 'resume' ? 'overwrite' : decision,
          resume,
        });
        endVerifying();
        item.view.remotePath = result.path;
        item.view.verified = !result.skipped;
        item.view.bytes = item.view.size;
        this.finish(item, result.skipped ? 'skipped' : 'done');
      } else {
        const result = await downloadFile(this.session, item.view.remotePath, item.view.localPath, {
          ...hooks,
          exists: decision === undefined ? 'fail' : decision === 'resume' ? 'overwrite' : decision,
          resume,
        });
        endVerifying();
        item.view.localPath = result.path;
        item.view.verified = !result.skipped;
        item.view.bytes = item.view.size;
        this.finish(item, result.skipped ? 'skipped' : 'done');
      }
    } catch (err) {
      endVerifying();
      await this.failed(item, toFerryError(err));
    } finally {
      endVerifying();
      this.endAttempt(item, generation);
      freeSlot();
    }
  }

  /** An attempt ended: it lets go of the row's stop handle, unless a newer attempt holds it now. */
  private endAttempt(item: Item, generation: number): void {
    if (item.generation !== generation) return;
    item.controller = undefined;
    item.stop = undefined;
  }

  private async failed(item: Item, err: FerryError): Promise<void> {
    if (item.stopReason === 'pause') return this.pauseNow(item);
    if (item.stopReason === 'cancel' || this.closed) return this.finish(item, 'cancelled');
    if (!item.controller) {
      // A small file of a batch: a question or a retry delay must be stoppable too.
      const controller = new AbortController();
      item.controller = controller;
      item.stop = () => controller.abort();
    }
    if (err.code === 'EEXIST' && item.decision === undefined && this.conflict === 'ask' && this.options.resolveConflict) {
      let decision: ConflictDecision;
      // Waiting for an answer: queued (it can be paused or cancelled), held back from pump().
      item.backingOff = true;
      this.setState(item, 'queued');
      try {
        decision = await this.decide(item, this.options.resolveConflict).finally(() => (item.backingOff = false));
      } catch (askError) {
        if (item.stopReason === 'pause') return this.pauseNow(item);
        if (item.stopReason === 'cancel' || this.closed) return this.finish(item, 'cancelled');
        return this.fail(item, toFerryError(askError));
      }
      // Paused or cancelled while the question was open (which withdrew it).
      if (item.stopReason === 'pause') return this.pauseNow(item);
      if (item.stopReason === 'cancel' || this.closed) return this.finish(item, 'cancelled');
      item.decision = decision;
      item.view.attempts = 0;
      this.setState(item, 'queued');
      return this.pump();
    }
    if (RETRYABLE.has(err.code) && item.view.attempts <= this.retries) {
      // The connection dropped: wait, log in again if needed, then resume from what arrived.
      // Queued meanwhile, but held back from pump() until the delay is over.
      item.backingOff = true;
      this.setState(item, 'queued');
      let reconnectError: FerryError | undefined;
      try {
        await sleep(Math.min(8000, 250 * 2 ** (item.view.attempts - 1)), item.controller?.signal);
        await this.ensureConnected().catch((e: unknown) => {
          reconnectError = toFerryError(e);
        });
      } finally {
        item.backingOff = false;
      }
      // Paused or cancelled while waiting.
      if (item.stopReason === 'pause') return this.pauseNow(item);
      if (item.stopReason === 'cancel' || this.closed) return this.finish(item, 'cancelled');
      if (reconnectError && item.view.attempts >= this.retries) return this.fail(item, reconnectError);
      return this.pump();
    }
    this.fail(item, err);
  }

  /**
   * Ask about a conflict, one question at a time. An earlier answer that applies to all of
   * its batch settles that batch's questions waiting behind it without asking again; other
   * batches (a later drop) are still asked.
   */
  private decide(item: Item, resolve: NonNullable<QueueOptions['resolveConflict']>): Promise<ConflictDecision> {
    const turn = this.asking.then(async (): Promise<ConflictDecision> => {
      const earlier = this.batchDecisions.get(item.batch);
      if (earlier !== undefined) return earlier;
      const signal = AbortSignal.any([this.closing.signal, item.controller?.signal ?? new AbortController().signal]);
      signal.throwIfAborted();
      const existing = await this.existing(item).catch(() => ({ size: 0, mtime: 0 }));
      const { decision, applyToAll } = await untilAborted(
        resolve({ transfer: { ...item.view }, existing, batch: item.batch }, signal),
        signal,
      );
      if (applyToAll) this.batchDecisions.set(item.batch, decision);
      return decision;
    });
    this.asking = turn.catch(() => undefined);
    return turn;
  }

  private pauseNow(item: Item): void {
    item.view.speed = 0;
    item.view.eta = null;
    // A pause is not a failed attempt, and the row keeps showing how far it got (the
    // transfer takes back what it sent when it stops; resuming starts from the server's
    // partial, which is about that much).
    if (item.view.attempts > 0) item.view.attempts--;
    if (item.reached !== undefined) item.view.bytes = Math.min(item.view.size, item.reached);
    this.setState(item, 'paused');
  }

  private fail(item: Item, err: FerryError): void {
    item.view.error = err.toInfo();
    item.view.speed = 0;
    item.view.eta = null;
    this.finish(item, 'failed');
  }

  private async existing(item: Item): Promise<{ size: number; mtime: number }> {
    if (item.view.direction === 'upload') {
      const entry = await this.session.stat(item.view.remotePath);
      return { size: entry.size, mtime: entry.mtime };
    }
    const info = await stat(item.view.localPath);
    return { size: info.size, mtime: info.mtimeMs };
  }

  private ensureConnected(): Promise<void> {
    return this.session.connected ? Promise.resolve() : this.session.reconnect();
  }

  // ---- state and progress ------------------------------------------------------------------

  private finish(item: Item, state: TransferState): void {
    if (state === 'done' || state === 'skipped') {
      item.view.speed = 0;
      item.view.eta = 0;
    }
    this.setState(item, state);
  }

  private setState(item: Item, state: TransferState): void {
    const was = isWaiting(item.view.state);
    item.view.state = state;
    if (state === 'queued') this.pumpFrom = 0;
    const now = isWaiting(state);
    if (was !== now) this.waitingCount += now ? 1 : -1;
    if (was && !now) {
      const signal = this.settledSignal;
      this.settledSignal = undefined;
      signal?.resolve();
    }
    this.markDirty(item);
  }

  private markDirty(item: Item): void {
    this.dirty.add(item.view.id);
    if (this.flushTimer === undefined && !this.closed) {
      this.flushTimer = setTimeout(() => this.flush(), this.progressIntervalMs);
      this.flushTimer.unref?.();
    }
  }

  /** Emit one batched update for everything that changed since the last one. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.dirty.size === 0) return;
    const now = performance.now();
    const updates: TransferView[] = [];
    for (const id of this.dirty) {
      const item = this.items.get(id);
      if (!item) continue;
      const view = item.view;
      if (view.state === 'active') {
        const last = this.rate.get(id);
        if (last && now > last.at) {
          const instant = ((view.bytes - last.bytes) * 1000) / (now - last.at);
          // Smooth the speed so the ETA does not jump around with every batch.
          view.speed = view.speed === 0 ? Math.max(0, instant) : Math.max(0, 0.7 * view.speed + 0.3 * instant);
          view.eta = view.speed > 0 ? Math.max(0, (view.size - view.bytes) / view.speed) : null;
        }
        this.rate.set(id, { at: now, bytes: view.bytes });
        // Keep active rows in the next batch so their speed decays when bytes stop.
      }
      updates.push({ ...view });
    }
    this.dirty.clear();
    for (const u of updates) if (u.state === 'active') this.dirty.add(u.id);
    if (this.dirty.size > 0 && !this.closed) {
      this.flushTimer = setTimeout(() => this.flush(), this.progressIntervalMs);
      this.flushTimer.unref?.();
    }
    if (updates.length > 0) this.emit({ kind: 'updated', transfers: updates });
  }

  private emit(change: TransferChange): void {
    const event: TransferEvent = { ...change, totals: this.totals() };
    for (const listener of this.listeners) listener(event);
  }
}

function newBatch(): string {
  return `b${randomBytes(6).toString('hex')}`;
}

/** `promise`, or a rejection (ECANCELED) as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new FerryError('ECANCELED', 'the question was withdrawn'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** mkdir -p fails with EEXIST (or ENOTDIR) when the path, or one on the way, is a file. */
function notAFolder(err: unknown, dir: string): FerryError {
  const e = toFerryError(err);
  return e.code === 'EEXIST' || e.code === 'ENOTDIR' ? new FerryError('ENOTDIR', `${dir} is not a folder`) : e;
}

/** Files whose size and mtime are read at once while a folder is scanned. */
const SCAN_PARALLEL = 32;

async function scanLocal(
  local: string,
  remote: string,
  files: Array<{ local: string; remote: string; size: number; mtime: number }>,
  dirs: string[],
  /** stat with blocking calls (see QueueOptions.blockingSmallIo). */
  blocking: boolean,
): Promise<void> {
  const entries = await readdir(local, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  // Links to files are followed (like scp -r); links to folders are not (no loops).
  const candidates = entries.filter((e) => e.isFile() || e.isSymbolicLink());
  const infos: Array<Stats | null> = new Array(candidates.length).fill(null);
  if (blocking) {
    for (let i = 0; i < candidates.length; i++) {
      try {
        infos[i] = statSync(path.join(local, candidates[i]!.name));
      } catch {
        infos[i] = null; // as below: a dangling link or an unreadable entry is not sent
      }
    }
  }
  for (let i = 0; i < candidates.length && !blocking; i += SCAN_PARALLEL) {
    await Promise.all(
      candidates.slice(i, i + SCAN_PARALLEL).map(async (entry, k) => {
        infos[i + k] = await stat(path.join(local, entry.name)).catch(() => null);
      }),
    );
  }
  const info = new Map(candidates.map((e, i) => [e, infos[i]!] as const));
  for (const entry of entries) {
    const childLocal = path.join(local, entry.name);
    const childRemote = joinRemote(remote, entry.name);
    if (entry.isDirectory()) {
      dirs.push(childRemote);
      await scanLocal(childLocal, childRemote, files, dirs, blocking);
    } else {
      const st = info.get(entry);
      if (st?.isFile()) files.push({ local: childLocal, remote: childRemote, size: st.size, mtime: st.mtimeMs });
    }
  }
}
