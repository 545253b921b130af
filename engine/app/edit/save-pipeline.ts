/**
 * What an edit does on the server: fetch the file into the working folder, tell whether
 * the server's file is still the one that was opened (the conflict check), and commit a
 * save whole and verified (Lane.put through uploadFile: the server checks the XXH3-128 or
 * SHA-256, or the size where it has no hash, before the file replaces the old one),
 * keeping its mode.
 */
import path from 'node:path';
import { FerryError, toFerryError } from '../../../shared/common/errors.js';
import type { ExistsPolicy } from '../../../shared/common/messages.js';
import type { CheckAlgorithm, Digest } from '../../../shared/common/checks.js';
import type { TransferCheck } from '../../../shared/common/transfer-model.js';
import { checkFor, downloadFile, uploadFile } from '../../queue/transfers.js';
import type { Remote } from '../../remote/remote.js';
import { hashFile, type LocalContent } from './working-folder.js';

/** The server's file as Ferry last knew it (opened, or saved by us): what a save may replace. */
export interface RemoteVersion {
  readonly size: number;
  readonly mtime: number;
  /** Our SHA-256 and XXH3-128 of its content (the server's matched one where it computes one). */
  readonly sha256: string;
  readonly xxh128: string;
  /** Permission bits, given again to each save. */
  readonly mode: number;
}

/** Download `remotePath` to `localPath`, checked (a digest where the server has one); the version fetched. */
export async function fetchForEdit(remote: Remote, remotePath: string, localPath: string): Promise<RemoteVersion> {
  const entry = await remote.stat(remotePath);
  if (entry.type !== 'file') throw new FerryError('EISDIR', `${remotePath} is not a file: only files can be edited.`);
  await downloadFile(remote, remotePath, localPath, { exists: 'overwrite', resume: false });
  const { sha256, xxh128, size } = await hashFile(localPath);
  // Changed between the stat and the download: the size and mtime must be the fetched file's.
  const now = size === entry.size ? entry : await remote.stat(remotePath);
  return { size, mtime: now.mtime, sha256, xxh128, mode: entry.mode & 0o7777 };
}

/** What the conflict check found. */
export type RemoteCheck =
  | { readonly kind: 'same' }
  /** The server already holds the content being saved (an earlier attempt committed, its answer was lost). */
  | { readonly kind: 'already'; readonly version: RemoteVersion }
  | { readonly kind: 'changed'; readonly theirs: { readonly size: number; readonly mtime: number } | null };

/**
 * Is the server's file still `base`? By the digest it stored at commit (XXH3-128 or
 * SHA-256, whichever it gives), else by one it computes now (Remote.hash: XXH3-128 where
 * it offers it), else by size and mtime.
 */
export async function checkRemote(remote: Remote, remotePath: string, base: RemoteVersion, saving: LocalContent): Promise<RemoteCheck> {
  const entry = await remote.statOrNull(remotePath);
  if (entry === null || entry.type !== 'file') return { kind: 'changed', theirs: null };
  const theirs = { size: entry.size, mtime: entry.mtime };
  let digest: Digest | undefined = entry.xxh128 ? { algorithm: 'xxh128', hex: entry.xxh128 } : entry.sha256 ? { algorithm: 'sha256', hex: entry.sha256 } : undefined;
  if (digest === undefined && remote.capabilities.serverHash) {
    try {
      digest = (await remote.hash(remotePath, undefined, checkFor(remote))).digest;
    } catch (err) {
      const code = toFerryError(err).code;
      // Someone is writing it right now (it changed while the server hashed it): not ours to replace.
      if (code === 'EBUSY') return { kind: 'changed', theirs };
      // ENOTSUP: this protocol version has no hash request; size and mtime decide.
      if (code !== 'ENOTSUP') throw err;
    }
  }
  if (digest !== undefined) {
    if (digest.hex === base[digest.algorithm]) return { kind: 'same' };
    if (digest.hex === saving[digest.algorithm]) {
      return { kind: 'already', version: { ...base, sha256: saving.sha256, xxh128: saving.xxh128, size: entry.size, mtime: entry.mtime } };
    }
    return { kind: 'changed', theirs };
  }
  return entry.size === base.size && entry.mtime === base.mtime ? { kind: 'same' } : { kind: 'changed', theirs };
}

export interface Committed {
  readonly version: RemoteVersion;
  readonly check: TransferCheck;
}

/** Upload `file` (a snapshot of the working copy) over `remotePath` as one verified commit. */
export async function commitSave(
  remote: Remote,
  file: string,
  remotePath: string,
  local: LocalContent,
  options: { readonly mode: number; readonly exists: ExistsPolicy; readonly signal?: AbortSignal; readonly check?: CheckAlgorithm | undefined },
): Promise<Committed> {
  const { mode, exists, signal, check } = options;
  const result = await uploadFile(remote, file, remotePath, { exists, resume: false, mode, ...(signal ? { signal } : {}), ...(check ? { check } : {}) });
  // What the server holds now is the base of the next save's check.
  const entry = await remote.stat(remotePath);
  return {
    version: { size: local.size, mtime: entry.mtime, sha256: local.sha256, xxh128: local.xxh128, mode },
    check: result.verified && result.digest ? result.digest.algorithm : 'size',
  };
}

/** "NAME (my copy).ext", or "NAME (my copy 2).ext", … beside `remotePath`, that does not exist yet. */
export async function copyPathBeside(remote: Remote, remotePath: string): Promise<string> {
  const dir = path.posix.dirname(remotePath);
  const base = path.posix.basename(remotePath);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  for (let i = 1; i < 1000; i++) {
    const candidate = path.posix.join(dir, `${stem} (my copy${i > 1 ? ` ${i}` : ''})${ext}`);
    if ((await remote.statOrNull(candidate)) === null) return candidate;
  }
  throw new FerryError('EEXIST', `There is no free name for a copy of ${remotePath}.`);
}
