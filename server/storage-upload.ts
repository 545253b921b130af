/**
 * One upload into a partial file: buffered, hashed and accounted while it streams, made
 * durable and moved into place by the SyncBatcher at commit.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { lstatOrNull, renamePath } from '../shared/node/fs-calls.js';
import * as path from 'node:path';
import type { ExistsPolicy, PutResult } from '../shared/common/messages.js';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { asDigest, digestField, type Digest } from '../shared/common/checks.js';
import { acquireBuffer, releaseBuffer, type StreamHash } from '../shared/node/hash-worker.js';
import type { Upload } from './storage.js';
import type { SyncBatcher, SyncItem } from './storage-sync.js';
import type { UsageTracker } from './storage-usage.js';

/** Writes are coalesced into buffers of this size: few large writes are what disks like. */
export const WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * While a big upload streams, its written bytes are flushed to the disk in the background
 * every this many bytes (fdatasync), so the disk works alongside the network and the
 * fsync at commit only has the last few MiB left. Durability is unchanged: the commit
 * still fsyncs the file and its folder before the `ok`.
 */
export const BACKGROUND_SYNC_BYTES = 32 * 1024 * 1024;

export { lstatOrNull };

/** Where the committed file goes; may change at commit for the 'rename' policy. */
export interface UploadTarget {
  /** Virtual path. */
  readonly path: string;
  /** Host path: the real parent folder joined with the name. */
  readonly host: string;
}

/**
 * Keep the digest of a file just put in place at real path `host` (stored-hashes.ts), for
 * as long as the file stays as `st` (its stat once in place) says.
 */
export type StoreHash = (host: string, st: fs.BigIntStats, digest: Digest) => void;

export interface UploadSetup {
  readonly target: UploadTarget;
  readonly exists: ExistsPolicy;
  readonly partialPath: string;
  readonly partialName: string;
  readonly handle: fsp.FileHandle;
  /** Already fed with the bytes before offset (in the hash worker for big uploads). */
  readonly hash: StreamHash;
  readonly offset: number;
  readonly total: number;
  readonly mtime: number | undefined;
  /** The bits a new file gets (the client's, masked by the umask: storage-chmod.ts). */
  readonly mode: number;
  /** Give `mode` to a replaced file too (else it keeps its own). */
  readonly preserveMode: boolean;
  readonly tracker: UsageTracker;
  /** Bytes reserved for this upload (total − offset). */
  readonly reserved: number;
  readonly batcher: SyncBatcher;
  /** For 'rename' when the chosen name was taken meanwhile: lock and return another free one. */
  readonly pickFreeName: (taken: UploadTarget) => Promise<UploadTarget>;
  /** Unlock the paths this upload holds. */
  readonly unlock: () => void;
  readonly log?: ((line: string) => void) | undefined;
  readonly storeHash?: StoreHash | undefined;
}

