/**
 * Getting a dropped session back: log in again (Ferry: with the session's keys, so no
 * password and no KDF; SFTP: with the login kept in memory) after waits that grow, until it works, a new connect or a disconnect replaces the
 * session, the attempts run out, or an error that waiting cannot fix comes back.
 */
import { FerryError, toFerryError, type ErrorCode, type ErrorInfo } from '../../../shared/common/errors.js';
import type { Remote } from '../../remote/remote.js';

const DEFAULT_DELAYS = [500, 1000, 2000, 4000, 8000, 15_000];
const DEFAULT_ATTEMPTS = 20;
/** Waiting will not fix these. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['EAUTH', 'EHOSTKEY', 'ECANCELED', 'EPROTO']);

export type ReconnectOutcome =
  | { readonly kind: 'reconnected' }
  | { readonly kind: 'gave-up'; readonly error: ErrorInfo }
  /** Another connect or a disconnect took over: nothing more to report. */
  | { readonly kind: 'replaced' };

export interface ReconnectHooks {
  /** False once the session was replaced. */
  current(): boolean;
  /** Attempt `attempt` is about to wait (the state shows it). */
  waiting(attempt: number, error: ErrorInfo): void;
  /** Before each attempt (the local server may need starting again). */
  beforeAttempt(): Promise<unknown>;
}

export class ReconnectLoop {
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly delaysMs: readonly number[] = DEFAULT_DELAYS,
    private readonly attempts: number = DEFAULT_ATTEMPTS,
  ) {}

  /** End the current wait now (the session was replaced: the loop sees it and stops). */
  wake(): void {
    this.wakeUp?.();
  }

  async run(session: Remote, cause: FerryError | undefined, hooks: ReconnectHooks): Promise<ReconnectOutcome> {
    let error: ErrorInfo = (cause ?? new FerryError('ECONN', 'The connection was lost.')).toInfo();
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (!hooks.current()) return { kind: 'replaced' };
      hooks.waiting(attempt, error);
      await this.wait(this.delaysMs[Math.min(attempt - 1, this.delaysMs.length - 1)] ?? 1000);
      if (!hooks.current()) return { kind: 'replaced' };
      try {
        await hooks.beforeAttempt();
        await session.reconnect();
        return hooks.current() ? { kind: 'reconnected' } : { kind: 'replaced' };
      } catch (err) {
        const e = toFerryError(err, 'ECONN');
        error = e.toInfo();
        if (FINAL.has(e.code)) break;
      }
    }
    return hooks.current() ? { kind: 'gave-up', error } : { kind: 'replaced' };
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.wakeUp = undefined));
  }
}
