/**
 * The `chmod` request: permission bits for an entry, or a whole tree with `recursive`. A
 * recursive change can be long, so `cancel` stops it between entries (ECANCELED; what was
 * changed keeps its new mode).
 */
import { FerryError } from '../shared/common/errors.js';
import type { ConnectionScope, Req } from './connection-scope.js';

export async function chmodRequest(conn: ConnectionScope, req: Req<'chmod'>): Promise<void> {
  const { account, cwd } = conn.session;
  const abort = new AbortController();
  // Cancellable from the moment it is read, before the account check.
  conn.running.set(req.id, () => abort.abort());
  try {
    await conn.ctx.sessions.current(conn.session);
    if (abort.signal.aborted) throw new FerryError('ECANCELED', 'The chmod was cancelled.');
    const result = await conn.ctx.storage.chmod(account, cwd, req.path, req.mode, { recursive: req.recursive ?? false, signal: abort.signal });
    await conn.send({ type: 'ok', id: req.id, path: result.path, changed: result.changed });
  } finally {
    conn.running.delete(req.id);
  }
}
