/**
 * The one door to the disk. Every file access the server makes on a client's behalf goes
 * through a Storage, which owns the home jail (every client path resolves inside the
 * user's home, or fails with EACCES), quotas with reservations, resumable partial
 * uploads and durable commits. The interface is small on purpose so that another backend
 * (a shared object store behind several ferryd nodes) can implement it later.
 *
 * Virtual paths: '/' is the user's home; a path is absolute ('/a/b') or relative to the
 * session's cwd. Callers pass the session cwd; Storage normalises. Nothing here assumes
 * real folders on this machine: commands, which need them, ask an ExecHost (exec-host.ts).
 */
import type { CheckAlgorithm, Digest } from '../shared/common/checks.js';
import type { Entry, ExistsPolicy, Df, UploadInfo, PutResult, WalkRecord } from '../shared/common/messages.js';
import type { ChmodOptions, ChmodResult } from './storage-chmod.js';

export type { ChmodOptions, ChmodResult };

export interface Account {
  readonly name: string;
  /** Bytes, or null for none. */
  readonly quota: number | null;
  /**
   * The most entries (files, folders, links, partial uploads) the account may have, or
   * null (or absent) for no limit. The user store gives every account one by default.
   */
  readonly maxEntries?: number | null;
}

export interface UploadRequest {
  readonly offset: number;
  readonly total: number;
  readonly exists: ExistsPolicy;
  /** Modification time to set on the committed file (ms since the epoch). */
  readonly mtime?: number | undefined;
  /** The source's permission bits: a new file gets them masked by the server's umask (default 0o666 before it). */
  readonly mode?: number | undefined;
  /** Give `mode` to a file this upload replaces too; without it, a replaced file keeps its own bits. */
  readonly preserveMode?: boolean | undefined;
  /** The whole-file check the client sends at the end (default sha256). */
  readonly check?: CheckAlgorithm | undefined;
}

/** An upload in progress. Exactly one of commit() or abort() ends it. */
export interface Upload {
  /** The virtual path the file will have when committed (differs from the request for 'rename'). */
  readonly path: string;
  /** True when the policy was 'skip' and the target exists: write nothing, commit() reports skipped. */
  readonly skipped: boolean;
  /** Append bytes (in order). Resolves when it is safe to send more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Check that the whole file's digest (including bytes stored before `offset`, with the
   * upload's check) equals `expected` and that exactly total-offset bytes were written,
   * make the data durable and move it into place. ECHECKSUM (and the partial is deleted)
   * on a mismatch. A bare string is a SHA-256.
   */
  commit(expected: Digest | string): Promise<PutResult>;
  /** Stop: keep the partial for a later resume (interrupted) or delete it (refused). */
  abort(keepPartial: boolean): Promise<void>;
}

export interface Download {
  readonly path: string;
  readonly total: number;
  readonly offset: number;
  readonly mtime: number;
  /** The bytes from offset to total, read in large chunks. */
  chunks(): AsyncIterable<Buffer>;
  /**
   * The socket is done with a chunk that chunks() gave: its buffer may be reused. Called
   * once for every chunk sent (a download that reuses nothing ignores it).
   */
  release(chunk: Uint8Array): void;
  /** The whole file's digest (with the download's check); valid once chunks() has been read to the end. */
  digest(): Digest;
  close(): Promise<void>;
}

/** A page of a folder's listing (Storage.list), sorted by name. */
export interface ListPage {
  readonly path: string;
  readonly entries: Entry[];
  /** The following pages, or null when this page is the whole folder. Close it if abandoned. */
  readonly rest: FolderPages | null;
}

/** The rest of a listing, a page at a time: nothing but the page being built is held. */
export interface FolderPages {
  /**
   * The next page: at most `limit` entries and LIST_PAGE_BYTES of JSON. `done` once the
   * folder has given everything (it is then closed).
   */
  next(limit: number): Promise<{ entries: Entry[]; done: boolean }>;
  close(): Promise<void>;
}

/** The first page of a walk through a folder's tree (Storage.walk). */
export interface WalkPage {
  readonly path: string;
  readonly records: WalkRecord[];
  /** The following pages, or null when this page is the whole tree. Close it if abandoned. */
  readonly rest: TreePages | null;
}

/** The rest of a walk, a page at a time: a page, a few records read ahead and the folders still to read are held. */
export interface TreePages {
  /**
   * The next page: at most `limit` records and LIST_PAGE_BYTES of JSON. `done` once the
   * tree has given everything (it is then closed).
   */
  next(limit: number): Promise<{ records: WalkRecord[]; done: boolean }>;
  close(): Promise<void>;
}