type State = 'open' | 'committing' | 'aborting' | 'done';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class LocalUpload implements Upload, SyncItem {
  readonly skipped = false;
  private target: UploadTarget;
  private handle: fsp.FileHandle | null;
  private state: State = 'open';
  private failure: FerryError | null = null;
  /** Resolves when a failed upload has cleaned up after itself. */
  private cleanup: Promise<void> = Promise.resolve();
  /** Bytes accepted by write() so far (buffered or written). */
  private accepted = 0;
  /** File position of the next buffer handed to the disk. */
  private position: number;
  private buffer: Buffer | null = null;
  private buffered = 0;
  /** Chain of disk writes, in order; never rejects (failures land in this.failure). */
  private tail: Promise<void> = Promise.resolve();
  private digest: Digest | null = null;
  /** Bytes written since the last background datasync started, and that sync. */
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private discarded = false;
  private finished = false;
  /** The file as written, before it is moved into place (its identity must survive the move). */
  private written: fs.BigIntStats | null = null;

  constructor(private readonly setup: UploadSetup) {
    this.target = setup.target;
    this.handle = setup.handle;
    this.position = setup.offset;
  }

  get path(): string {
    return this.target.path;
  }

  private get need(): number {
    return this.setup.total - this.setup.offset;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') throw await this.endedError();
    if (this.accepted + chunk.length > this.need) {
      throw new FerryError('EINVAL', `More data than announced: the file was announced as ${this.setup.total} bytes.`);
    }
    let offset = 0;
    while (offset < chunk.length) {
      // Big uploads use pooled shared buffers (the hash worker reads them in place); small
      // ones a buffer sized to what is left, so thousands of them do not each hold 1 MiB.
      this.buffer ??=
        this.need >= WRITE_BUFFER_BYTES ? acquireBuffer() : Buffer.allocUnsafe(Math.min(WRITE_BUFFER_BYTES, this.need - this.accepted));
      const n = chunk.copy(this.buffer, this.buffered, offset);
      this.buffered += n;
      this.accepted += n;
      offset += n;
      if (this.buffered === this.buffer.length || this.accepted === this.need) await this.flush();
      if (this.failure) throw await this.endedError();
      // Aborted while we waited for the disk: stop here, the abort owns the partial now.
      if (this.state !== 'open') throw new FerryError('ECANCELED', 'The upload was stopped.');
    }
  }

  commit(expected: Digest | string): Promise<PutResult> {
    // Tracked from the start, so that closing the storage waits for it too.
    return this.setup.batcher.track(this.commitNow(asDigest(expected)));
  }

  private async commitNow(expected: Digest): Promise<PutResult> {
    if (this.state !== 'open') throw await this.endedError();
    this.state = 'committing';
    try {
      await this.flushAll();
      if (this.failure) throw await this.endedError();
      if (this.accepted !== this.need) {
        await this.discard();
        throw new FerryError(
          'ECHECKSUM',
          `The upload ended after ${this.setup.offset + this.accepted} of ${this.setup.total} bytes.`,
        );
      }
      const digest: Digest = { algorithm: this.setup.hash.algorithm, hex: await this.setup.hash.digest() };
      this.digest = digest;
      if (expected.algorithm !== digest.algorithm || digest.hex !== expected.hex.toLowerCase()) {
        await this.discard();
        throw new FerryError('ECHECKSUM');
      }
      return await this.setup.batcher.commit(this, () => ({
        path: this.target.path,
        size: this.setup.total,
        ...digestField(digest),
      }));
    } catch (err) {
      throw toFerryError(err);
    } finally {
      this.finish();
    }
  }

  async abort(keepPartial: boolean): Promise<void> {
    if (this.state !== 'open') {
      // Already failed (and cleaned up), committing or ended: nothing left to abort.
      await this.cleanup;
      return;
    }
    this.state = 'aborting';
    try {
      if (keepPartial) {
        await this.flushAll();
        if (this.failure) return;
        await this.closeHandle();
        const { tracker, partialName } = this.setup;
        tracker.startChange();
        tracker.activePartials.delete(partialName);
        tracker.endChange(this.accepted);
      } else {
        await this.tail;
        await this.discard();
      }
    } catch (err) {
      this.setup.log?.(`upload: abort failed: ${String(err)}`);
      await this.discard().catch(() => undefined);
    } finally {
      this.finish();
    }
  }

  // SyncItem: called by the batcher during commit.

  async prepare(): Promise<void> {
    const handle = this.handle!;
    if (this.setup.mtime !== undefined && Number.isFinite(this.setup.mtime)) {
      await handle.utimes(new Date(), new Date(this.setup.mtime));
    }
    await handle.sync();
    this.written = await handle.stat({ bigint: true });
    await this.closeHandle();
  }

  async place(): Promise<string> {
    this.target = await placePartial(this.setup, this.target, this.need, true);
    this.discarded = true;
    storePlaced(this.setup.storeHash, this.target.host, this.written, this.digest);
    return path.dirname(this.target.host);
  }

  /** Close and delete the partial (idempotent), and give back the bytes it counted. */
  async discard(): Promise<void> {
    if (this.discarded) return;
    this.discarded = true;
    await this.closeHandle().catch(() => undefined);
    const { tracker, partialName, partialPath } = this.setup;
    tracker.startChange();
    let delta = 0;
    let entryDelta = 0;
    try {
      let removed = true;
      await fsp.unlink(partialPath).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
        removed = false;
      });
      delta = -(tracker.activePartials.get(partialName) ?? 0);
      if (removed) entryDelta = -1;
      tracker.activePartials.delete(partialName);
    } finally {
      tracker.endChange(delta, entryDelta);
    }
  }

  /**
   * Hand the current buffer to the disk and, at the same time, to the hash (whole 1 MiB
   * buffers: what is hashed is exactly what is written). Resolves when the previous buffer
   * is written and hashed (backpressure: at most two buffers per upload).
   */
  private flush(): Promise<void> {
    if (!this.buffer || this.buffered === 0) return this.tail;
    const buffer = this.buffer;
    const data = buffer.subarray(0, this.buffered);
    this.buffer = null;
    this.buffered = 0;
    const position = this.position;
    this.position += data.length;
    const previous = this.tail;
    const hashed = this.setup.hash.update(data).then(
      () => true,
      (err: unknown) => {
        // ECANCELED: the hash was discarded because the upload ended; nothing to report.
        if (toFerryError(err).code !== 'ECANCELED') this.fail(err);
        return false;
      },
    );
    const written = previous.then(async () => {
      // No handle: an abort closed the file; a late write must not turn into a failure
      // that deletes the partial the abort meant to keep.
      if (this.failure || !this.handle) return false;
      try {
        await writeAll(this.handle!, data, position);
        this.unsynced += data.length;
        if (this.unsynced >= BACKGROUND_SYNC_BYTES && this.syncing === null && this.state === 'open') {
          this.unsynced = 0;
          const handle = this.handle;
          this.syncing = handle
            .datasync()
            .catch((err: unknown) => this.fail(err))
            .finally(() => (this.syncing = null));
        }
        return true;
      } catch (err) {
        this.fail(err);
        return false;
      }
    });
    this.tail = Promise.all([hashed, written]).then(([h, w]) => {
      if (h && w) releaseBuffer(buffer);
    });
    return previous;
  }

  private async flushAll(): Promise<void> {
    await this.flush();
    await this.tail;
    await this.syncing;
  }

  /** The error for using an upload that has ended; a failed one has deleted its partial first. */
  private async endedError(): Promise<FerryError> {
    if (!this.failure) return new FerryError('EINVAL', 'The upload has already ended.');
    await this.cleanup;
    return this.failure;
  }

  /** A write failed (ENOSPC, EIO): the partial is no longer trustworthy, delete it. */
  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = toFerryError(err);
    this.setup.log?.(`upload: write failed: ${String(err)}`);
    if (this.state === 'open') this.state = 'done';
    this.cleanup = this.discard()
      .catch((e: unknown) => this.setup.log?.(`upload: cannot delete partial: ${String(e)}`))
      .finally(() => this.finish());
  }

  private async closeHandle(): Promise<void> {
    // Never close under a background sync (it would fail on a closed descriptor).
    await this.syncing?.catch(() => undefined);
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  /** Release the reservation and the locks (idempotent). */
  private finish(): void {
    this.state = 'done';
    if (this.finished) return;
    this.finished = true;
    this.setup.tracker.release(this.setup.reserved);
    this.setup.unlock();
    this.setup.hash.dispose();
    // Nothing should be left open, but never leak a descriptor.
    void this.closeHandle().catch(() => undefined);
  }
}

