/**
 * One long-lived hashing command on the SSH server: a POSIX shell that reads batches of paths
 * from its input (one a line, a blank line ends a batch) and hashes each batch with one
 * process, ending its output with a mark. A connection pays one channel and one login
 * shell for all its batches instead of one per batch (a slow ~/.bashrc once, not each time).
 */
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { FerryError } from '../../shared/common/errors.js';
import { shellQuote } from './ssh-exec.js';

/** The record that ends a batch's output (a hash record starts with 64 hex digits). */
const END_MARK = '#end';
/** A session unused this long is closed (its shell would otherwise wait for the connection's end). */
const IDLE_MS = 30_000;

interface Batch {
  readonly resolve: (records: string[]) => void;
  readonly reject: (err: FerryError) => void;
  readonly timer: NodeJS.Timeout;
  readonly records: string[];
}

/** Whether a path can be sent to a session (a line of its own). */
export function fitsSession(path: string): boolean {
  return path !== '' && !path.includes('\n');
}

export class HashSession {
  private channel: Promise<ClientChannel> | undefined;
  private readonly batches: Batch[] = [];
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    /** A command that takes paths as arguments and prints one record per file it could read. */
    private readonly tool: string,
    /** What ends a record in the tool's output ('\0' for sha256sum -z). */
    private readonly separator: '\n' | '\0',
  ) {}

  private get script(): string {
    // Double quotes only: the login shell may be one (fish) that reads single quotes its own way.
    const mark = `printf "${END_MARK}${this.separator === '\0' ? '\\000' : '\\n'}"`;
    return `while :; do set --; while IFS= read -r f && [ -n "$f" ]; do set -- "$@" "$f"; done; [ $# -gt 0 ] || exit 0; ${this.tool} "$@" 2>/dev/null; ${mark}; done`;
  }

  private open(): Promise<ClientChannel> {
    return new Promise<ClientChannel>((resolve, reject) => {
      try {
        this.client.exec(`sh -c ${shellQuote(this.script)}`, (err, channel) => {
          if (err) return reject(new FerryError('EBUSY', `The server refused a hashing channel: ${err.message}`));
          const decoder = new StringDecoder('utf8');
          let rest = '';
          channel.on('data', (chunk: Buffer) => {
            const parts = (rest + decoder.write(chunk)).split(this.separator);
            rest = parts.pop()!;
            for (const record of parts) this.record(record);
          });
          channel.stderr.resume();
          channel.on('close', () => this.lost(channel));
          // A write racing the channel's end errors here; the close that follows fails the batch.
          channel.on('error', () => undefined);
          resolve(channel);
        });
      } catch (err) {
        reject(new FerryError('ECONN', `Cannot run a command: ${(err as Error).message}`));
      }
    });
  }

  /** A record of the oldest batch's output, or its end. */
  private record(record: string): void {
    const batch = this.batches[0];
    if (batch === undefined) return; // a login shell's greeting before any batch: not a hash
    if (record !== END_MARK) {
      batch.records.push(record);
      return;
    }
    this.batches.shift();
    clearTimeout(batch.timer);
    batch.resolve(batch.records);
    this.rest();
  }

  private lost(channel: ClientChannel): void {
    void this.channel?.then((current) => {
      if (current !== channel) return;
      this.channel = undefined;
      this.fail(new FerryError('ECONN', 'The server closed the hashing channel.'));
    }, () => undefined);
  }

  private fail(err: FerryError): void {
    for (const batch of this.batches.splice(0)) {
      clearTimeout(batch.timer);
      batch.reject(err);
    }
  }

  private rest(): void {
    if (this.batches.length > 0) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(), IDLE_MS);
    this.idle.unref();
  }

  /** The tool's output records for `paths` (each fitsSession()), in the tool's order. */
  async run(paths: readonly string[], timeoutMs: number): Promise<string[]> {
    clearTimeout(this.idle);
    this.channel ??= this.open();
    const pending = this.channel;
    let channel: ClientChannel;
    try {
      channel = await pending;
    } catch (err) {
      if (this.channel === pending) this.channel = undefined;
      throw err;
    }
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A stuck hash stalls every batch behind it: end the shell, the next batch opens another.
        this.close();
        this.fail(new FerryError('ETIMEDOUT', `The server's ${this.tool} did not answer in time.`));
      }, timeoutMs);
      this.batches.push({ resolve, reject, timer, records: [] });
      channel.write(`${paths.join('\n')}\n\n`);
    });
  }

  /** End the shell (its input's end makes it exit). */
  close(): void {
    clearTimeout(this.idle);
    const channel = this.channel;
    this.channel = undefined;
    void channel?.then(
      (c) => {
        c.end();
        c.close();
      },
      () => undefined,
    );
    this.fail(new FerryError('ECONN', 'The hashing channel was closed.'));
  }
}