/** A file's digest as it is now (Storage.hashFile). */
export interface FileHashResult {
  readonly path: string;
  readonly digest: Digest;
  readonly size: number;
  readonly mtime: number;
  /** Read and hashed now (false: the stored hash still held). */
  readonly computed: boolean;
}

export interface HashOptions {
  /** Stops the reading (ECANCELED). */
  readonly signal: AbortSignal;
  /** Taken before the file is read (not for a stored hash): resolves with its release. */
  readonly slot: () => Promise<() => void>;
  /** The algorithm asked for (default sha256). */
  readonly algorithm?: CheckAlgorithm | undefined;
}

/** A whole small file read in one go (Storage.readWhole). */
export interface WholeFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mtime: number;
  /** The digest of `data`, with the read's check. */
  readonly digest: Digest;
}

export interface Storage {
  /** Normalise `path` against `cwd` to a virtual path. EACCES for escapes, NUL, backslashes. */
  normalize(cwd: string, path: string): string;
  /** Create the user's home if missing (called at login). */
  ensureHome(account: Account): Promise<void>;
  stat(account: Account, cwd: string, path: string): Promise<Entry>;
  /**
   * The first page of at most `limit` entries (default LIST_PAGE_MAX) of a folder (lstat
   * semantics: symlinks are 'symlink'; partial uploads hidden), and the rest if there is more.
   */
  list(account: Account, cwd: string, path: string, limit?: number): Promise<ListPage>;
  /**
   * The first page of at most `limit` records (default LIST_PAGE_MAX) of everything below a
   * folder, each folder's record before the records inside it (lstat semantics: links are
   * listed, never followed), and the rest if there is more. ENOTDIR / ENOENT / EACCES.
   */
  walk(account: Account, cwd: string, path: string, limit?: number): Promise<WalkPage>;
  /** Resolve a folder for `cd`: returns its virtual path. ENOTDIR / ENOENT / EACCES. */
  chdir(account: Account, cwd: string, path: string): Promise<string>;
  /** `mode`: the new folders' bits before the umask (default 0o777). */
  mkdir(account: Account, cwd: string, path: string, parents: boolean, mode?: number): Promise<string>;
  /**
   * Set permission bits (at most 0o777, EINVAL otherwise) on an entry, or with `recursive`
   * on a folder and everything below it (links skipped, never followed; a link named
   * itself is EINVAL). Stored hashes are kept. ECANCELED on `signal`, ETOOBIG past the
   * account's entry limit.
   */
  chmod(account: Account, cwd: string, path: string, mode: number, options: ChmodOptions): Promise<ChmodResult>;
  rename(account: Account, cwd: string, from: string, to: string, overwrite: boolean): Promise<string>;
  remove(account: Account, cwd: string, path: string, recursive: boolean): Promise<void>;
  df(account: Account): Promise<Df>;
  uploadInfo(account: Account, cwd: string, path: string): Promise<UploadInfo>;
  /** Start an upload: checks the jail, the policy, the offset (EOFFSET with details.offset) and reserves quota (EQUOTA). */
  beginUpload(account: Account, cwd: string, path: string, request: UploadRequest): Promise<Upload>;
  /**
   * Upload a whole small file whose bytes have all arrived. Resolves once it is admitted
   * (the same checks as beginUpload with offset 0, in the order of the calls: a refusal
   * rejects here) with `committed`: the SHA-256 check (ECHECKSUM, nothing written) and the
   * durable commit, which resolves when the file and its folder are durable.
   */
  putWhole(
    account: Account,
    cwd: string,
    path: string,
    request: Omit<UploadRequest, 'offset' | 'total'>,
    data: Buffer,
    /** The client's digest (a bare string: a SHA-256). */
    expected: Digest | string,
  ): Promise<{ readonly committed: Promise<PutResult> }>;
  openDownload(account: Account, cwd: string, path: string, offset: number, check?: CheckAlgorithm): Promise<Download>;
  /**
   * The SHA-256 of a file as it is now: the stored one while the file is unchanged since,
   * else read and hashed (then stored). EISDIR for a folder, EBUSY if it changed meanwhile.
   */
  hashFile(account: Account, cwd: string, path: string, options: HashOptions): Promise<FileHashResult>;
  /** A whole file of at most `max` bytes in memory, with its digest; ETOOBIG (details.fileSize) if bigger. */
  readWhole(account: Account, cwd: string, path: string, max: number, check?: CheckAlgorithm): Promise<WholeFile>;
  /** Flush pending durable commits (called on shutdown). */
  close(): Promise<void>;
}
