/**
 * What the transfer queue and the app backend know of a server: a transport-neutral
 * `Remote` (browsing, file operations, usage, exec, and lanes that carry transfers) and
 * the capability record that says which of Ferry's guarantees this transport can give.
 * Ferry's own protocol (engine/wire/) is the first implementation; SFTP is the second.
 */
import { FerryError } from '../../shared/common/errors.js';
import { formatBytes } from '../../shared/common/size.js';
import type { Df, Entry, ExecExit, ExecStream, ExistsPolicy, UploadInfo, UserInfo, WalkRecord } from '../../shared/common/messages.js';
import type { SearchBatch } from '../../shared/common/search-model.js';
import type { CheckAlgorithm, Digest } from '../../shared/common/checks.js';
import type { StreamHash } from '../../shared/node/hash-worker.js';

export interface RemoteCapabilities {
  /**
   * The remote computes each file's SHA-256 itself: an upload's commit is refused unless
   * it matches the client's, and a read sends the hash of the whole file. Without it,
   * transfers are checked by size only (and are not shown as verified).
   */
  readonly serverHash: boolean;
  /**
   * The whole-file checks the remote computes for a transfer (shared/common/checks.ts):
   * Ferry's server from its hello (an older one: SHA-256 only); SFTP with sha256sum
   * `['sha256']`; none without serverHash.
   */
  readonly checks: readonly CheckAlgorithm[];
  /** Small files move whole, one request each way (Lane.getWhole, and whole puts). */
  readonly wholeFiles: boolean;
  /** df() reports a quota, and uploads that cannot fit are refused before they start. */
  readonly quota: boolean;
  /** exec() may run commands (the account may still be refused). */
  readonly exec: boolean;
  /** A partial upload kept by the remote is continued (uploadInfo().partial). */
  readonly resume: boolean;
  /**
   * Listings carry the digest the remote stored when it committed each file (Entry.sha256
   * or Entry.xxh128, present while the file is unchanged since), so folders compare by
   * content for free.
   */
  readonly listedHashes: boolean;
}

/** A file's content as the remote holds it now (Remote.hash). */
export interface FileHash {
  readonly digest: Digest;
  readonly size: number;
  readonly mtime: number;
}

/** What a read announces before its bytes: where it starts, the file's size and mtime. */
export interface ReadStart {
  readonly offset: number;
  readonly total: number;
  readonly mtime: number;
}

export interface ReadSink {
  start(head: ReadStart): Promise<void> | void;
  /**
   * Awaited: a slow disk slows the transport. The bytes are the sink's only until then: a
   * lane may reuse their buffer for the next reply (copy what must outlive the call).
   */
  chunk(bytes: Buffer): Promise<void> | void;
}

export interface WriteRequest {
  readonly path: string;
  readonly offset: number;
  readonly total: number;
  readonly exists: ExistsPolicy;
  readonly mtime?: number;
  /**
   * Permission bits (rwx) for a new file: the source's, as scp keeps them, less the server's
   * umask; else the server's default. A file replaced keeps its own unless `preserveMode`.
   */
  readonly mode?: number;
  /** Give `mode` to a file this upload replaces too (`scp -p`). */
  readonly preserveMode?: boolean;
}

export interface WriteHooks {
  /** Bytes handed to the transport (per chunk). */
  readonly onSent?: (bytes: number) => void;
  /** The whole body is on its way: the lane may carry the next request (pipelining). */
  readonly onWritten?: () => void;
  /** A chunk from `source` is no longer needed (its buffer may be reused). */
  readonly onChunkDone?: (chunk: Buffer) => void;
}

/** A committed upload. `digest` is null where the remote has no hash of its own (checked by size), or skipped. */
export interface WriteResult {
  readonly path: string;
  readonly size: number;
  readonly digest: Digest | null;
  readonly skipped: boolean;
}

/** Thrown by Lane.getWhole() when the file must take the streamed way (too big, or not supported). */
export class NotWhole extends Error {}

/**
 * One channel that carries transfers (a data connection). Requests on a lane may be
 * pipelined; destroy() stops everything on it at once (the remote keeps partials).
 */
export interface Lane {
  readonly closed: boolean;
  destroy(): void;
  /**
   * Stream a file from `offset`; resolves with the remote's digest of the whole file, with
   * `check` where the remote computes it (capabilities.checks), else SHA-256 (null if it has none).
   */
  get(path: string, offset: number, sink: ReadSink, hooks: { onWritten?: () => void } | undefined, check: CheckAlgorithm): Promise<{ digest: Digest | null }>;
  /**
   * Write `total - offset` bytes from `source` at `offset`, then commit: the remote checks
   * the size (and, with serverHash, the digest from `hash`, which already holds the bytes
   * before `offset`; its algorithm is the put's check) and only then puts the file in place.
   */
  put(request: WriteRequest, source: () => AsyncIterable<Buffer>, hash: StreamHash, hooks?: WriteHooks): Promise<WriteResult>;
  /**
   * A whole small file of at most `max` bytes, checked against the remote's digest with
   * `check` as get() says (`digest`: null where the remote has none and only the size was
   * checked). `onSent` is called once the request is queued. Throws NotWhole when it must be streamed.
   */
  getWhole(path: string, max: number, onSent: () => void, check: CheckAlgorithm): Promise<{ data: Buffer; mtime: number; digest: Digest | null }>;
}

