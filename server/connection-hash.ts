/**
 * The `hash` request: a file's SHA-256 as it is now. A stored hash answers at once; a file
 * that has to be read waits for one of its session's turns (Limits.maxHashesPerSession),
 * and `cancel` stops it, waiting or reading (ECANCELED).
 */
import { digestField } from '../shared/common/checks.js';
import { FerryError } from '../shared/common/errors.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import type { Session } from './sessions.js';

/** Turns to read files for `hash`, shared by a session's connections, given out in order. */
class Turns {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  /** Resolves with the turn's release once it is this caller's; ECANCELED if `signal` fires first. */
  take(signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.busy++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.busy--;
          this.waiting.shift()?.();
        });
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new FerryError('ECANCELED', 'The hash was cancelled.'));
      };
      if (signal.aborted) return onAbort();
      if (this.busy < Math.max(1, this.max)) return grant();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }
}

const turnsOf = new WeakMap<Session, Turns>();

export async function hashRequest(conn: ConnectionScope, req: Req<'hash'>): Promise<void> {
  const { account, cwd } = conn.session;
  let turns = turnsOf.get(conn.session);
  if (!turns) {
    turns = new Turns(conn.ctx.limits.maxHashesPerSession);
    turnsOf.set(conn.session, turns);
  }
  const abort = new AbortController();
  conn.running.set(req.id, () => abort.abort());
  const started = Date.now();
  try {
    const signal = abort.signal;
    const result = await conn.ctx.storage.hashFile(account, cwd, req.path, { signal, slot: () => turns.take(signal), algorithm: req.algorithm ?? 'sha256' });
    if (result.computed) conn.ctx.log(`hash user=${account.name} ${result.size} bytes ok ${Date.now() - started} ms`);
    await conn.send({ type: 'ok', id: req.id, path: result.path, ...digestField(result.digest), fileSize: result.size, mtime: result.mtime });
  } finally {
    conn.running.delete(req.id);
  }
}
