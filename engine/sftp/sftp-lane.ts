/**
 * A lane over SFTP: one SFTP channel carrying transfers with many requests in flight, as
 * OpenSSH's client does. Uploads go to a hidden partial beside the target, are checked
 * (the server's SHA-256 where it has one, else the size) and only then renamed into
 * place; downloads stream in order from a window of reads.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Digest } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { StreamHash } from '../../shared/node/hash-worker.js';
import { NotWhole, type Lane, type ReadSink, type WriteHooks, type WriteRequest, type WriteResult } from '../remote/remote.js';
import type { ServerHash } from './server-hash.js';
import type { SftpCalls } from './sftp-calls.js';
import type { Stats } from 'ssh2';

/** Bytes of reads or writes in flight on one lane (covers a fast link's round trips). */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** The largest request: OpenSSH takes up to 255 KiB, smaller servers less (SftpCalls knows). */
const REQUEST_MAX = 256 * 1024;

/**
 * The hidden partial of an upload: beside the target, named after it and after the source's
 * size and mtime, so a resume only continues a partial of the same source file.
 */
export function partialName(target: string, total: number, mtime: number | undefined): string {
  const tag = createHash('sha256').update(`${total}:${Math.round(mtime ?? 0)}`).digest('hex').slice(0, 12);
  const base = path.posix.basename(target);
  // Names longer than a file system takes are cut (the tag keeps them apart).
  const stem = Buffer.byteLength(base) > 200 ? Buffer.from(base).subarray(0, 200).toString('utf8').replace(/\uFFFD+$/, '') : base;
  return path.posix.join(path.posix.dirname(target), `.${stem}.${tag}.ferry-part`);
}

/** Whether a name is one of partialName()'s (hidden from listings: not the person's file). */
export function isPartialName(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.ferry-part$/.test(name);
}

/** 'name (n).ext' beside `target` that does not exist yet (the 'rename' policy). */
async function freeRemoteName(calls: SftpCalls, target: string): Promise<string> {
  const ext = path.posix.extname(target);
  const stem = ext && ext !== target ? target.slice(0, -ext.length) : target;
  for (let i = 1; i < 10_000; i++) {
    const candidate = `${stem} (${i})${ext}`;
    if ((await calls.lstatOrNull(candidate)) === null) return candidate;
  }
  throw new FerryError('EEXIST', `no free name for ${target}`);
}

export interface LaneServices {
  /** The server's SHA-256, or null when transfers are checked by size. */
  readonly hash: ServerHash | null;
  /** posix-rename@openssh.com is offered (an atomic replace). */
  readonly posixRename: boolean;
}

export class SftpLane implements Lane {
  private destroyed = false;

  constructor(
    private readonly calls: SftpCalls,
    private readonly services: LaneServices,
  ) {}

  get closed(): boolean {
    return this.destroyed || this.calls.closed;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.calls.end();
  }

  private get piece(): number {
    return Math.min(REQUEST_MAX, this.calls.maxRead, this.calls.maxWrite);
  }

  /**
   * `length` bytes at `position`, re-asking for the rest after a short read; short only at the
   * end of the file. The first answer lands in `into` when given.
   */
  private async readRange(handle: Buffer, position: number, length: number, subject: string, into?: Buffer): Promise<Buffer> {
    const first = await this.calls.read(handle, length, position, subject, into);
    if (first.length === length || first.length === 0) return first;
    const parts = [first];
    let got = first.length;
    while (got < length) {
      const more = await this.calls.read(handle, length - got, position + got, subject);
      if (more.length === 0) break;
      parts.push(more);
      got += more.length;
    }
    return Buffer.concat(parts);
  }

