/**
 * One transfer in the queue and the state machine of its attempts. The row's state (what
 * people see) is `view.state`; what the queue does with it is one tagged `run`, changed
 * only by the transitions below (docs/ARCHITECTURE.md, "Transfer attempts"). An attempt
 * is an object: it alone holds the controller that stops it, so an attempt that ends
 * late can never take the stop handle from a newer one.
 */
import { FerryError } from '../../shared/common/errors.js';
import type { ConflictDecision, TransferView } from '../../shared/common/transfer-model.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type StopReason = 'pause' | 'cancel';

/** One try at moving a file, whole (in a batch of small files) or streamed. */
export class Attempt {
  private readonly controller = new AbortController();
  private readonly onStop: Array<() => void> = [];
  /** Why the person stopped it, so the abort is not reported as a failure. */
  stopReason: StopReason | undefined;
  /** When it began (its running time counts towards the history's duration). */
  readonly startedAt = Date.now();

  constructor(readonly way: 'whole' | 'streamed') {}

  /** Aborts when the attempt is stopped. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Also run `fn` when stopped (e.g. close a connection only this attempt uses). */
  whenStopped(fn: () => void): void {
    if (this.stopped) fn();
    else this.onStop.push(fn);
  }

  /** Stop it; a cancel outranks a pause (clicked before the attempt had wound down). */
  stop(reason: StopReason): void {
    this.stopReason = reason === 'cancel' ? reason : (this.stopReason ?? reason);
    this.controller.abort();
    for (const fn of this.onStop.splice(0)) fn();
  }

  /** Throws ECANCELED once stopped (or when `closed`): the caller's work ends there. */
  check(closed = false): void {
    if (this.stopped || closed) throw new FerryError('ECANCELED', 'the transfer was cancelled');
  }
}

/**
 * - idle: no attempt (the row is queued, paused, or final)
 * - claimed: queued, handed to a batch of small files that has not reached it yet
 * - running: an attempt moves it (the row is active or verifying)
 * - held: queued, but not to be started until a wait ends: a retry delay, or a conflict
 *   question; the attempt that failed keeps the stop handle meanwhile
 */
export type Run =
  | { readonly kind: 'idle' }
  | { readonly kind: 'claimed' }
  | { readonly kind: 'running'; readonly attempt: Attempt }
  | { readonly kind: 'held'; readonly why: 'retry-delay' | 'conflict'; readonly attempt: Attempt };

const IDLE: Run = { kind: 'idle' };

export interface Item {
  readonly view: Mutable<TransferView>;
  /** The upload() or download() call that added it ("apply to all" covers it only). */
  readonly batch: string;
  readonly mtime: number | undefined;
  /** The answer to its conflict question, once given. */
  decision: ConflictDecision | undefined;
  /** An upload that replaces a file gives it the source's mode too (else it keeps its own). */
  preserveMode: boolean;
  /** 'streamed' once a small file must take the streamed way (it grew, or cannot be sent whole). */
  way: 'whole' | 'streamed';
  /** The most bytes the current attempt had moved (what a paused row keeps showing). */
  reached: number | undefined;
  /** How long its attempts ran, in ms (what the history calls its time). */
  activeMs: number;
  run: Run;
}

export function newItem(view: TransferView, batch: string, mtime?: number): Item {
  return { view: { ...view }, batch, mtime, decision: undefined, preserveMode: false, way: 'whole', reached: undefined, activeMs: 0, run: IDLE };
}

/** Queued and free to start (pump() may take it). */
export function startable(item: Item): boolean {
  return item.view.state === 'queued' && item.run.kind === 'idle';
}

// ---- transitions ---------------------------------------------------------------------------

/** idle → claimed: a batch of small files will start it. */
export function claim(item: Item): void {
  if (item.run.kind !== 'idle') throw new Error(`claim from ${item.run.kind}`);
  item.run = { kind: 'claimed' };
}

/** claimed → idle: the batch let it go without starting it. */
export function unclaim(item: Item): void {
  if (item.run.kind === 'claimed') item.run = IDLE;
}

/** idle | claimed → running, with a new attempt. */
export function begin(item: Item, way: Attempt['way']): Attempt {
  if (item.run.kind === 'running' || item.run.kind === 'held') throw new Error(`begin from ${item.run.kind}`);
  const attempt = new Attempt(way);
  item.run = { kind: 'running', attempt };
  return attempt;
}

/** running → held: the attempt failed and waits (retry delay, conflict question). */
export function hold(item: Item, attempt: Attempt, why: 'retry-delay' | 'conflict'): void {
  if (owns(item, attempt)) item.run = { kind: 'held', why, attempt };
}

/** held → running: the wait is over and the same attempt decides what follows. */
export function unhold(item: Item, attempt: Attempt): void {
  if (item.run.kind === 'held' && item.run.attempt === attempt) item.run = { kind: 'running', attempt };
}

/** running | held → idle, if this attempt is still the item's (a newer one may have started). */
export function end(item: Item, attempt: Attempt): void {
  if (!owns(item, attempt)) return;
  item.activeMs += Date.now() - attempt.startedAt;
  item.run = IDLE;
}

/** The attempt in charge of the item, if it is this one. */
export function owns(item: Item, attempt: Attempt): boolean {
  return (item.run.kind === 'running' || item.run.kind === 'held') && item.run.attempt === attempt;
}

/** Stop the item's attempt, if it has one (true), for `reason`. */
export function stopAttempt(item: Item, reason: StopReason): boolean {
  if (item.run.kind !== 'running' && item.run.kind !== 'held') return false;
  item.run.attempt.stop(reason);
  return true;
}
