/**
 * The bridge between the queue's conflict questions and the UI. It decides nothing: each
 * question the queue asks becomes one 'transfers:conflict' prompt, the user's answer
 * (decision and "apply to all") goes back to the queue as it is, and a question the queue
 * withdraws (it aborts the question's signal) is withdrawn from the UI. Which files an
 * answer "for all" covers is the queue's rule alone (transfer-queue.ts).
 */
import { randomBytes } from 'node:crypto';
import { FerryError } from '../../shared/common/errors.js';
import type { Conflict, ConflictDecision } from '../../shared/common/transfer-model.js';
import type { Emit } from './backend-types.js';

export interface ConflictAnswer {
  readonly decision: ConflictDecision;
  readonly applyToAll: boolean;
}

export class ConflictBridge {
  private readonly open = new Map<string, (answer: ConflictAnswer) => void>();
  private closed = false;

  constructor(private readonly emit: Emit) {}

  /** QueueOptions.resolveConflict: ask the UI until it answers or `signal` withdraws the question. */
  ask(conflict: Conflict, signal: AbortSignal): Promise<ConflictAnswer> {
    if (this.closed) return Promise.resolve({ decision: 'skip', applyToAll: false });
    const conflictId = `c${randomBytes(6).toString('hex')}`;
    return new Promise((resolve) => {
      const withdraw = (): void => {
        if (!this.open.delete(conflictId)) return;
        if (!this.closed) this.emit('transfers:conflictWithdrawn', { conflictId });
      };
      signal.addEventListener('abort', withdraw, { once: true });
      this.open.set(conflictId, (answer) => {
        signal.removeEventListener('abort', withdraw);
        resolve(answer);
      });
      this.emit('transfers:conflict', { conflictId, transfer: conflict.transfer, existing: conflict.existing, batch: conflict.batch });
    });
  }

  /** 'transfers:resolveConflict': hand the user's answer to the question's asker. */
  answer(conflictId: string, answer: ConflictAnswer): void {
    const resolve = this.open.get(conflictId);
    if (!resolve) throw new FerryError('ENOENT', `No question "${conflictId}" is waiting for an answer.`);
    this.open.delete(conflictId);
    resolve(answer);
  }

  /** No more questions reach the UI (the front end went away). */
  close(): void {
    this.closed = true;
  }
}