/** The Upload for the 'skip' policy when the target exists. */
export class SkippedUpload implements Upload {
  readonly skipped = true;
  constructor(
    readonly path: string,
    private readonly size: number,
  ) {}

  async write(): Promise<void> {}

  async commit(): Promise<PutResult> {
    // `sha256: ''` as always: an older client requires the field.
    return { path: this.path, size: this.size, sha256: '', skipped: true };
  }

  async abort(): Promise<void> {}
}

async function writeAll(handle: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Keep the hash of a file just moved into place, if it is still the file that was written
 * (same inode, size and mtime: nothing changed it between the move and this look; its
 * ctime is the one from now on). A blocking lstat: one cached inode, cheaper than a trip
 * through the I/O threads.
 */
export function storePlaced(storeHash: StoreHash | undefined, host: string, written: fs.BigIntStats | null, digest: Digest | null): void {
  if (!storeHash || !written || !digest) return;
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(host, { bigint: true });
  } catch {
    return;
  }
  if (st.isFile() && st.ino === written.ino && st.size === written.size && st.mtimeNs === written.mtimeNs) storeHash(host, st, digest);
}

/**
 * Move a synced partial onto its target (the commit's "place" step), re-checking the
 * policy: the target was free when the upload began, but someone may have taken it since.
 * Keeps the usage right (the bytes of a replaced file are given back, the entries counted). Returns the target
 * the file went to (another free name for 'rename'). A file that replaces another takes
 * its permission bits (editing a 0755 script keeps it executable) unless the upload asks
 * to preserve the source's; a new one gets the source's bits less the umask.
 */
export async function placePartial(
  setup: Pick<UploadSetup, 'exists' | 'pickFreeName' | 'tracker' | 'partialName' | 'partialPath' | 'mode' | 'preserveMode'>,
  target: UploadTarget,
  need: number,
  /** The file moved in was counted as an entry already (a streamed upload's partial). */
  counted: boolean,
): Promise<UploadTarget> {
  const { tracker, partialName, partialPath } = setup;
  tracker.startChange();
  let delta = 0;
  let entryDelta = 0;
  try {
    let existing = await lstatOrNull(target.host);
    if (existing && setup.exists === 'rename') {
      target = await setup.pickFreeName(target);
      existing = null;
    } else if (existing && (setup.exists === 'fail' || setup.exists === 'skip')) {
      throw new FerryError('EEXIST');
    } else if (existing?.isDirectory()) {
      throw new FerryError('EISDIR');
    }
    // Only rwx for owner, group and others: never set-id bits onto uploaded bytes. Set
    // every time: the partial was created under the process's umask, not the server's.
    const keep = existing?.isFile() && !setup.preserveMode;
    await fsp.chmod(partialPath, keep ? existing!.mode & 0o777 : setup.mode);
    await renamePath(partialPath, target.host);
    tracker.activePartials.delete(partialName);
    delta = need - (existing?.isFile() ? existing.size : 0);
    // One entry at the target either way: a new one, unless it replaced one.
    entryDelta = (existing ? 0 : 1) - (counted ? 1 : 0);
    return target;
  } finally {
    tracker.endChange(delta, entryDelta);
  }
}
