/**
 * One backend's part of the saved queue (saved-queues.ts): the session's unfinished
 * transfers are saved as the queue changes (a row added, removed or changing state, not
 * its progress; gathered for SAVE_DELAY_MS, written atomically), and once more when the
 * session ends, BEFORE its transfers are stopped, so a quit keeps the queue instead of
 * cancelling it away. It also answers 'transfers:saved', 'transfers:restore' and
 * 'transfers:discardSaved' for the connection in use.
 */
import { randomBytes } from 'node:crypto';
import type { SavedQueueOffer, SavedTransfer } from '../../../shared/common/transfer-log.js';
import type { TransferEvent, TransferId, TransferState, TransferView } from '../../../shared/common/transfer-model.js';
import type { TransferQueue } from '../../queue/transfer-queue.js';
import type { Remote } from '../../remote/remote.js';
import type { SavedPart, SavedQueues } from './saved-queues.js';

const SAVE_DELAY_MS = 300;
const KEPT: ReadonlySet<TransferState> = new Set(['queued', 'active', 'verifying', 'paused', 'failed']);

/** Which connection a saved queue belongs to: its profile, else protocol and user@host:port. */
export function savedQueueKey(remote: Pick<Remote, 'protocol' | 'host' | 'user'>, profileId: string | null): string {
  return profileId !== null ? `profile:${profileId}` : `${remote.protocol}:${remote.user.name}@${remote.host}`.toLowerCase();
}

export class QueueSaver {
  private session: { queue: TransferQueue; key: string; owner: string; saved: boolean } | undefined;
  /** The last state seen of each row: only a change of these (not progress) is saved. */
  private readonly states = new Map<TransferId, TransferState>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SavedQueues,
    /** Uploads whose local files are lent by the web host's spool (gone with the page: not kept). */
    private readonly lent: (id: TransferId) => boolean,
    private readonly log: (line: string) => void,
  ) {}

  /** The connection in use (after a login), else undefined. */
  get key(): string | undefined {
    return this.session?.key;
  }

  /** A new session's queue: save it under connection `key`. */
  attach(queue: TransferQueue, key: string): void {
    const owner = `o${randomBytes(6).toString('hex')}`;
    this.store.open(owner);
    this.session = { queue, key, owner, saved: false };
    this.states.clear();
  }

  /** Every event of the queue: save when its rows or their states changed. */
  onEvent(event: TransferEvent): void {
    if (!this.session) return;
    let changed = false;
    if (event.kind === 'removed') {
      for (const id of event.ids) changed = this.states.delete(id) || changed;
    } else {
      for (const t of event.transfers) {
        if (this.states.get(t.id) === t.state) continue;
        this.states.set(t.id, t.state);
        changed = true;
      }
    }
    if (changed) this.timer ??= setTimeout(() => void this.saveNow(), SAVE_DELAY_MS).unref();
  }

  /** Save the queue as it is now (the snapshot is taken before this returns). */
  saveNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const session = this.session;
    if (!session) return this.writing;
    const part = this.part(session.queue);
    // Nothing saved yet and nothing to save: leave the file alone.
    if (!session.saved && part.transfers.length === 0 && part.leftOut === 0) return this.writing;
    session.saved = true;
    this.writing = this.writing
      .then(() => this.store.save(session.key, session.owner, part))
      .catch((err) => this.log(`could not save the transfer queue: ${(err as Error).message}`));
    return this.writing;
  }

  /** The session ends: save its queue as it is, then stop (what closing cancels is not saved). */
  async finish(): Promise<void> {
    const session = this.session;
    if (!session) return;
    await this.saveNow();
    this.session = undefined;
    this.states.clear();
    this.store.close(session.owner);
  }

  /** Unfinished transfers from an earlier session on this connection, if any. */
  offer(): Promise<SavedQueueOffer | null> {
    const key = this.key;
    return key === undefined ? Promise.resolve(null) : this.store.offer(key);
  }

  /** Add them to this session's queue again (they resume from their partials), and forget the offer. */
  async restore(): Promise<TransferView[]> {
    const session = this.session;
    if (!session) return [];
    const offer = await this.store.take(session.key);
    if (!offer) return [];
    // One batch per direction and conflict answer, as they were added.
    const batches = new Map<string, SavedTransfer[]>();
    for (const t of offer.transfers) {
      const key = `${t.direction}:${t.conflict ?? ''}`;
      batches.set(key, [...(batches.get(key) ?? []), t]);
    }
    return [...batches.values()].flatMap((batch) => session.queue.restore(batch[0]!.direction, batch, batch[0]!.conflict));
  }

  async discard(): Promise<void> {
    const key = this.key;
    if (key !== undefined) await this.store.take(key);
  }

  private part(queue: TransferQueue): SavedPart {
    const transfers: SavedTransfer[] = [];
    let leftOut = 0;
    for (const v of queue.list()) {
      if (!KEPT.has(v.state)) continue;
      if (v.direction === 'upload' && this.lent(v.id)) {
        leftOut++;
        continue;
      }
      const state = v.state === 'paused' || v.state === 'failed' ? v.state : 'queued';
      const conflict = queue.decisionOf(v.id);
      transfers.push({
        direction: v.direction,
        name: v.name,
        localPath: v.localPath,
        remotePath: v.remotePath,
        size: v.size,
        bytes: v.bytes,
        state,
        activeMs: queue.activeMsOf(v.id),
        ...(conflict !== undefined ? { conflict } : {}),
        ...(v.error ? { error: { code: v.error.code, message: v.error.message } } : {}),
      });
    }
    return { savedAt: Date.now(), transfers, leftOut };
  }
}