  /** `check` is not used: SFTP's server hash is always a SHA-256 (sha256sum and its kin). */
  async get(remotePath: string, offset: number, sink: ReadSink, hooks: { onWritten?: () => void } = {}): Promise<{ digest: Digest | null }> {
    const handle = await this.calls.open(remotePath, 'r');
    try {
      const stats = await this.calls.fstat(handle, remotePath);
      if (!stats.isFile()) throw new FerryError('EISDIR', `${remotePath} is not a file`);
      const total = Number(stats.size);
      if (offset > total) throw new FerryError('ECHECKSUM', `${remotePath} is now smaller than the part already downloaded: it changed`);
      // The server hashes the file while it is read (its other core, and the page cache).
      const serverHash = this.services.hash?.hash(remotePath, total);
      serverHash?.catch(() => undefined);
      await sink.start({ offset, total, mtime: Number(stats.mtime) * 1000 });
      const step = this.piece;
      // Replies land in buffers reused once the sink has taken their bytes (it copies them
      // before its promise settles): a new buffer per request would force the GC to run
      // every few megabytes.
      const spare: Buffer[] = [];
      const inFlight: Array<{ readonly data: Promise<Buffer>; readonly length: number; readonly buffer: Buffer }> = [];
      let next = offset;
      const fill = (): void => {
        while (next < total && inFlight.length * step < WINDOW_BYTES) {
          const length = Math.min(step, total - next);
          const buffer = spare.pop() ?? Buffer.allocUnsafe(Math.min(step, total - offset));
          const data = this.readRange(handle, next, length, remotePath, buffer);
          data.catch(() => undefined);
          inFlight.push({ data, length, buffer });
          next += length;
        }
      };
      fill();
      while (inFlight.length > 0) {
        const slot = inFlight.shift()!;
        const data = await slot.data;
        fill();
        if (data.length > 0) await sink.chunk(data);
        spare.push(slot.buffer);
        // A file that shrank ends early: the size check downstream turns that into an error.
        if (data.length < slot.length) break;
      }
      hooks.onWritten?.();
      return { digest: serverHash ? { algorithm: 'sha256', hex: await serverHash } : null };
    } finally {
      await this.calls.close(handle, remotePath).catch(() => undefined);
    }
  }

  async getWhole(remotePath: string, max: number, onSent: () => void): Promise<{ data: Buffer; mtime: number; digest: Digest | null }> {
    const opening = this.calls.open(remotePath, 'r');
    onSent();
    const handle = await opening;
    let data: Buffer;
    let mtime: number;
    try {
      const stats = await this.calls.fstat(handle, remotePath);
      if (!stats.isFile()) throw new FerryError('EISDIR', `${remotePath} is not a file`);
      if (Number(stats.size) > max) throw new NotWhole(`${remotePath} is bigger than ${max} bytes`);
      const size = Number(stats.size);
      mtime = Number(stats.mtime) * 1000;
      const step = this.piece;
      const parts: Array<Promise<Buffer>> = [];
      for (let at = 0; at < size; at += step) parts.push(this.readRange(handle, at, Math.min(step, size - at), remotePath));
      data = Buffer.concat(await Promise.all(parts));
      if (data.length !== size) throw new FerryError('EPROTO', `${remotePath} changed while it was read (${data.length} of ${size} bytes)`);
    } finally {
      await this.calls.close(handle, remotePath).catch(() => undefined);
    }
    if (!this.services.hash) return { data, mtime, digest: null };
    const remote = await this.services.hash.hash(remotePath, data.length);
    const local = createHash('sha256').update(data).digest('hex');
    if (remote !== local) throw new FerryError('ECHECKSUM', `the SHA-256 of ${remotePath} did not match: the download was discarded`);
    return { data, mtime, digest: { algorithm: 'sha256', hex: remote } };
  }

