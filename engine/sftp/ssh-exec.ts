/**
 * Commands over SSH exec channels: output streamed with backpressure, the exit code or
 * signal, and a stop that says what it did (a signal the server honoured, or the channel
 * closed when it did not). Also the server-side SHA-256 that verifies SFTP transfers.
 */
import type { Client, ClientChannel } from 'ssh2';
import { FerryError } from '../../shared/common/errors.js';
import type { ExecExit, ExecStream } from '../../shared/common/messages.js';

/** How long a stopped command gets to end after SIGINT before its channel is closed. */
export const SIGNAL_GRACE_MS = 2000;
/** How long a closed channel's end is waited for before the stop is reported anyway. */
const CLOSE_WAIT_MS = 500;

/** `s` quoted for a POSIX shell (what OpenSSH runs commands with for most accounts). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** An open exec channel, and how its command ended once the server said (else undefined). */
interface OpenedExec {
  readonly channel: ClientChannel;
  readonly exit: () => ExecExit | undefined;
}

function openExec(client: Client, command: string): Promise<OpenedExec> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, channel) => {
        if (err) return reject(new FerryError('EBUSY', `The server refused a command channel: ${err.message}`));
        // Listened for here, before anything else runs: a quick command's exit status can
        // arrive in the same read as the exec's reply, and ssh2 emits it before an await
        // on this promise would resume (the stream's data and end wait; this event does not).
        let exit: ExecExit | undefined;
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { code: typeof code === 'number' ? code : null, signal: signal ? `SIG${signal.replace(/^SIG/, '')}` : null };
        });
        resolve({ channel, exit: () => exit });
      });
    } catch (err) {
      reject(new FerryError('ECONN', `Cannot run a command: ${(err as Error).message}`));
    }
  });
}

/**
 * Send a signal request. ssh2's channel.signal() sends nothing once the channel's input is
 * ended, and ours is ended at once (commands get no stdin), so the request goes through
 * the channel's protocol directly, which is what signal() itself calls.
 */
function sendSignal(channel: ClientChannel, name: 'INT' | 'TERM'): void {
  const inner = channel as unknown as { _client?: { _protocol?: { signal(id: number, name: string): void } }; outgoing?: { id: number; state: string } };
  try {
    if ((inner.outgoing?.state === 'open' || inner.outgoing?.state === 'eof') && inner._client?._protocol) inner._client._protocol.signal(inner.outgoing.id, name);
  } catch {
    // The channel is closing: the close that follows ends the command anyway.
  }
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Run `command`; `onOutput` is awaited (a slow consumer pauses the channel). A stop
 * (abort or timeout) sends SIGINT (SIGTERM for a timeout) and, if the command has not
 * ended within SIGNAL_GRACE_MS, closes the channel; the error says which happened.
 */
export async function sshExec(
  client: Client,
  command: string,
  onOutput: (stream: ExecStream, chunk: Buffer) => Promise<void> | void,
  options: ExecOptions = {},
): Promise<ExecExit> {
  if (options.signal?.aborted) throw new FerryError('ECANCELED', 'The command was cancelled before it started.');
  const { channel, exit: exited } = await openExec(client, command);
  // No input: a command that reads stdin sees its end at once.
  channel.end();
  return new Promise<ExecExit>((resolve, reject) => {
    let stop: { readonly why: 'cancel' | 'timeout'; readonly signal: 'INT' | 'TERM' } | undefined;
    let closedByUs = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const pending = new Set<Promise<void>>();

    const pipe = (stream: ExecStream, source: NodeJS.ReadableStream): void => {
      source.on('data', (chunk: Buffer) => {
        const result = onOutput(stream, chunk);
        if (result && typeof (result as Promise<void>).then === 'function') {
          source.pause();
          const p = (result as Promise<void>).then(
            () => void source.resume(),
            () => void source.resume(),
          );
          pending.add(p);
          void p.finally(() => pending.delete(p));
        }
      });
    };
    pipe('stdout', channel);
    pipe('stderr', channel.stderr);

    const halt = (why: 'cancel' | 'timeout'): void => {
      if (stop || exited()) return;
      stop = { why, signal: why === 'cancel' ? 'INT' : 'TERM' };
      sendSignal(channel, stop.signal);
      graceTimer = setTimeout(() => {
        closedByUs = true;
        channel.close();
        // OpenSSH answers the close only once the command has ended: do not wait for that.
        graceTimer = setTimeout(finish, CLOSE_WAIT_MS);
      }, SIGNAL_GRACE_MS);
    };
    const onAbort = (): void => halt('cancel');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = options.timeoutMs ? setTimeout(() => halt('timeout'), options.timeoutMs) : undefined;

    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(graceTimer);
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      void Promise.all(pending).then(() => {
        const exit = exited();
        const details = { code: exit?.code ?? null, signal: exit?.signal ?? null };
        if (stop) {
          const how = closedByUs
            ? `the server did not stop it on SIG${stop.signal}, so its channel was closed (it may run on until it notices)`
            : `stopped by SIG${stop.signal} on the server`;
          const what = stop.why === 'cancel' ? 'The command was cancelled' : 'The command ran out of time';
          return reject(new FerryError(stop.why === 'cancel' ? 'ECANCELED' : 'ETIMEDOUT', `${what}: ${how}.`, { ...details, stoppedBy: closedByUs ? 'channel-closed' : 'signal' }));
        }
        if (!exit) return reject(new FerryError('ECONN', 'The connection closed before the command ended.'));
        resolve(exit);
      });
    };
    channel.on('close', finish);
  });
}

/** Run a short command and collect its output (bounded). */
export async function sshCapture(client: Client, command: string, maxBytes: number, timeoutMs: number): Promise<{ exit: ExecExit; stdout: string }> {
  let stdout = '';
  const exit = await sshExec(
    client,
    command,
    (stream, chunk) => {
      if (stream === 'stdout' && stdout.length < maxBytes) stdout += chunk.toString('utf8');
    },
    { timeoutMs },
  );
  return { exit, stdout };
}
