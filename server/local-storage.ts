/**
 * Storage on the local disk, the Storage (and the ExecHost) that ferryd runs with. Layout
 * under the root:
 *
 *   homes/<user>/                      the user's home ('/' of their virtual paths)
 *   state/partials/<user>/<sha>.part   uploads in progress, keyed by the SHA-256 of the
 *                                      virtual path: outside the home so users never see
 *                                      them, on the same filesystem so commit is a rename
 *   state/incoming/<run>/<user>/<h>/<sha>.part   small files written whole, for the
 *                                      moment of their commit (run: a token of this
 *                                      server process; h: the first hex digit; see
 *                                      storage-whole.ts). What an earlier run left there
 *                                      (a crash in the middle of a commit) was never
 *                                      acknowledged and is deleted at start.
 *   state/hashes/<user>/…/records       the SHA-256 of committed files, one record file
 *                                      per folder of the home (stored-hashes.ts)
 *
 * The jobs live in their own files: the jail (storage-jail.ts), listings
 * (storage-listing.ts), tree changes (storage-tree.ts), upload admission and quota
 * (storage-admission.ts), the run's start and stop (storage-lifecycle.ts), downloads
 * (storage-download.ts). This class puts them together and starts uploads once admitted.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { LIST_PAGE_MAX, type Df, type Entry, type PutResult, type UploadInfo } from '../shared/common/messages.js';
import { lstatOrNull } from '../shared/node/fs-calls.js';
import { asDigest, digestField, type CheckAlgorithm, type Digest } from '../shared/common/checks.js';
import { createCheckHash, digestOfBytes, type StreamHash } from '../shared/node/checksums.js';
import type { ExecHost } from './exec-host.js';
import { changeMode, DEFAULT_UMASK, newEntryMode } from './storage-chmod.js';
import type { Account, ChmodOptions, ChmodResult, Download, FileHashResult, HashOptions, ListPage, Storage, Upload, UploadRequest, WalkPage, WholeFile } from './storage.js';
import { UploadAdmission } from './storage-admission.js';
import { openDownload, readWhole } from './storage-download.js';
import { hashFile } from './storage-hash.js';
import { HomeJail, O_NOFOLLOW, guard, type Home } from './storage-jail.js';
import { StorageRun, type StorageRunOptions } from './storage-lifecycle.js';
import { listFolder, statEntry } from './storage-listing.js';
import { TreeChanges } from './storage-tree.js';
import { walkTree } from './storage-walk.js';
import { LocalUpload, SkippedUpload, type StoreHash } from './storage-upload.js';
import { WholeUpload } from './storage-whole.js';
import { StoredHashes } from './stored-hashes.js';

export interface LocalStorageOptions extends StorageRunOptions {
  readonly root: string;
  /** Bits taken from the mode of every file and folder a client creates (default DEFAULT_UMASK). */
  readonly umask?: number;
}

const HASH_READ_BYTES = 1024 * 1024;

export class LocalStorage implements Storage, ExecHost {
  private readonly log: ((line: string) => void) | undefined;
  private readonly jail: HomeJail;
  private readonly admission: UploadAdmission;
  private readonly tree: TreeChanges;
  private readonly run: StorageRun;
  private readonly umask: number;
  /** The SHA-256 of committed files, while they stay unchanged (diagnostics read its writes). */
  readonly hashes: StoredHashes;

  constructor(options: LocalStorageOptions) {
    const root = path.resolve(options.root);
    this.log = options.log;
    this.umask = (options.umask ?? DEFAULT_UMASK) & 0o777;
    this.jail = new HomeJail(root);
    this.admission = new UploadAdmission(root, this.jail, this.log);
    this.hashes = new StoredHashes(root, this.log);
    this.tree = new TreeChanges(this.jail, this.admission, this.hashes, this.log, this.umask);
    this.run = new StorageRun(root, options);
    // Records of folders deleted or moved by commands since the last run (in the background).
    const sweep = this.hashes.sweep(path.join(root, 'homes'));
    this.swept = Promise.all([this.run.swept, sweep]).then(() => undefined);
  }

  private storeHash(home: Home): StoreHash {
    return (host, st, digest) => this.hashes.record(home.name, home.real, host, st, digest);
  }

  /** Resolves once what earlier runs left in state/incoming is gone (tests, diagnostics). */
  readonly swept: Promise<void>;

  /** How batches of small files are made durable: one syncfs each, or an fsync per file. */
  syncMode(): Promise<'syncfs' | 'fsync'> {
    return this.run.syncMode();
  }

  /** Filesystem syncs so far (diagnostics). */
  get filesystemSyncs(): number {
    return this.run.batcher.filesystemSyncs;
  }

