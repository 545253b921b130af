/**
 * The console of one front end: runs a command line (a `cd` is done by the engine, the
 * rest by the server's exec), streams its output in batches, cancels it, and reports the
 * folder it may have changed to the change feed before its exit.
 */
import { randomBytes } from 'node:crypto';
import { FerryError, toFerryError, type ErrorInfo } from '../../../shared/common/errors.js';
import type { Remote } from '../../remote/remote.js';
import type { Emit } from '../backend-types.js';
import type { ChangeFeed } from '../change-feed.js';
import { parseConsoleCommand } from './console-command.js';
import { ExecOutput } from './exec-output.js';

/** What the console needs of the connection. */
export interface ConsoleConnection {
  requireSession(): Remote;
  /** Change the session's folder (the connection state follows). */
  changeDir(p: string): Promise<string>;
  /** The folder before the last change (`cd -`). */
  readonly previousCwd: string | undefined;
}

export class ConsoleSession {
  private readonly running = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly connection: ConsoleConnection,
    private readonly changes: ChangeFeed,
    private readonly emit: Emit,
  ) {}

  /** 'exec:run': start the command line; its output and exit come as events for the returned id. */
  run(command: string): string {
    const session = this.connection.requireSession();
    const execId = `x${randomBytes(6).toString('hex')}`;
    const controller = new AbortController();
    this.running.set(execId, controller);
    void this.execute(session, execId, command, controller.signal).finally(() => this.running.delete(execId));
    return execId;
  }

  /** 'exec:cancel'. */
  cancel(execId: string): void {
    const controller = this.running.get(execId);
    if (!controller) throw new FerryError('ENOENT', `No command "${execId}" is running.`);
    controller.abort();
  }

  /** The session ends: cancel what runs. */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }

  /** No more events (the front end went away). */
  close(): void {
    this.closed = true;
    this.cancelAll();
  }

  private async execute(session: Remote, execId: string, line: string, signal: AbortSignal): Promise<void> {
    const output = new ExecOutput((stream, data) => this.emit('exec:output', { execId, stream, data }));
    let code: number | null = 0;
    let exitSignal: string | null = null;
    let error: ErrorInfo | undefined;
    let mayHaveChanged = false;
    // Start after the call's result (the execId) is on its way to the UI, so no event
    // names an execId the UI has not seen yet.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      const parsed = parseConsoleCommand(line);
      let remote: string | undefined;
      if (parsed.kind === 'unsupported') {
        output.text('stderr', `${parsed.message}\n`);
        code = 1;
      } else if (parsed.kind === 'remote') {
        remote = parsed.command;
      } else {
        try {
          const target = parsed.target === '-' ? (this.connection.previousCwd ?? session.cwd) : parsed.target;
          await this.connection.changeDir(target);
          if (parsed.target === '-') output.text('stdout', `${session.cwd}\n`);
          remote = parsed.rest?.command;
        } catch (err) {
          const e = toFerryError(err);
          if (e.code === 'ECONN') throw e;
          output.text('stderr', `cd: ${parsed.target}: ${e.message}\n`);
          code = 1;
          remote = parsed.rest?.when === 'always' ? parsed.rest.command : undefined;
        }
      }
      signal.throwIfAborted();
      if (remote !== undefined) {
        const exit = await session.exec(remote, (stream, chunk) => output.bytes(stream, chunk), { signal });
        code = exit.code;
        exitSignal = exit.signal;
        // The command may have changed files in its folder.
        mayHaveChanged = true;
      }
    } catch (err) {
      // A cancel says how the command stopped where the remote can tell (SFTP: by a signal, or by closing its channel).
      const cause = toFerryError(err);
      const e = signal.aborted && cause.code !== 'ECANCELED' ? new FerryError('ECANCELED', 'The command was cancelled.') : cause;
      const details = toFerryError(err).details;
      code = typeof details?.code === 'number' ? details.code : null;
      exitSignal = typeof details?.signal === 'string' ? details.signal : null;
      error = e.toInfo();
      // Stopped part-way: it may have changed files before it stopped.
      mayHaveChanged = e.code === 'ECANCELED' || e.code === 'ETIMEDOUT' || e.code === 'ETOOBIG';
    }
    output.end();
    if (this.closed) return;
    // Before the exit, so the UI lists the folder once, fresh, and then follows the cwd.
    if (mayHaveChanged) this.changes.now(session.cwd);
    this.emit('exec:exit', { execId, code, signal: exitSignal, ...(error ? { error } : {}), cwd: session.cwd });
  }
}