/**
 * The most one folder's listing may hold in the engine, whatever the server sends: a
 * million entries (the server's default entry quota, so any folder within it lists) and
 * 256 MiB of JSON. Past it, list() stops with ETOOBIG (over any protocol).
 */
export const LISTING_MAX = { entries: 1_000_000, bytes: 256 * 1024 * 1024 } as const;

/** The error for a folder past the listing bounds. */
export function listingTooBig(folder: string, max: { readonly entries: number; readonly bytes: number }): FerryError {
  return new FerryError(
    'ETOOBIG',
    `${folder} holds more than this client lists at once (${max.entries.toLocaleString('en')} entries or ${formatBytes(max.bytes)}): open a subfolder, or use a command (ls, find) in the console.`,
    { maxEntries: max.entries, maxBytes: max.bytes },
  );
}

/** A listing in the order every front end gets it: by name, as bytes compare (not by locale). */
export function byName(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A page of a remote tree's walk (Remote.walk): records checked, each folder's before the
 * records inside it (over all the pages of one walk).
 */
export interface WalkPage {
  /** The walked folder, as the remote resolved it. */
  readonly path: string;
  readonly records: readonly WalkRecord[];
}

/** What a search by name is asked for (Remote.search). */
export interface SearchRequest {
  /** Off by default (name-pattern.ts). */
  readonly caseSensitive?: boolean | undefined;
  /** At most this many results (default SEARCH_RESULTS_DEFAULT, capped to SEARCH_RESULTS_MAX). */
  readonly maxResults?: number | undefined;
  /** Stops the search (ECANCELED). */
  readonly signal?: AbortSignal | undefined;
}

/** Which protocol a Remote speaks (the status bar says it). */
export type RemoteProtocol = 'ferry' | 'sftp';

/** The source of an upload, for uploadInfo(): a partial is only continued for the same source. */
export interface UploadSource {
  readonly size: number;
  readonly mtime: number;
}

export interface Remote {
  readonly protocol: RemoteProtocol;
  /** host:port, for messages and the known-hosts store. */
  readonly host: string;
  readonly fingerprint: string | null;
  readonly user: UserInfo;
  readonly cwd: string;
  readonly capabilities: RemoteCapabilities;
  readonly connected: boolean;
  /** Notified when the connection drops (not on close()). */
  onDisconnect(listener: (err: FerryError | undefined) => void): () => void;
  /** Connect again after a drop, without asking for the password, and keep the cwd. */
  reconnect(): Promise<void>;
  close(): void;

  list(path?: string): Promise<{ path: string; entries: Entry[] }>;
  /**
   * Everything below the folder `path`, a page at a time, walked by the remote (one
   * request a page instead of one listing a folder). Optional: a transport without it is
   * walked folder by folder with list(). ENOTSUP before any page when this remote turns
   * out not to know it (then list() still works). Stopping early abandons the walk.
   */
  walk?(path: string, signal?: AbortSignal): AsyncIterable<WalkPage>;
  /**
   * Names matching `pattern` (shared/common/name-pattern.ts) anywhere below the folder
   * `path`, in batches as they are found, each hit with its absolute path; the last batch
   * says when a bound stopped the search early (search-model.ts). Links are listed, never
   * followed. Ferry's server searches itself (`find`); over SFTP the engine walks.
   * Stopping early (or `signal`) stops the search.
   */
  search(path: string, pattern: string, request?: SearchRequest): AsyncIterable<SearchBatch>;
  stat(path: string): Promise<Entry>;
  statOrNull(path: string): Promise<Entry | null>;
  cd(path: string): Promise<string>;
  /** `mode`: the new folders' bits (e.g. the local folder's), less the server's umask. */
  mkdir(path: string, parents?: boolean, mode?: number): Promise<string>;
  /**
   * Set permission bits (0 to 0o777, EINVAL otherwise) on `path`, or with `recursive` on a
   * folder and everything below it: links are skipped (a link itself is EINVAL), the walk
   * is bounded (ETOOBIG) and stops on `signal` (ECANCELED). Resolves with how many entries changed.
   */
  chmod(path: string, mode: number, options?: { recursive?: boolean; signal?: AbortSignal }): Promise<{ changed: number }>;
  rename(from: string, to: string, overwrite?: boolean): Promise<string>;
  remove(path: string, recursive?: boolean): Promise<void>;
  /**
   * The digest of the file at `path` as it is now with `algorithm` (default sha256; one
   * of capabilities.checks), computed by the remote (or taken from what it stored at
   * commit). ENOTSUP unless capabilities.serverHash.
   */
  hash(path: string, signal?: AbortSignal, algorithm?: CheckAlgorithm): Promise<FileHash>;
  /** Usage and quota; `free` is what may still be uploaded. */
  df(): Promise<Df>;
  /** What is at `path` now, and how much of an upload of `source` the remote already holds. */
  uploadInfo(path: string, source?: UploadSource): Promise<UploadInfo>;
  exec(
    command: string,
    onOutput: (stream: ExecStream, chunk: Buffer) => Promise<void> | void,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<ExecExit>;

  /** Borrow a lane (opened on demand, at most `dataConnections` at once). */
  acquire(signal?: AbortSignal): Promise<Lane>;
  /** Give a lane back (a broken one is dropped). */
  release(lane: Lane): void;
  /** How many lanes may be open at once (a setting that can change any time). */
  readonly dataConnections: number;
  setDataConnections(n: number): void;
}