  /** Commit groups synced so far (diagnostics). */
  get syncGroups(): number {
    return this.run.batcher.groups;
  }

  normalize(cwd: string, target: string): string {
    return this.jail.normalize(cwd, target);
  }

  ensureHome(account: Account): Promise<void> {
    return this.jail.ensureHome(account);
  }

  stat(account: Account, cwd: string, target: string): Promise<Entry> {
    return statEntry(this.jail, this.hashes, account, cwd, target);
  }

  list(account: Account, cwd: string, target: string, limit = LIST_PAGE_MAX): Promise<ListPage> {
    return listFolder(this.jail, this.hashes, account, cwd, target, Math.min(Math.max(1, limit), LIST_PAGE_MAX));
  }

  walk(account: Account, cwd: string, target: string, limit = LIST_PAGE_MAX): Promise<WalkPage> {
    return walkTree(this.jail, this.hashes, account, cwd, target, Math.min(Math.max(1, limit), LIST_PAGE_MAX));
  }

  chdir(account: Account, cwd: string, target: string): Promise<string> {
    return guard(async () => {
      const home = await this.jail.home(account);
      const vpath = this.jail.normalize(cwd, target);
      await this.jail.realFolder(home, vpath);
      return vpath;
    });
  }

  mkdir(account: Account, cwd: string, target: string, parents: boolean, mode?: number): Promise<string> {
    return this.tree.mkdir(account, cwd, target, parents, mode);
  }

  chmod(account: Account, cwd: string, target: string, mode: number, options: ChmodOptions): Promise<ChmodResult> {
    return changeMode(this.jail, this.hashes, account, cwd, target, mode, options);
  }

  rename(account: Account, cwd: string, from: string, to: string, overwrite: boolean): Promise<string> {
    return this.tree.rename(account, cwd, from, to, overwrite);
  }

  remove(account: Account, cwd: string, target: string, recursive: boolean): Promise<void> {
    return this.tree.remove(account, cwd, target, recursive);
  }

  df(account: Account): Promise<Df> {
    return this.admission.df(account);
  }

  async uploadInfo(account: Account, cwd: string, target: string): Promise<UploadInfo> {
    return guard(async () => {
      const home = await this.jail.home(account);
      const vpath = this.jail.normalize(cwd, target);
      const partial = await lstatOrNull(this.admission.partialPath(home, vpath));
      let entry: Entry | null = null;
      try {
        entry = await this.stat(account, '/', vpath);
      } catch (err) {
        if (!(err instanceof FerryError && err.code === 'ENOENT')) throw err;
      }
      return { partial: partial?.isFile() ? partial.size : null, entry };
    });
  }

  async beginUpload(account: Account, cwd: string, target: string, request: UploadRequest): Promise<Upload> {
    return guard(async () => {
      const admitted = await this.admission.admit(account, cwd, target, request);
      if (admitted instanceof SkippedUpload) return admitted;
      const { offset, total, need, entryNeed, have, tracker, partialName, partialDir, partialPath, chosen, unlock } = admitted;
      let handle: fsp.FileHandle | null = null;
      // The entry reserved for a new partial, until the partial exists and is counted.
      let entryHeld = entryNeed;
      try {
        await fsp.mkdir(partialDir, { recursive: true, mode: 0o700 });
        const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | O_NOFOLLOW;
        if (offset === 0) {
          tracker.startChange();
          try {
            handle = await fsp.open(partialPath, flags | fs.constants.O_TRUNC, 0o666);
            tracker.activePartials.set(partialName, 0);
          } finally {
            tracker.endChange(handle ? -have : 0, handle ? entryNeed : 0);
            if (handle) {
              tracker.release(0, entryHeld);
              entryHeld = 0;
            }
          }
        } else {
          handle = await fsp.open(partialPath, flags, 0o666);
        }
        // Big uploads hash in the worker thread (SHA-256 on more than two cores), alongside the disk writes.
        const hash = createCheckHash(request.check ?? 'sha256', total);
        try {
          if (offset > 0) await hashPrefix(handle, offset, hash);
        } catch (err) {
          hash.dispose();
          throw err;
        }
        return new LocalUpload({
          target: chosen,
          exists: request.exists,
          partialPath,
          partialName,
          handle,
          hash,
          offset,
          total,
          mtime: request.mtime,
          mode: newEntryMode(request.mode, 'file', this.umask),
          preserveMode: request.preserveMode ?? false,
          tracker,
          reserved: need,
          batcher: this.run.batcher,
          pickFreeName: admitted.pickFreeName,
          unlock,
          log: this.log,
          storeHash: this.storeHash(admitted.home),
        });
      } catch (err) {
        await handle?.close().catch(() => undefined);
        tracker.release(need, entryHeld);
        if (handle && offset === 0) {
          // Nothing of the old partial is left: do not leave an empty one behind.
          tracker.startChange();
          let gone = false;
          try {
            await fsp.unlink(partialPath);
            gone = true;
          } catch {
            // Left for a later upload of the path, or the next walk, to find.
          } finally {
            tracker.endChange(0, gone ? -1 : 0);
          }
        }
        tracker.activePartials.delete(partialName);
        unlock();
        throw err;
      }
    });
  }

