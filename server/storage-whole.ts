/**
 * A small upload whose bytes have all arrived (and been checked against their SHA-256)
 * before anything touches the disk: written in one go by the group commit. Each file is
 * created, written, given its mtime, fsynced and closed in parallel with the rest of its
 * group, then renamed into place, then every folder of the group is fsynced once, exactly
 * as a streamed upload is committed (storage-sync.ts): the reply still means "durable".
 *
 * There is no partial while the body is on the wire: a connection that breaks in the
 * middle of a small body leaves nothing behind, and the next put starts over (a resume
 * would not save anything worth a round trip).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FerryError } from '../shared/common/errors.js';
import { fsyncFd, futimesFd, lstatOrNull, openFd, unlinkPath, writeAllFd } from './fs-calls.js';
import type { SyncItem } from './storage-sync.js';
import { placePartial, type UploadSetup, type UploadTarget } from './storage-upload.js';

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW;
const TRUNCATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_TRUNC | O_NOFOLLOW;

export interface WholeSetup
  extends Pick<UploadSetup, 'exists' | 'pickFreeName' | 'tracker' | 'partialName' | 'partialPath' | 'mtime'> {
  readonly target: UploadTarget;
  /** The folder of the partial (created when missing). */
  readonly partialDir: string;
  readonly data: Uint8Array;
  /** Called once the file is in place (before its folder is fsynced). */
  readonly placed: () => void;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class WholeUpload implements SyncItem {
  private target: UploadTarget;
  /** The partial exists on disk (created by prepare, gone after place or discard). */
  private created = false;

  constructor(private readonly setup: WholeSetup) {
    this.target = setup.target;
  }

  /** The virtual path the file went to. */
  get path(): string {
    return this.target.path;
  }

  async prepare(): Promise<void> {
    const { tracker, partialName, partialPath, partialDir, data, mtime } = this.setup;
    let fd: number | undefined;
    let truncated = 0;
    tracker.startChange();
    try {
      fd = await this.create(partialPath, partialDir, (size) => (truncated = size));
      this.created = true;
      tracker.activePartials.set(partialName, 0);
    } finally {
      // Truncating an older partial of this path gave its bytes back.
      tracker.endChange(fd !== undefined ? -truncated : 0);
    }
    try {
      if (data.length > 0) await writeAllFd(fd, data, 0);
      if (mtime !== undefined && Number.isFinite(mtime)) await futimesFd(fd, new Date(), new Date(mtime));
      await fsyncFd(fd);
    } finally {
      // The file is synced (or given up): closing it waits for nothing, so it is done
      // directly rather than through the I/O threads. An error here is the file's too.
      fs.closeSync(fd);
    }
  }

  /**
   * Create the partial (O_EXCL: in one call we learn that no older partial is there). An
   * older one, left by an interrupted upload of the same path, is truncated: this upload
   * starts over. O_NOFOLLOW either way: a link planted there is refused, never followed.
   */
  private async create(partialPath: string, partialDir: string, truncating: (size: number) => void): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await openFd(partialPath, CREATE_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt === 0) {
          await fs.promises.mkdir(partialDir, { recursive: true, mode: 0o700 });
          continue;
        }
        if (code !== 'EEXIST') throw err;
      }
      const st = await lstatOrNull(partialPath);
      if (st === null && attempt < 2) continue; // gone meanwhile: create it after all
      truncating(st?.isFile() ? st.size : 0);
      return openFd(partialPath, TRUNCATE_FLAGS);
    }
  }

  async place(): Promise<string> {
    this.target = await placePartial(this.setup, this.target, this.setup.data.length);
    this.created = false;
    this.setup.placed();
    return path.dirname(this.target.host);
  }

  async discard(): Promise<void> {
    const { tracker, partialName, partialPath } = this.setup;
    if (!this.created) {
      tracker.activePartials.delete(partialName);
      return;
    }
    this.created = false;
    tracker.startChange();
    let delta = 0;
    try {
      await unlinkPath(partialPath).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
      delta = -(tracker.activePartials.get(partialName) ?? 0);
      tracker.activePartials.delete(partialName);
    } finally {
      tracker.endChange(delta);
    }
  }
}

/** Thrown by readWhole() for a file bigger than the caller's limit: use a streamed get. */
export function tooBig(fileSize: number, max: number): FerryError {
  return new FerryError('ETOOBIG', `The file is ${fileSize} bytes, more than the ${max} asked for: use "get".`, { fileSize });
}
