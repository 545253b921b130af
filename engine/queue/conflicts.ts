/**
 * Conflicts: what a transfer does when its target exists, decided here and nowhere else.
 * A transfer follows its own answer, else its batch's "apply to all" answer, else the
 * queue's policy; with the policy 'ask', the request goes out with 'fail' and an EEXIST
 * becomes a question. Questions are asked one at a time (a person answers them in turn),
 * and an answer that applies to all settles the questions of its batch waiting behind it.
 */
import { FerryError } from '../../shared/common/errors.js';
import type { ExistsPolicy } from '../../shared/common/messages.js';
import type { Conflict, ConflictDecision, ConflictPolicy } from '../../shared/common/transfer-model.js';
import type { Item } from './transfer-item.js';

export type ResolveConflict = (conflict: Conflict, signal: AbortSignal) => Promise<{ decision: ConflictDecision; applyToAll: boolean }>;

export class ConflictDesk {
  /** "Apply to all" answers, per batch. */
  private readonly batchDecisions = new Map<string, ConflictDecision>();
  private asking: Promise<unknown> = Promise.resolve();
  /** Aborted by close(): withdraws open questions. */
  private readonly closing = new AbortController();

  constructor(
    readonly policy: ConflictPolicy,
    private readonly resolve: ResolveConflict | undefined,
  ) {}

  /** The item's decision, or undefined when an existing target must be asked about. */
  decisionFor(item: Item): ConflictDecision | undefined {
    return item.decision ?? this.batchDecisions.get(item.batch) ?? (this.policy === 'ask' ? undefined : this.policy);
  }

  /** What the request says to do with an existing target ('fail' until a question is answered). */
  existsPolicy(item: Item): ExistsPolicy {
    const decision = this.decisionFor(item);
    return decision === undefined ? 'fail' : decision === 'resume' ? 'overwrite' : decision;
  }

  /** An EEXIST for this item is a question for the person (not a failure). */
  asks(item: Item): boolean {
    return item.decision === undefined && this.policy === 'ask' && this.resolve !== undefined;
  }

  /**
   * Ask about the item's conflict in turn. `stop` aborts when the transfer is paused or
   * cancelled; then, or when the queue closes, the question is withdrawn (ECANCELED).
   */
  decide(item: Item, stop: AbortSignal, existing: () => Promise<{ size: number; mtime: number }>): Promise<ConflictDecision> {
    const resolve = this.resolve;
    if (!resolve) return Promise.reject(new FerryError('EEXIST', `${item.view.name} already exists`));
    const turn = this.asking.then(async (): Promise<ConflictDecision> => {
      const earlier = this.batchDecisions.get(item.batch);
      if (earlier !== undefined) return earlier;
      const signal = AbortSignal.any([this.closing.signal, stop]);
      signal.throwIfAborted();
      const found = await existing().catch(() => ({ size: 0, mtime: 0 }));
      const { decision, applyToAll } = await untilAborted(resolve({ transfer: { ...item.view }, existing: found, batch: item.batch }, signal), signal);
      if (applyToAll) this.batchDecisions.set(item.batch, decision);
      return decision;
    });
    this.asking = turn.catch(() => undefined);
    return turn;
  }

  close(): void {
    this.closing.abort();
  }
}

/** `promise`, or a rejection (ECANCELED) as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new FerryError('ECANCELED', 'the question was withdrawn'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
