/**
 * The session's transfer queue as the UI sees it: made at each login (the rows of the
 * previous one are removed), closed with the session, and its events relayed as
 * 'transfers:event' (rows and the queue's totals, both computed by the queue).
 */
import { stat } from 'node:fs/promises';
import type { TransfersSnapshot } from '../../shared/common/contract.js';
import type { CheckAlgorithm } from '../../shared/common/checks.js';
import { FerryError } from '../../shared/common/errors.js';
import type { TransferEvent, TransferId, TransferView } from '../../shared/common/transfer-model.js';
import { queueTotals } from '../queue/queue-totals.js';
import { TransferQueue, type QueueOptions } from '../queue/transfer-queue.js';
import type { Remote } from '../remote/remote.js';
import type { Emit } from './backend-types.js';

/** How long closing waits for running transfers to see their abort. */
const CLOSE_WAIT_MS = 5000;

export class QueueRelay {
  private queue: TransferQueue | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly emit: Emit,
    private readonly options: Pick<QueueOptions, 'resolveConflict' | 'progressIntervalMs' | 'onDone' | 'rateLimits'>,
    /** Told of every event after the UI (the change feed, the spool). */
    private readonly onEvent: (event: TransferEvent) => void,
    /** Throws unless the session can be used now (connected, not reconnecting). */
    private readonly requireSession: () => unknown,
  ) {}

  /** The queue (connected or reconnecting), if a session ever started. */
  get current(): TransferQueue | undefined {
    return this.queue;
  }

  /** A new login: a new queue, and the old one's rows leave the list. */
  start(session: Remote, concurrency: number, check?: CheckAlgorithm): void {
    const old = this.queue;
    this.unsubscribe?.();
    if (old) {
      const ids = old.list().map((t) => t.id);
      if (ids.length > 0) this.relay({ kind: 'removed', ids, totals: queueTotals([]) });
    }
    const queue = new TransferQueue(session, { concurrency, conflict: 'ask', ...(check ? { check } : {}), ...this.options });
    this.queue = queue;
    this.unsubscribe = queue.on((event) => this.relay(event));
  }

  /** The session ends: cancel the transfers, let them see it (so no spooled file is in use), report it. */
  async close(): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    queue.close();
    await Promise.race([queue.idle(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    queue.flush();
  }

  /** The queue, for new work: only while connected. */
  requireQueue(): TransferQueue {
    this.requireSession();
    if (!this.queue) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    return this.queue;
  }

  /** The queue holding transfer `id` (row controls work while reconnecting too). */
  queueOf(id: string): TransferQueue {
    const queue = this.queue;
    if (!queue?.get(id as TransferId)) throw new FerryError('ENOENT', `There is no transfer "${id}" (it may have been cleared).`);
    return queue;
  }

  get(id: TransferId): TransferView | undefined {
    return this.queue?.get(id);
  }

  /** 'transfers:list': the rows and the totals, as the events would have built them. */
  snapshot(): TransfersSnapshot {
    return { transfers: this.queue?.list() ?? [], totals: this.queue?.totals() ?? queueTotals([]) };
  }

  /** Local files of this backend's finished downloads among `ids` (for a drag out). */
  async downloadedFiles(ids: readonly string[]): Promise<string[]> {
    const files: string[] = [];
    for (const id of new Set(ids)) {
      const view = this.queue?.get(id as TransferId);
      if (!view || view.direction !== 'download' || view.state !== 'done') continue;
      const info = await stat(view.localPath).catch(() => null);
      if (info?.isFile()) files.push(view.localPath);
    }
    return files;
  }

  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private relay(event: TransferEvent): void {
    this.emit('transfers:event', event);
    this.onEvent(event);
  }
}
