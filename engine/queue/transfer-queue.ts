/**
 * The transfer queue: what the CLI and the desktop app hand their uploads and downloads
 * to, over any Remote. It expands folders, runs a few files at a time (small files whole
 * and pipelined, whole-files.ts; others streamed, streamed.ts), decides what follows a
 * failed attempt (retry and resume, ask about a conflict, pause, cancel, fail), and
 * reports progress in batches (about ten events a second for the whole queue).
 */
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { ENGINE_DEFAULT_CHECK, type CheckAlgorithm, type Digest } from '../../shared/common/checks.js';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { toFerryError, type FerryError, type ErrorCode } from '../../shared/common/errors.js';
import {
  FINAL_STATES,
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
import type { Remote } from '../remote/remote.js';
import { queueTotals } from './queue-totals.js';
import { sleep } from '../sleep.js';
import { ConflictDesk, type ResolveConflict } from './conflicts.js';
import { partialPathFor, remoteBasename } from './local-files.js';
import { ProgressBatcher } from './progress.js';
import type { RateLimits } from './rate-limit.js';
import { Rows } from './rows.js';
import { Load, type QueueHost, type SucceedResult } from './queue-host.js';
import { DOWNLOAD_LIMITS, planDownload, planUpload, type DownloadLimits, type UploadScan } from './plan.js';
import { writeSmallFile } from './small-files.js';
import { SmallFileWriter } from './small-writer.js';
import { checkFor } from './transfers.js';
import { runStreamed } from './streamed.js';
import { claim, end, hold, newItem, startable, stopAttempt, unhold, type Attempt, type Item } from './transfer-item.js';
import { runWholeBatch } from './whole-files.js';

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
  readonly resolveConflict?: ResolveConflict;
  /** Refuse an upload up front when it cannot fit the quota (default true). */
  readonly checkQuota?: boolean;
  /**
   * Scan folders to upload, read small files to upload and write small downloads with
   * blocking calls instead of through the I/O threads (default false). Cheaper by far (a
   * 4 KiB file costs a few system calls, not a few trips through the I/O threads), but it
   * holds the thread for each file: only for a process that has nothing else to serve
   * meanwhile (the CLI), never for the desktop app's main process.
   */
  readonly blockingSmallIo?: boolean;
  /** How deep and how big one folder download may be (default DOWNLOAD_LIMITS, plan.ts). */
  readonly downloadLimits?: DownloadLimits;
  /** Speed limits, usually the app's, shared with other queues (default: none). */
  readonly rateLimits?: RateLimits;
  /** Told of every file that ends 'done' (the transfer history records it). */
  readonly onDone?: (done: FinishedTransfer) => void;
  /**
   * The check asked for (default XXH3-128, ENGINE_DEFAULT_CHECK; 'sha256' when the person
   * asks for SHA-256 on every transfer). A remote that does not compute it gets SHA-256.
   */
  readonly check?: CheckAlgorithm;
}

/** A file that ended 'done', as the history needs it. */
export interface FinishedTransfer {
  readonly view: TransferView;
  /** The digest both ends agreed on, or null when only the size was checked. */
  readonly digest: Digest | null;
  /** How long its attempts ran, in ms. */
  readonly durationMs: number;
  readonly finishedAt: number;
}

/** A transfer to add again as it was planned before (a saved queue restored after a restart). */
export interface PlannedTransfer {
  readonly name: string;
  readonly localPath: string;
  readonly remotePath: string;
  readonly size: number;
  /** How long it had been moving before (ms), so the history's time and speed count the whole of it. */
  readonly activeMs?: number | undefined;
}

/** What one upload() or download() call asks of its own files. */
export interface BatchOptions {
  /**
   * What to do where a target exists, decided up front for these files (the queue's own
   * policy otherwise): a sync replaces the files its plan said differ.
   */
  readonly conflict?: ConflictDecision;
  /** Uploads: a replaced file takes the source's mode too (`scp -p`); else it keeps its own. */
  readonly preserveMode?: boolean;
  /** Uploads: the local scan of these paths, when it was started earlier (scanUpload), e.g. while connecting. */
  readonly scanned?: Promise<UploadScan>;
}

/** Errors worth another attempt: the connection, not the request, failed. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['ECONN', 'ETIMEDOUT', 'EBUSY']);
/** Small files handed to one pipelined batch (one slot, one lane) at most. */
const BATCH_FILES = 64;

