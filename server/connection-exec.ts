/**
 * The `exec` requests of one connection: permission (as the user database says now) and
 * per-session limits, the command
 * run in the session's folder on the host (exec-runner.ts), its output streamed as frames.
 */
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import { startExec, type RunningExec } from './exec-runner.js';

export class ExecRequests {
  private running = 0;

  constructor(private readonly conn: ConnectionScope) {}

  /** Commands running on this connection (a connection with one is not idle while it is silent). */
  get active(): number {
    return this.running;
  }

  async run(req: Req<'exec'>): Promise<void> {
    const { conn } = this;
    const ses = conn.session;
    // Cancellable from the start: a cancel (or a disconnect) that arrives while the
    // command is still being set up must stop it too, not find nothing to stop.
    let run: RunningExec | undefined;
    let cancelled = false;
    conn.running.set(req.id, () => {
      cancelled = true;
      run?.cancel();
    });
    try {
      await this.admit();
    } catch (err) {
      conn.running.delete(req.id);
      throw err;
    }
    const { limits, execHost } = conn.ctx;
    ses.execs++;
    this.running++;
    const started = Date.now();
    try {
      const cwd = await execHost.hostPath(ses.account, ses.cwd);
      const home = await execHost.hostPath(ses.account, '/');
      if (conn.closed || conn.stopping) throw new FerryError('ECONN', 'the connection closed');
      if (cancelled) throw new FerryError('ECANCELED', 'the command was cancelled', { code: null, signal: null });
      run = startExec({
        command: req.command,
        cwd,
        home,
        user: ses.account.name,
        timeoutMs: Math.min(req.timeout ?? limits.execTimeoutMs, limits.execMaxTimeoutMs),
        outputCap: limits.execOutputCap,
        onOutput: (stream, chunk) => conn.send({ type: 'exec-output', id: req.id, stream }, chunk),
      });
      const r = run;
      const result = await run.done.catch((err: unknown) => {
        const e = toFerryError(err);
        conn.ctx.log(`exec user=${ses.account.name} pid=${r.pid ?? '-'} failed ${e.code} ${Date.now() - started} ms`);
        throw e;
      });
      conn.ctx.log(
        `exec user=${ses.account.name} pid=${run.pid ?? '-'} ${result.reason} code=${result.code ?? '-'}${result.signal ? ` signal=${result.signal}` : ''} ${Date.now() - started} ms`,
      );
      const exit = { code: result.code, signal: result.signal };
      switch (result.reason) {
        case 'exit':
          return await conn.send({ type: 'ok', id: req.id, ...exit });
        case 'cancelled':
          throw new FerryError('ECANCELED', 'the command was cancelled', exit);
        case 'timeout':
          throw new FerryError('ETIMEDOUT', 'the command ran longer than its time limit and was stopped', exit);
        case 'output-cap':
          throw new FerryError('ETOOBIG', 'the command printed more than the output limit and was stopped', exit);
      }
    } finally {
      ses.execs--;
      this.running--;
      conn.running.delete(req.id);
      // The command may have created or deleted files behind the storage layer's back.
      execHost.invalidateUsage(ses.account);
    }
  }

  /** EPERM unless the account may run commands (read fresh: `--no-exec` applies at once); EBUSY at the session's limit. */
  private async admit(): Promise<void> {
    const { conn } = this;
    const ses = conn.session;
    const { limits } = conn.ctx;
    if (!(await conn.ctx.sessions.current(ses)).exec) {
      conn.ctx.log(`exec user=${ses.account.name} refused EPERM`);
      throw new FerryError('EPERM', 'this account may not run commands');
    }
    if (ses.execs >= limits.maxExecsPerSession) {
      conn.ctx.log(`exec user=${ses.account.name} refused EBUSY`);
      throw new FerryError('EBUSY', `at most ${limits.maxExecsPerSession} commands may run at once`);
    }
  }
}
