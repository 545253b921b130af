/**
 * SHA-256 computed by the SSH server itself (`sha256sum`, or `shasum -a 256`), which is what
 * lets an SFTP transfer be called verified. Found once per connection; an account that
 * may not run commands (an SFTP-only account, a refusing shell) has none, and its
 * transfers are checked by size. Requests are batched: one command hashes many files,
 * so a folder of small files costs a few commands, not one per file.
 */
import type { Client } from 'ssh2';
import { FerryError } from '../../shared/common/errors.js';
import { HashSession, fitsSession } from './hash-session.js';
import { shellQuote, sshCapture } from './ssh-exec.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PROBE_TIMEOUT_MS = 10_000;
/** Files per hashing command, and the most their quoted paths may take (far below any ARG_MAX). */
const BATCH_FILES = 256;
const BATCH_CHARS = 64 * 1024;
/**
 * GNU sha256sum with -z hashes a whole batch in one process and writes each record as
 * "HEX  NAME\0" with the name as given (no escaping); the others run once per file.
 */
const BATCHING_TOOL = 'sha256sum -z';
/**
 * OpenSSL's digest uses the CPU's SHA extensions where Debian's sha256sum does not (about 4×
 * faster here), so it is tried first. It writes "HEX *NAME" lines, escaping a name with a
 * newline or backslash: a batch holding such a name is hashed a file at a time instead.
 */
const OPENSSL_TOOL = 'openssl dgst -sha256 -r';
/** Hashing commands running at once (each is a channel; sshd allows 10 per connection by default). */
const RUNNING_MAX = 2;
/** A hash may take this long, plus a second for every 50 MB of the batch. */
const BASE_TIMEOUT_MS = 30_000;
const BYTES_PER_SECOND = 50 * 1024 * 1024;

/** Which hashing command the server has, or null. Tries OpenSSL, GNU's sha256sum -z, sha256sum, then shasum -a 256. */
export async function probeServerHash(client: Client): Promise<string | null> {
  for (const tool of [OPENSSL_TOOL, BATCHING_TOOL, 'sha256sum', 'shasum -a 256']) {
    try {
      // The empty input's hash proves the tool works (an SFTP-only account prints nothing,
      // a refusing shell prints its refusal).
      const { exit, stdout } = await sshCapture(client, `${tool} </dev/null`, 4096, PROBE_TIMEOUT_MS);
      if (exit.code === 0 && stdout.startsWith(EMPTY_SHA256)) return tool;
    } catch {
      // No commands on this account (or the channel was refused): try the next, then give up.
    }
  }
  return null;
}

interface Wanted {
  readonly path: string;
  readonly bytes: number;
  readonly resolve: (sha256: string) => void;
  readonly reject: (err: FerryError) => void;
}

export class ServerHash {
  private readonly waiting: Wanted[] = [];
  private running = 0;
  private flushing = false;
  /** The long-lived hashing command (made at the first batch); null once the server refused one. */
  private session: HashSession | null | undefined;

  constructor(
    private readonly client: Client,
    /** The hashing command, from probeServerHash(). */
    readonly tool: string,
  ) {}

  /** The server's SHA-256 of the file at `path` (absolute) as it is now; `bytes` bounds the wait. */
  hash(path: string, bytes: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ path, bytes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Gather what this turn of the event loop asks for into one command.
    setImmediate(() => {
      this.flushing = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < RUNNING_MAX && this.waiting.length > 0) {
      const batch: Wanted[] = [];
      let chars = 0;
      while (batch.length < BATCH_FILES && this.waiting.length > 0) {
        const quoted = shellQuote(this.waiting[0]!.path).length + 1;
        if (batch.length > 0 && chars + quoted > BATCH_CHARS) break;
        chars += quoted;
        batch.push(this.waiting.shift()!);
      }
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(batch: readonly Wanted[]): Promise<void> {
    const list = batch.map((w) => shellQuote(w.path)).join(' ');
    const bytes = batch.reduce((sum, w) => sum + w.bytes, 0);
    const timeoutMs = BASE_TIMEOUT_MS + (bytes / BYTES_PER_SECOND) * 1000;
    try {
      if (this.tool === BATCHING_TOOL || (this.tool === OPENSSL_TOOL && batch.every((w) => !/[\\\n\r]/.test(w.path)))) {
        // One process for the batch, records matched back by path; a file it cannot read has
        // no record (and is an error below).
        const z = this.tool === BATCHING_TOOL;
        const command = `${this.tool}${z ? ' --' : ''}`;
        let records: string[] | undefined;
        if (this.session !== null && batch.every((w) => fitsSession(w.path))) {
          this.session ??= new HashSession(this.client, command, z ? '\0' : '\n');
          records = await this.session.run(
            batch.map((w) => w.path),
            timeoutMs,
          ).catch((err: unknown) => {
            // No channel for it (sshd's MaxSessions): one command per batch from now on.
            if ((err as FerryError).code !== 'EBUSY') throw err;
            this.session = null;
            return undefined;
          });
        }
        if (records === undefined) {
          const { stdout } = await sshCapture(this.client, `${command} ${list} 2>/dev/null`, batch.reduce((n, w) => n + Buffer.byteLength(w.path) + 72, 1024), timeoutMs);
          records = stdout.split(z ? '\0' : '\n');
        }
        const found = new Map<string, string>();
        for (const record of records) {
          const hex = /^([0-9a-f]{64}) [ *]/.exec(record)?.[1];
          if (hex) found.set(record.slice(66), hex);
        }
        for (const w of batch) this.settle(w, found.get(w.path));
        return;
      }
      // One line per file in order: the hash of its content read through a redirect (so no
      // file name is ever parsed back), or '!' when it cannot be read.
      const command = `for f in ${list}; do ${this.tool} < "$f" 2>/dev/null || echo '!'; done`;
      const { exit, stdout } = await sshCapture(this.client, command, 128 * batch.length + 1024, timeoutMs);
      const lines = stdout.split('\n').filter((l) => l !== '');
      if (exit.code !== 0 || lines.length !== batch.length) {
        throw new FerryError('EPROTO', `The server's ${this.tool} gave ${lines.length} answers for ${batch.length} files (exit ${exit.code ?? exit.signal}).`);
      }
      batch.forEach((w, i) => this.settle(w, /^([0-9a-f]{64})\s/.exec(lines[i]!)?.[1]));
    } catch (err) {
      const e = err instanceof FerryError ? err : new FerryError('EIO', String(err));
      for (const w of batch) w.reject(e);
    }
  }

  private settle(w: Wanted, hex: string | undefined): void {
    if (hex) w.resolve(hex);
    else w.reject(new FerryError('EIO', `The server could not read ${w.path} to compute its SHA-256.`));
  }
}