export class TransferQueue implements QueueHost {
  private readonly items = new Map<TransferId, Item>();
  private readonly order: TransferId[] = [];
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private concurrency: number;
  private readonly retries: number;
  readonly conflicts: ConflictDesk;
  readonly progress: ProgressBatcher;
  readonly load = new Load(() => this.pump());
  readonly blockingSmallIo: boolean;
  readonly limits: RateLimits | undefined;
  private readonly rows: Rows;
  /** pump() starts here: nothing before it is queued (reset when a transfer is queued again). */
  private pumpFrom = 0;
  /** The check asked for (QueueOptions.check; a setting may change it for the transfers that start next). */
  private asked: CheckAlgorithm;
  closed = false;
  /** Writes small downloads on a thread of its own (started with the first one). */
  private readonly writer = new SmallFileWriter();

  constructor(
    readonly remote: Remote,
    private readonly options: QueueOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.retries = options.retries ?? 5;
    this.blockingSmallIo = options.blockingSmallIo ?? false;
    this.limits = options.rateLimits;
    this.asked = options.check ?? ENGINE_DEFAULT_CHECK;
    this.conflicts = new ConflictDesk(options.conflict ?? 'overwrite', options.resolveConflict);
    this.progress = new ProgressBatcher(options.progressIntervalMs ?? 100, (id) => this.items.get(id), (transfers) => this.emit({ kind: 'updated', transfers }));
    this.rows = new Rows(this.progress, () => (this.pumpFrom = 0));
  }

