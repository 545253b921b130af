/**
 * A browser drop on its way to the transfer queue. The browser cannot hand the host OS
 * paths, only bytes, so the files are written ("spooled") into a private temporary folder
 * that mirrors their relative paths; the queue then uploads that folder's top-level
 * entries as it would any local files (resume, SHA-256 checks, progress). Memory stays
 * bounded: chunks wait in a small queue while the disk catches up, and the host pauses
 * the WebSocket when that queue is full.
 */
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rm, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { formatBytes } from '../shared/common/size.js';
import { assertSafeName } from '../engine/queue/local-files.js';
import type { UploadItem } from '../shared/common/ws-messages.js';

export interface SpoolOptions {
  /** Where spool folders are made (default: the OS temporary folder). */
  readonly tmpRoot: string;
  /** Told whenever the bytes waiting for the disk change (for pausing the socket). */
  readonly onQueued?: (bytes: number) => void;
}

/**
 * Check the relative paths of a drop: plain names only, no duplicates, no file inside a
 * file, no folder that is also a file.
 */
export function validateUploadFiles(files: readonly UploadItem[], folders: readonly string[] = []): void {
  if (files.length === 0 && folders.length === 0) throw new FerryError('EINVAL', 'The upload is empty.');
  const seen = new Map<string, 'file' | 'dir'>();
  const entries = [...files.map((f) => ({ relativePath: f.relativePath, isFolder: false })), ...folders.map((relativePath) => ({ relativePath, isFolder: true }))];
  for (const { relativePath, isFolder } of entries) {
    const names = relativePath.split('/');
    for (const name of names) {
      try {
        assertSafeName(name);
      } catch (err) {
        const why = toFerryError(err).message.replace(/^refusing the name "[^"]*" from the server: /, '');
        throw new FerryError('EINVAL', `"${relativePath.slice(0, 200)}" cannot be uploaded: the name "${name.slice(0, 80)}" is refused (${why}).`);
      }
    }
    for (let i = 1; i <= names.length; i++) {
      const key = names.slice(0, i).join('/');
      const kind = i === names.length && !isFolder ? 'file' : 'dir';
      const before = seen.get(key);
      if (before !== undefined && (before === 'file' || kind === 'file')) {
        throw new FerryError('EINVAL', `"${key.slice(0, 200)}" appears twice in the upload (as a file and as a file or folder).`);
      }
      seen.set(key, kind);
    }
  }
}

export class UploadSpool {
  private index = 0;
  /** Bytes of files[index] written so far. */
  private written = 0;
  private handle: FileHandle | undefined;
  private received = 0;
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private failure: FerryError | undefined;
  private discarded = false;
  readonly total: number;

  private constructor(
    readonly dir: string,
    private readonly files: readonly UploadItem[],
    private readonly folders: readonly string[],
    private readonly options: SpoolOptions,
  ) {
    this.total = files.reduce((n, f) => n + f.size, 0);
  }

  /** Validate the list, check the local disk, and make the folder tree (empty folders too). */
  static async create(files: readonly UploadItem[], folders: readonly string[], options: SpoolOptions): Promise<UploadSpool> {
    validateUploadFiles(files, folders);
    const total = files.reduce((n, f) => n + f.size, 0);
    const fs = await statfs(options.tmpRoot).catch(() => null);
    if (fs !== null) {
      const free = fs.bavail * fs.bsize;
      if (total > free) {
        throw new FerryError(
          'ENOSPC',
          `This upload needs ${formatBytes(total)} of temporary space on the computer running the Ferry web host, but only ${formatBytes(free)} is free there.`,
          { need: total, free },
        );
      }
    }
    const dir = await mkdtemp(path.join(options.tmpRoot, 'ferry-upload-')); // mode 0700
    const spool = new UploadSpool(dir, files, folders, options);
    try {
      const tree = new Set([...files.map((f) => path.posix.dirname(f.relativePath)).filter((d) => d !== '.'), ...folders]);
      // A browser gives no file modes: folders and files inside get a new one's default
      // (0777 and 0666 less the host's umask), which the upload carries to the server as
      // their mode. Nothing inside is reachable by others: `dir` itself is 0700.
      for (const folder of tree) await mkdir(path.join(dir, ...folder.split('/')), { recursive: true, mode: 0o777 });
    } catch (err) {
      await spool.discard();
      throw toFerryError(err);
    }
    return spool;
  }

  /** The top-level files and folders, as local paths for the transfer queue. */
  topLevel(): string[] {
    const tops = [...this.files.map((f) => f.relativePath), ...this.folders].map((p) => p.split('/')[0]!);
    return [...new Set(tops)].map((name) => path.join(this.dir, name));
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Take the next chunk of bytes (they belong to the files in order). */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.received + chunk.length > this.total) {
      throw new FerryError('EINVAL', `The browser sent more bytes than the ${formatBytes(this.total)} it announced.`);
    }
    this.received += chunk.length;
    this.chunks.push(chunk);
    this.queued(chunk.length);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Wait for the disk; fails unless exactly the announced bytes arrived. */
  async finish(): Promise<void> {
    while (this.pumping) await this.pumping;
    if (this.failure) throw this.failure;
    if (this.received !== this.total) {
      throw new FerryError('EINVAL', `The upload ended after ${this.received} of ${this.total} bytes.`);
    }
    await this.advance(); // empty files at the end
  }

  /** Stop and delete everything (idempotent). */
  async discard(): Promise<void> {
    this.failure ??= new FerryError('ECANCELED', 'The upload was cancelled.');
    if (this.discarded) return;
    this.discarded = true;
    this.chunks.length = 0;
    await this.pumping?.catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private queued(delta: number): void {
    this.queuedBytes += delta;
    this.options.onQueued?.(this.queuedBytes);
  }

  private async pump(): Promise<void> {
    try {
      for (let chunk = this.chunks.shift(); chunk !== undefined; chunk = this.chunks.shift()) {
        if (this.failure) return;
        await this.write(chunk);
        this.queued(-chunk.length);
      }
    } catch (err) {
      this.failure ??= toFerryError(err);
    }
  }

  private async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      await this.advance();
      const file = this.files[this.index]!;
      const piece = chunk.subarray(offset, offset + (file.size - this.written));
      for (let done = 0; done < piece.length; ) {
        const { bytesWritten } = await this.handle!.write(piece, done, piece.length - done);
        done += bytesWritten;
      }
      offset += piece.length;
      this.written += piece.length;
    }
  }

  /** Close the current file if complete, create empty files, and open the next one with room. */
  private async advance(): Promise<void> {
    for (;;) {
      const file = this.files[this.index];
      if (file === undefined) return;
      if (this.handle === undefined) {
        const target = path.join(this.dir, ...file.relativePath.split('/'));
        // wx and no symlinks: the folder is ours and private, and stays that way (0666: see above).
        this.handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o666);
        this.written = 0;
      }
      if (this.written < file.size) return;
      await this.handle.close();
      this.handle = undefined;
      this.index++;
    }
  }
}