  /**
   * A whole small file in one go: the same checks as beginUpload() (jail, policy, lock,
   * quota), then the digest of `data`, then a durable commit in the next group. Nothing
   * is written before the hash has matched.
   */
  async putWhole(
    account: Account,
    cwd: string,
    target: string,
    request: Omit<UploadRequest, 'offset' | 'total'>,
    data: Buffer,
    given: Digest | string,
  ): Promise<{ readonly committed: Promise<PutResult> }> {
    const expected = asDigest(given);
    const admitted = await guard(() => this.admission.admit(account, cwd, target, { ...request, offset: 0, total: data.length }, true));
    if (admitted instanceof SkippedUpload) return { committed: admitted.commit() };
    const { need, entryNeed, tracker, partialName, partialPath, chosen, unlock } = admitted;
    let held = true;
    // Once the file is in place, its bytes are counted in the usage and its path may be
    // uploaded again: the reservation and the lock go then, not after the folder fsync
    // (which only the reply waits for).
    const letGo = (): void => {
      if (!held) return;
      held = false;
      tracker.release(need, entryNeed);
      unlock();
    };
    const commit = async (): Promise<PutResult> => {
      try {
        const digest = await digestOfBytes(data, expected.algorithm);
        if (digest.hex !== expected.hex.toLowerCase()) throw new FerryError('ECHECKSUM');
        const incomingDir = path.join(this.run.incoming, account.name, partialName[0]!);
        const item = new WholeUpload({
          target: chosen,
          exists: request.exists,
          pickFreeName: admitted.pickFreeName,
          tracker,
          partialName,
          partialPath,
          incomingDir,
          incomingPath: path.join(incomingDir, partialName),
          data,
          mtime: request.mtime,
          mode: newEntryMode(request.mode, 'file', this.umask),
          preserveMode: request.preserveMode ?? false,
          placed: letGo,
          digest,
          storeHash: this.storeHash(admitted.home),
        });
        return await this.run.batcher.commit(item, () => ({ path: item.path, size: data.length, ...digestField(digest) }));
      } catch (err) {
        // (The partial's accounting is the item's: discard() or place() settle it.)
        throw toFerryError(err);
      } finally {
        letGo();
      }
    };
    // Tracked from the start, so that closing the storage waits for it too.
    return { committed: this.run.batcher.track(commit()) };
  }

  openDownload(account: Account, cwd: string, target: string, offset: number, check: CheckAlgorithm = 'sha256'): Promise<Download> {
    return openDownload(this.jail, account, cwd, target, offset, check);
  }

  hashFile(account: Account, cwd: string, target: string, options: HashOptions): Promise<FileHashResult> {
    return hashFile(this.jail, this.hashes, account, cwd, target, options);
  }

  readWhole(account: Account, cwd: string, target: string, max: number, check: CheckAlgorithm = 'sha256'): Promise<WholeFile> {
    return readWhole(this.jail, account, cwd, target, max, check);
  }

  async hostPath(account: Account, cwd: string): Promise<string> {
    // Asked when a command starts: from now on it may change folders behind our back.
    this.jail.forget();
    return guard(async () => this.jail.realFolder(await this.jail.home(account), this.jail.normalize('/', cwd)));
  }

  invalidateUsage(account: Account): void {
    this.admission.invalidate(account);
    // A command may have moved folders or planted links: resolve everything afresh.
    this.jail.forget();
  }

  async close(): Promise<void> {
    await this.run.close();
    // After the last commits: their records are written before the process ends.
    await this.hashes.close();
  }
}

async function hashPrefix(handle: fsp.FileHandle, length: number, hash: StreamHash): Promise<void> {
  const opened = await handle.stat();
  if (opened.size !== length) {
    throw new FerryError('EOFFSET', 'The partial upload changed: start again.', { offset: opened.size });
  }
  const buffer = Buffer.allocUnsafe(Math.min(HASH_READ_BYTES, length));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) throw new FerryError('EOFFSET', 'The partial upload changed: start again.', { offset: position });
    await hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}