  on(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setConcurrency(n: number): void {
    this.concurrency = Math.max(1, Math.min(32, Math.floor(n)));
    this.pump();
  }

  /** The check asked for from now on ('sha256': SHA-256 on every transfer). */
  setCheck(check: CheckAlgorithm): void {
    this.asked = check;
  }

  /** The check asked for, whether or not the remote offers it. */
  get askedCheck(): CheckAlgorithm {
    return this.asked;
  }

  /** The check a transfer starting now makes: the one asked for if the remote computes it, else SHA-256. */
  get check(): CheckAlgorithm {
    return checkFor(this.remote, this.asked);
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
   * scanned and created first so totals are honest from the start; where the remote has a
   * quota, an upload that cannot fit it is refused before anything is sent (EQUOTA).
   */
  async upload(localPaths: readonly string[], remoteDir: string, options: BatchOptions = {}): Promise<TransferView[]> {
    await this.ensureConnected(); // the connection may have dropped while the queue sat idle
    const checkQuota = this.options.checkQuota ?? true;
    const policy = options.conflict ?? this.conflicts.policy;
    const files = await planUpload(this.remote, localPaths, remoteDir, { blocking: this.blockingSmallIo, checkQuota, policy, scanned: options.scanned });
    const added = files.map((f) => ({ name: remoteBasename(f.remote), localPath: f.local, remotePath: f.remote, size: f.size, mtime: f.mtime }));
    return this.add('upload', added, options.conflict, options.preserveMode ?? false);
  }

  /**
   * Download remote files and folders into the local folder `localDir` (folders recursively,
   * within QueueOptions.downloadLimits: ETOOBIG past them, before any file moves).
   */
  async download(remotePaths: readonly string[], localDir: string, options: BatchOptions = {}): Promise<TransferView[]> {
    await this.ensureConnected();
    const files = await planDownload(this.remote, remotePaths, localDir, this.options.downloadLimits ?? DOWNLOAD_LIMITS);
    return this.add('download', files.map((f) => ({ name: path.basename(f.local), localPath: f.local, remotePath: f.remote, size: f.size })), options.conflict);
  }

  /**
   * Add transfers planned earlier (a saved queue after a restart) as one batch, without
   * planning them again: each continues from its partial (the runners always resume) and
   * is checked as usual; `conflict` is the batch's answer, if it had one.
   */
  restore(direction: TransferDirection, planned: readonly PlannedTransfer[], conflict?: ConflictDecision): TransferView[] {
    const views = this.add(direction, planned, conflict);
    views.forEach((v, i) => (this.items.get(v.id)!.activeMs = planned[i]!.activeMs ?? 0));
    return views;
  }

  /** The answer a transfer's conflict would get now (its own, its batch's, the policy's), if any. */
  decisionOf(id: TransferId): ConflictDecision | undefined {
    const item = this.items.get(id);
    return item ? this.conflicts.decisionFor(item) : undefined;
  }

  /** How long a transfer has been moving so far (ms), its running attempt included. */
  activeMsOf(id: TransferId): number {
    const item = this.items.get(id);
    if (!item) return 0;
    const run = item.run;
    return item.activeMs + (run.kind === 'running' || run.kind === 'held' ? Date.now() - run.attempt.startedAt : 0);
  }

  private add(
    direction: TransferDirection,
    files: ReadonlyArray<{ name: string; localPath: string; remotePath: string; size: number; mtime?: number }>,
    decision?: ConflictDecision,
    preserveMode = false,
  ): TransferView[] {
    const batch = `b${randomBytes(6).toString('hex')}`;
    const added: TransferView[] = [];
    for (const f of files) {
      const id = `t${randomBytes(6).toString('hex')}` as TransferId;
      const view: TransferView = { id, direction, name: f.name, localPath: f.localPath, remotePath: f.remotePath, size: f.size, bytes: 0, speed: 0, eta: null, state: 'queued', verified: false, check: null, attempts: 0 };
      this.rows.added();
      const item = newItem(view, batch, f.mtime);
      item.decision = decision;
      item.preserveMode = preserveMode;
      this.items.set(id, item);
      this.order.push(id);
      added.push({ ...view });
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
    if (!stopAttempt(item, 'pause')) this.setState(item, 'paused');
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
    if (!stopAttempt(item, 'cancel')) this.rows.finish(item, 'cancelled');
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
        this.progress.forget(id);
        removed.push(id);
      }
    }
    this.pumpFrom = 0;
    if (removed.length > 0) this.emit({ kind: 'removed', ids: removed });
  }

  /** Resolves when every transfer added so far is done, skipped, failed or cancelled (or paused). */
  async idle(): Promise<void> {
    await this.rows.idle();
    this.flush();
  }

  /** Send the pending progress now. */
  flush(): void {
    this.progress.flush();
  }

  close(): void {
    this.closed = true;
    this.writer.close();
    this.conflicts.close();
    this.cancelAll();
    this.progress.stop();
  }

  // ---- running -------------------------------------------------------------------------------

  private pump(): void {
    if (this.closed) return;
    for (let i = this.pumpFrom; i < this.order.length; i++) {
      if (!this.load.canStart(this.concurrency)) return;
      const item = this.items.get(this.order[i]!)!;
      if (item.view.state !== 'queued' || item.run.kind === 'claimed') {
        if (i === this.pumpFrom) this.pumpFrom++;
        continue;
      }
      if (!startable(item)) continue; // held: a retry delay or a question
      const freeSlot = this.load.takeSlot();
      if (!this.isWhole(item)) {
        void runStreamed(this, item, freeSlot); // sets 'active' before its first await
        continue;
      }
      // Small files go in a pipelined batch: the startable small files that follow, same way.
      const batch = [item];
      for (let j = i + 1; j < this.order.length && batch.length < BATCH_FILES; j++) {
        const next = this.items.get(this.order[j]!)!;
        if (!startable(next)) continue;
        if (next.view.direction !== item.view.direction || !this.isWhole(next)) break;
        batch.push(next);
      }
      for (const b of batch) claim(b);
      runWholeBatch(this, batch, freeSlot); // starts its first files (sets them 'active') before returning
    }
  }

  /** A file moved whole and pipelined with others (whole-files.ts). */
  private isWhole(item: Item): boolean {
    return item.way === 'whole' && item.view.size <= WHOLE_FILE_MAX && this.remote.capabilities.wholeFiles;
  }

  handToStreamed(item: Item, attempt: Attempt): void {
    item.way = 'streamed';
    item.view.attempts--;
    end(item, attempt);
    this.setState(item, 'queued');
    this.pump();
  }

  /** A checked small download to the disk: on the writer thread, or here if it cannot run. */
  async writeSmall(target: string, data: Buffer, mtime: number): Promise<void> {
    if (this.writer.usable) {
      try {
        return await this.writer.write(partialPathFor(target), target, data, mtime);
      } catch (err) {
        if (this.writer.usable || this.closed) throw err;
        // The thread could not run: write it here instead.
      }
    }
    await writeSmallFile(target, data, mtime, this.blockingSmallIo);
  }

  resized(item: Item, size: number): void {
    if (item.view.size === size) return;
    item.view.size = size;
    this.progress.mark(item);
  }

  // ---- how attempts end ----------------------------------------------------------------------

  succeed(item: Item, attempt: Attempt, result: SucceedResult): void {
    end(item, attempt);
    if (item.view.direction === 'upload') item.view.remotePath = result.path;
    else item.view.localPath = result.path;
    item.view.verified = result.verified;
    item.view.check = result.skipped ? null : result.verified && result.digest ? result.digest.algorithm : 'size';
    item.view.bytes = item.view.size;
    this.rows.finish(item, result.skipped ? 'skipped' : 'done');
    if (!result.skipped && this.options.onDone) {
      const digest = result.verified && result.digest ? result.digest : null;
      try {
        this.options.onDone({ view: { ...item.view }, digest, durationMs: item.activeMs, finishedAt: Date.now() });
      } catch {
        // The history is a record, never a reason for a transfer to fail.
      }
    }
  }

  async settle(item: Item, attempt: Attempt, err: FerryError): Promise<void> {
    if (this.stoppedByPerson(item, attempt)) return;
    if (err.code === 'EEXIST' && this.conflicts.asks(item)) {
      // Waiting for an answer: queued (it can be paused or cancelled), held back from pump().
      hold(item, attempt, 'conflict');
      this.setState(item, 'queued');
      const answer = await this.conflicts.decide(item, attempt.signal, () => this.existing(item)).then(
        (decision) => ({ decision }),
        (askError: unknown) => ({ askError: toFerryError(askError) }),
      );
      unhold(item, attempt);
      // Paused or cancelled while the question was open (which withdrew it).
      if (this.stoppedByPerson(item, attempt)) return;
      if ('askError' in answer) return this.fail(item, attempt, answer.askError);
      item.decision = answer.decision;
      item.view.attempts = 0;
      return this.requeue(item, attempt);
    }
    if (RETRYABLE.has(err.code) && item.view.attempts <= this.retries) {
      // The connection dropped: wait, connect again if needed, then resume from what arrived.
      hold(item, attempt, 'retry-delay');
      this.setState(item, 'queued');
      await sleep(Math.min(8000, 250 * 2 ** (item.view.attempts - 1)), attempt.signal);
      const reconnectError = await this.ensureConnected().then(
        () => undefined,
        (e: unknown) => toFerryError(e),
      );
      unhold(item, attempt);
      if (this.stoppedByPerson(item, attempt)) return;
      if (reconnectError && item.view.attempts >= this.retries) return this.fail(item, attempt, reconnectError);
      return this.requeue(item, attempt);
    }
    this.fail(item, attempt, err);
  }

  private fail(item: Item, attempt: Attempt, err: FerryError): void {
    end(item, attempt);
    this.rows.failed(item, err);
  }

  /** Paused or cancelled by the person (or the queue closed): the row says so, true. */
  private stoppedByPerson(item: Item, attempt: Attempt): boolean {
    if (attempt.stopReason === 'pause') {
      end(item, attempt);
      this.rows.paused(item);
      return true;
    }
    if (attempt.stopReason === 'cancel' || this.closed) {
      end(item, attempt);
      this.rows.finish(item, 'cancelled');
      return true;
    }
    return false;
  }

  private requeue(item: Item, attempt: Attempt): void {
    end(item, attempt);
    this.setState(item, 'queued');
    this.pump();
  }

  private async existing(item: Item): Promise<{ size: number; mtime: number }> {
    if (item.view.direction === 'upload') {
      const entry = await this.remote.stat(item.view.remotePath);
      return { size: entry.size, mtime: entry.mtime };
    }
    const info = await stat(item.view.localPath);
    return { size: info.size, mtime: info.mtimeMs };
  }

  private ensureConnected(): Promise<void> {
    return this.remote.connected ? Promise.resolve() : this.remote.reconnect();
  }

  setState(item: Item, state: TransferState): void {
    this.rows.set(item, state);
  }

  private emit(change: TransferChange): void {
    const event: TransferEvent = { ...change, totals: this.totals() };
    for (const listener of this.listeners) listener(event);
  }
}
