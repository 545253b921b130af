/**
 * A small upload whose bytes have all arrived (and been checked against their SHA-256)
 * before anything touches the disk: written in one go by the group commit. Each file is
 * created, written, given its mtime and made durable alongside the others being
 * committed (one filesystem sync for the batch where there is one, else an fsync each),
 * then renamed into place, then its folder is fsynced (shared with the other files of
 * that folder, storage-sync.ts): the reply still means "durable".
 *
 * There is no partial while the body is on the wire: a connection that breaks in the
 * middle of a small body leaves nothing behind, and the next put starts over (a resume
 * would not save anything worth a round trip). The file is written under
 * ROOT/state/incoming/RUN/USER/<first hex digit of its partial's name>/ (outside the home,
 * on the same filesystem, so the commit is a rename; RUN is this server process's own
 * folder, see local-storage.ts): spread over 16 folders, because
 * creating files in one folder takes that folder's lock in the kernel, and the I/O
 * threads creating a burst of files in one folder at once only spin on it (measured on
 * the bench: about a fifth more files per second this way). An older partial of the
 * same path, left by an interrupted streamed upload, is deleted: this upload starts over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../shared/common/checks.js';
import { FerryError } from '../shared/common/errors.js';
import { fsyncFd, futimesFd, lstatOrNull, openFd, unlinkPath, writeAllFd } from '../shared/node/fs-calls.js';
import type { SyncItem } from './storage-sync.js';
import { placePartial, storePlaced, type StoreHash, type UploadSetup, type UploadTarget } from './storage-upload.js';

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW;

export interface WholeSetup extends Pick<UploadSetup, 'exists' | 'pickFreeName' | 'tracker' | 'partialName' | 'mtime' | 'mode' | 'preserveMode'> {
  readonly target: UploadTarget;
  /** Where the file is written before it is renamed into place, and its folder (created when missing). */
  readonly incomingPath: string;
  readonly incomingDir: string;
  /** Where a streamed upload of the same path keeps its partial (deleted if there is one). */
  readonly partialPath: string;
  readonly data: Uint8Array;
  /** Called once the file is in place (before its folder is fsynced). */
  readonly placed: () => void;
  /** The digest of `data` (checked), kept for the file once in place. */
  readonly digest: Digest;
  readonly storeHash?: StoreHash | undefined;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class WholeUpload implements SyncItem {
  private target: UploadTarget;
  /** The incoming file exists on disk (created by prepare, gone after place or discard). */
  private created = false;
  /** The file as written, before it is moved into place. */
  private written: fs.BigIntStats | null = null;

  constructor(private readonly setup: WholeSetup) {
    this.target = setup.target;
  }

  /** The virtual path the file went to. */
  get path(): string {
    return this.target.path;
  }

  /** Small files can share one filesystem sync per batch (see storage-sync.ts). */
  readonly batchable = true;

  async prepare(fsync: boolean): Promise<void> {
    const { tracker, partialName, partialPath, incomingPath, incomingDir } = this.setup;
    let freed = 0;
    let freedEntries = 0;
    tracker.startChange();
    let fd: number;
    try {
      // In parallel: the file is created, and an older partial of the path looked for
      // (one that cannot even be looked at is left alone).
      const [created, older] = await Promise.all([this.create(incomingPath, incomingDir), lstatOrNull(partialPath).catch(() => null)]);
      fd = created;
      this.created = true;
      if (older?.isFile()) {
        try {
          await unlinkPath(partialPath);
          freed = older.size;
          freedEntries = 1;
          tracker.activePartials.delete(partialName);
        } catch (err) {
          if (!isMissing(err)) {
            fs.closeSync(fd);
            throw err;
          }
        }
      }
    } finally {
      // Deleting the older partial gave its bytes (and its entry) back.
      tracker.endChange(-freed, -freedEntries);
    }
    const { data, mtime } = this.setup;
    try {
      if (data.length > 0) await writeAllFd(fd, data, 0);
      if (mtime !== undefined && Number.isFinite(mtime)) await futimesFd(fd, new Date(), new Date(mtime));
      if (fsync) await fsyncFd(fd);
      // Blocking: an fstat of an open descriptor waits for no disk.
      if (this.setup.storeHash) this.written = fs.fstatSync(fd, { bigint: true });
    } finally {
      // The file is written (or given up): closing it waits for nothing, so it is done
      // directly rather than through the I/O threads. An error here is the file's too.
      fs.closeSync(fd);
    }
  }

  /**
   * Create the file (O_EXCL|O_NOFOLLOW: nothing planted there is followed). The folder is
   * this run's own and the path is locked while it uploads, so nothing is there before.
   */
  private async create(file: string, dir: string): Promise<number> {
    try {
      return await openFd(file, CREATE_FLAGS);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    return openFd(file, CREATE_FLAGS);
  }

  async place(): Promise<string> {
    const { incomingPath } = this.setup;
    // placePartial() moves "the partial" into place: here that is the incoming file.
    this.target = await placePartial({ ...this.setup, partialPath: incomingPath }, this.target, this.setup.data.length, false);
    this.created = false;
    storePlaced(this.setup.storeHash, this.target.host, this.written, this.setup.digest);
    this.setup.placed();
    return path.dirname(this.target.host);
  }

  /** Delete the incoming file (its bytes were never counted: the reservation covered them). */
  async discard(): Promise<void> {
    if (!this.created) return;
    this.created = false;
    await unlinkPath(this.setup.incomingPath).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
  }
}