  /**
   * Upload to the partial, check it, rename it into place. Requests are sent without waiting
   * where one channel's order makes that safe: the writes, the mode and mtime, the size
   * (fstat of the same handle) and the close go out together, so a small file costs three
   * round trips (open; write…close; rename) when it may overwrite with posix-rename.
   */
  async put(request: WriteRequest, source: () => AsyncIterable<Buffer>, hash: StreamHash, hooks: WriteHooks = {}): Promise<WriteResult> {
    const { path: target, offset, total } = request;
    // An atomic rename replaces whatever is there, so an overwrite needs no look first (a
    // folder in the way fails the rename, explained then); the other policies look.
    const blind = request.exists === 'overwrite' && this.services.posixRename;
    // What is there now, for its mode: asked without waiting when the upload does not need it first.
    let before: Promise<Stats | null> = Promise.resolve(null);
    try {
      if (blind) {
        before = this.calls.lstatOrNull(target).catch(() => null);
      } else {
        const existing = await this.calls.lstatOrNull(target);
        before = Promise.resolve(existing);
        if (existing) {
          if (existing.isDirectory()) throw new FerryError('EISDIR', `${target} is a folder`);
          if (request.exists === 'skip') {
            hooks.onWritten?.();
            hash.dispose();
            return { path: target, size: Number(existing.size), digest: null, skipped: true };
          }
          if (request.exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
        }
      }
      const partial = partialName(target, total, request.mtime);
      // Created with the source's bits, so the server's umask applies to them as to any new
      // file; owner read-write while it is written (a read-only source must still resume).
      const handle = await this.calls.open(partial, offset === 0 ? 'w' : 'r+', ((request.mode ?? 0o666) & 0o777) | 0o600);
      let closing: Promise<void> | undefined;
      let held: number;
      try {
        if (offset > 0) {
          const there = Number((await this.calls.fstat(handle, partial)).size);
          if (there !== offset) throw new FerryError('EOFFSET', `the server holds ${there} bytes of ${target}, not ${offset}`, { offset: there <= total ? there : 0 });
        }
        const { read, acked } = await this.sendAll(handle, partial, offset, total - offset, source, hash, hooks);
        if (read !== total - offset) throw new FerryError('EIO', `the local file changed during the upload (${read} of ${total - offset} bytes read)`);
        // The mode and mtime, set on the partial so the rename publishes them at once.
        const mode = await this.finalMode(request, await before, handle, partial);
        const attrs = {
          ...(mode !== undefined ? { mode } : {}),
          ...(request.mtime !== undefined ? { mtime: Math.floor(request.mtime / 1000), atime: Math.floor(Date.now() / 1000) } : {}),
        };
        const stamped = Object.keys(attrs).length > 0 ? this.calls.fsetstat(handle, attrs, partial) : Promise.resolve();
        const sized = this.calls.fstat(handle, partial);
        closing = this.calls.close(handle, partial);
        for (const p of [stamped, sized, closing]) p.catch(() => undefined);
        hooks.onWritten?.();
        await acked;
        await stamped;
        held = Number((await sized).size);
        await closing;
      } finally {
        if (closing === undefined) await this.calls.close(handle, partial).catch(() => undefined);
      }
      const digest = await this.check(partial, target, total, held, hash);
      const placed = blind ? await this.replace(partial, target) : await this.commit(partial, target, request.exists);
      return { path: placed, size: total, digest, skipped: false };
    } catch (err) {
      hash.dispose();
      throw toFerryError(err);
    }
  }

  /**
   * The bits the partial must get before it is renamed into place, or undefined to keep
   * those it was created with: a file replaced keeps its own unless the upload preserves
   * the source's (then exactly those, as `sftp put -p` sets them); a new file keeps its
   * creation bits (the source's less the server's umask), less the owner bits the source lacked.
   */
  private async finalMode(request: WriteRequest, existing: Stats | null, handle: Buffer, partial: string): Promise<number | undefined> {
    if (request.preserveMode && request.mode !== undefined) return request.mode & 0o777;
    if (existing?.isFile()) return existing.mode & 0o777;
    const wanted = request.mode === undefined ? 0o666 : request.mode & 0o777;
    if ((wanted & 0o600) === 0o600) return undefined;
    const created = (await this.calls.fstat(handle, partial)).mode & 0o777;
    return created & ~(0o600 & ~wanted);
  }

  /**
   * Send `size` bytes of `source` at `offset`, many requests in flight. Returns once the last
   * one is sent: how many bytes were read, and their acknowledgements (rejected with the
   * first failure).
   */
  private async sendAll(
    handle: Buffer,
    subject: string,
    offset: number,
    size: number,
    source: () => AsyncIterable<Buffer>,
    hash: StreamHash,
    hooks: WriteHooks,
  ): Promise<{ read: number; acked: Promise<void> }> {
    if (size === 0) return { read: 0, acked: Promise.resolve() };
    const step = this.piece;
    let read = 0;
    let inFlight = 0;
    let failure: unknown;
    const waiters: Array<() => void> = [];
    const wake = (): void => waiters.shift()?.();
    const all: Array<Promise<void>> = [];
    for await (const chunk of source()) {
      const room = size - read;
      if (room === 0) break; // the file grew: send what was announced
      const body = chunk.length > room ? chunk.subarray(0, room) : chunk;
      // The local SHA-256 is only worth its CPU when the server's is there to compare with.
      const writes: Array<Promise<void>> = this.services.hash ? [hash.update(body)] : [];
      for (let at = 0; at < body.length; at += step) {
        const piece = body.subarray(at, Math.min(body.length, at + step));
        while (inFlight + piece.length > WINDOW_BYTES && inFlight > 0 && failure === undefined) await new Promise<void>((r) => waiters.push(r));
        if (failure !== undefined) throw toFerryError(failure);
        inFlight += piece.length;
        const w = this.calls.write(handle, piece, offset + read + at, subject).then(
          () => {
            inFlight -= piece.length;
            hooks.onSent?.(piece.length);
            wake();
          },
          (err: unknown) => {
            failure ??= err;
            inFlight -= piece.length;
            wake();
          },
        );
        writes.push(w);
      }
      read += body.length;
      const done = Promise.all(writes).then(() => hooks.onChunkDone?.(chunk));
      done.catch(() => undefined);
      all.push(done);
    }
    const acked = Promise.all(all).then(() => {
      if (failure !== undefined) throw toFerryError(failure);
    });
    acked.catch(() => undefined);
    return { read, acked };
  }

  /**
   * The check before the partial goes in place: the server's SHA-256 where it has one (hashed
   * there while the local digest finishes), else the size the server holds (`held`).
   */
  private async check(partial: string, target: string, total: number, held: number, hash: StreamHash): Promise<Digest | null> {
    if (this.services.hash) {
      if (hash.algorithm !== 'sha256') throw new FerryError('ENOTSUP', 'SFTP uploads are checked with SHA-256 only');
      const [local, remote] = await Promise.all([hash.digest(), this.services.hash.hash(partial, total)]);
      if (remote !== local) {
        await this.calls.unlink(partial).catch(() => undefined);
        throw new FerryError('ECHECKSUM', `the SHA-256 of ${target} on the server did not match: the upload was discarded`);
      }
      return { algorithm: 'sha256', hex: remote };
    }
    hash.dispose();
    if (held !== total) {
      await this.calls.unlink(partial).catch(() => undefined);
      throw new FerryError('ECHECKSUM', `the size check of ${target} failed (${held} bytes on the server, ${total} sent): the upload was discarded`);
    }
    return null;
  }

  /** An overwrite by posix-rename, unlooked: a folder in the way is found out by the failed rename. */
  private async replace(partial: string, target: string): Promise<string> {
    try {
      await this.calls.posixRename(partial, target);
      return target;
    } catch (err) {
      const there = await this.calls.lstatOrNull(target).catch(() => null);
      if (there?.isDirectory()) {
        await this.calls.unlink(partial).catch(() => undefined);
        throw new FerryError('EISDIR', `${target} is a folder`);
      }
      throw err;
    }
  }

  /** Put the checked partial in place under the conflict policy; returns where it went. */
  private async commit(partial: string, target: string, exists: WriteRequest['exists']): Promise<string> {
    let destination = target;
    const there = await this.calls.lstatOrNull(target);
    if (there) {
      if (exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
      if (exists === 'rename') destination = await freeRemoteName(this.calls, target);
    }
    if (this.services.posixRename) {
      await this.calls.posixRename(partial, destination);
    } else {
      // Plain SFTP rename refuses an existing target: remove it first (not atomic; said in SECURITY.md).
      if (there && destination === target) await this.calls.unlink(target);
      await this.calls.rename(partial, destination);
    }
    return destination;
  }
}
