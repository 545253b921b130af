/**
 * The Ferry protocol's messages (version 1). docs/PROTOCOL.md is the normative prose;
 * these schemas are what both ends enforce. Requests are validated by the server, and
 * replies by the client (neither side trusts the other).
 */
import { z } from 'zod';
import { CHECK_ALGORITHMS, SHA256_HEX, XXH128_HEX } from './checks.js';
import { NAME_PATTERN_MAX } from './name-pattern.js';
import { SEARCH_BOUNDS } from './search-model.js';

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

const id = z.number().int().nonnegative();
/** A remote path: '/' is the user's home. Jail checks happen in the server's storage layer. */
const remotePath = z.string().min(1).max(4096);
const b64 = z.string().max(1024);
export { SHA256_HEX };
const sha256Hex = z.string().regex(SHA256_HEX);
const xxh128Hex = z.string().regex(XXH128_HEX);
/** The check of a transfer (checks.ts): absent means `sha256`. */
export const CheckAlgorithmSchema = z.enum(CHECK_ALGORITHMS);

export const ExistsPolicy = z.enum(['overwrite', 'fail', 'skip', 'rename']);

/** Permission bits as a client may send them with a put or mkdir (setuid, setgid and sticky are ignored). */
const modeBits = z.number().int().min(0).max(0o7777);
export type ExistsPolicy = z.infer<typeof ExistsPolicy>;

export const Request = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), id, versions: z.array(z.number().int()).min(1).max(16), agent: z.string().max(200) }),
  z.object({ type: z.literal('auth'), id, mechanism: z.string().max(64), data: z.string().max(2048) }),
  z.object({ type: z.literal('auth-final'), id, data: z.string().max(2048) }),
  z.object({ type: z.literal('attach'), id, session: b64, proof: b64 }),
  z.object({ type: z.literal('ping'), id }),
  z.object({ type: z.literal('pwd'), id }),
  z.object({ type: z.literal('cd'), id, path: remotePath }),
  z.object({
    type: z.literal('list'),
    id,
    path: remotePath.optional(),
    /** Paging: at most this many entries in the reply (capped to LIST_PAGE_MAX). */
    limit: z.number().int().positive().optional(),
    /** Paging: the `next` of the previous page (the listing it continues). */
    cursor: z.string().min(1).max(64).optional(),
  }),
  z.object({
    type: z.literal('walk'),
    id,
    /** The folder whose tree is walked (default the cwd). */
    path: remotePath.optional(),
    /** Paging: at most this many records in the reply (capped to LIST_PAGE_MAX). */
    limit: z.number().int().positive().optional(),
    /** The `next` of the previous page (the walk it continues). */
    cursor: z.string().min(1).max(64).optional(),
    /** The digests a record may carry (default only `sha256`: an older client refuses others). */
    checks: z.array(CheckAlgorithmSchema).max(8).optional(),
  }),
  z.object({
    type: z.literal('find'),
    id,
    /** The folder whose tree is searched (default the cwd). */
    path: remotePath.optional(),
    /** A glob or a plain text, matched against names (shared/common/name-pattern.ts). */
    pattern: z.string().min(1).max(NAME_PATTERN_MAX),
    caseSensitive: z.boolean().optional(),
    /** At most this many results (capped to the server's limit, SEARCH_RESULTS_MAX by default). */
    max: z.number().int().positive().optional(),
    /** As walk's `checks`. */
    checks: z.array(CheckAlgorithmSchema).max(8).optional(),
  }),
  z.object({ type: z.literal('stat'), id, path: remotePath }),
  /** `mode`: the new folders' permission bits (the server's umask applies), e.g. the local folder's. */
  z.object({ type: z.literal('mkdir'), id, path: remotePath, parents: z.boolean().optional(), mode: modeBits.optional() }),
  z.object({ type: z.literal('rename'), id, from: remotePath, to: remotePath, overwrite: z.boolean().optional() }),
  z.object({ type: z.literal('delete'), id, path: remotePath, recursive: z.boolean().optional() }),
  z.object({ type: z.literal('df'), id }),
  /** Set permission bits (at most CHMOD_MODE_MAX, permissions.ts; else EINVAL); `recursive`: everything below a folder too, links skipped. */
  z.object({
    type: z.literal('chmod'),
    id,
    path: remotePath,
    mode: z.number().int().nonnegative(),
    recursive: z.boolean().optional(),
  }),
  z.object({ type: z.literal('upload-info'), id, path: remotePath }),
  z.object({
    type: z.literal('put'),
    id,
    path: remotePath,
    offset: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    size: z.number().int().nonnegative().optional(),
    exists: ExistsPolicy.optional(),
    mtime: z.number().optional(),
    /** The source's permission bits: a new file gets them masked by the server's umask. */
    mode: modeBits.optional(),
    /** Give `mode` to a file this upload replaces too (`scp -p`); without it, it keeps its own. */
    preserveMode: z.boolean().optional(),
    /** The whole-file check the put-end carries: `sha256` (default) or `xxh128`. */
    check: CheckAlgorithmSchema.optional(),
  }),
  /** Exactly one of the two, the one the put's `check` names (the server refuses others, EPROTO). */
  z.object({ type: z.literal('put-end'), id, sha256: sha256Hex.optional(), xxh128: xxh128Hex.optional() }),
  z.object({
    type: z.literal('get'),
    id,
    path: remotePath,
    offset: z.number().int().nonnegative().optional(),
    /** The check the final `ok` carries: `sha256` (default) or `xxh128`. */
    check: CheckAlgorithmSchema.optional(),
  }),
  z.object({ type: z.literal('read'), id, path: remotePath, max: z.number().int().nonnegative(), check: CheckAlgorithmSchema.optional() }),
  /** A file's digest as it is now (`algorithm`, default sha256): the stored one while it holds, else computed (and stored). */
  z.object({ type: z.literal('hash'), id, path: remotePath, algorithm: CheckAlgorithmSchema.optional() }),
  z.object({
    type: z.literal('exec'),
    id,
    command: z.string().min(1).max(64 * 1024),
    timeout: z.number().int().positive().optional(),
  }),
  z.object({ type: z.literal('cancel'), id, target: id }),
]);
export type Request = z.infer<typeof Request>;
export type RequestType = Request['type'];
export const REQUEST_TYPES: ReadonlySet<string> = new Set(Request.options.map((o) => o.shape.type.value));

export const EntryType = z.enum(['file', 'dir', 'symlink', 'other']);
export type EntryType = z.infer<typeof EntryType>;

export const Entry = z.object({
  name: z.string().min(1).max(1024),
  type: EntryType,
  size: z.number().nonnegative(),
  /** Modification time, milliseconds since the epoch. */
  mtime: z.number(),
  /** Permission bits (e.g. 0o644). */
  mode: z.number().int().nonnegative(),
  /** Files only: the SHA-256 the server stored when it committed the file, while unchanged since. */
  sha256: sha256Hex.optional(),
  /** Files only: the same for a file whose stored digest is an XXH3-128 (never both). */
  xxh128: xxh128Hex.optional(),
});
export type Entry = z.infer<typeof Entry>;
export const EntryList = z.array(Entry);

export const UserInfo = z.object({
  name: z.string(),
  exec: z.boolean(),
  /** Bytes, or null for no quota. */
  quota: z.number().nullable(),
});
export type UserInfo = z.infer<typeof UserInfo>;

export const Df = z.object({
  quota: z.number().nullable(),
  used: z.number(),
  free: z.number(),
  /** Entries (files, folders, links, partial uploads) the account has, and its limit (null: none). */
  entries: z.number().int().nonnegative().optional(),
  maxEntries: z.number().int().nonnegative().nullable().optional(),
});
export type Df = z.infer<typeof Df>;

export const ServerHello = z.object({
  type: z.literal('hello'),
  id: id,
  version: z.number().int(),
  agent: z.string(),
  nonce: b64,
  mechanisms: z.array(z.string()),
  /** The transfer checks the server supports (absent: an older server, SHA-256 only). */
  checks: z.array(z.string().max(32)).max(16).optional(),
});
export type ServerHello = z.infer<typeof ServerHello>;

export const AuthOk = z.object({
  type: z.literal('ok'),
  id,
  data: z.string(),
  user: UserInfo,
  cwd: z.string(),
  session: b64,
  ticket: b64,
  /** The account's usage as `df` reports it, at the login (servers that send it: a client may skip its first df). */
  df: Df.optional(),
});
export type AuthOk = z.infer<typeof AuthOk>;

export const UploadInfo = z.object({ partial: z.number().nullable(), entry: Entry.nullable() });
export type UploadInfo = z.infer<typeof UploadInfo>;

export const PutResult = z.object({
  path: z.string(),
  size: z.number(),
  /** The whole file's digest, in the field of the put's check (absent when skipped). */
  sha256: z.string().optional(),
  xxh128: z.string().optional(),
  skipped: z.boolean().optional(),
});
export type PutResult = z.infer<typeof PutResult>;

export const GetData = z.object({
  type: z.literal('data'),
  id,
  offset: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  size: z.number().int().nonnegative().optional(),
  mtime: z.number(),
});
export type GetData = z.infer<typeof GetData>;

/** The reply to `read`: a whole small file in the `ok` frame's body. */
export const ReadOk = z.object({
  type: z.literal('ok'),
  id,
  path: z.string(),
  fileSize: z.number().int().nonnegative(),
  mtime: z.number(),
  /** The body's digest, in the field of the read's check. */
  sha256: sha256Hex.optional(),
  xxh128: xxh128Hex.optional(),
});
export type ReadOk = z.infer<typeof ReadOk>;

/**
 * The reply to `hash`: the file's SHA-256, size and mtime as the hash covers them (the
 * size is `fileSize`, as in the replies to put and read: a frame's `size` is its body's).
 */
export const HashOk = z.object({
  type: z.literal('ok'),
  id,
  path: z.string(),
  /** The digest, in the field of the hash's `algorithm`. */
  sha256: sha256Hex.optional(),
  xxh128: xxh128Hex.optional(),
  fileSize: z.number().int().nonnegative(),
  mtime: z.number(),
});
export type HashOk = z.infer<typeof HashOk>;

/**
 * Files up to this size move whole, in one frame, both ways: a `put` from offset 0 with a
 * body of at most this many bytes is stored in one go once its body is complete, and a
 * client fetches a file this small with one `read` (which allows up to READ_MAX).
 */
export const WHOLE_FILE_MAX = 256 * 1024;
/** The most a `read` may ask for (larger `max` values are capped to it). */
export const READ_MAX = 4 * 1024 * 1024;

/**
 * One `list` reply holds at most this many entries and this many bytes of JSON body: a
 * bigger folder comes in pages (`limit`, `cursor`, `next`), and a request without paging
 * for a folder that does not fit one reply is refused with ETOOBIG.
 */
export const LIST_PAGE_MAX = 5000;
export const LIST_PAGE_BYTES = 1024 * 1024;

/** The `ok` to a `list`: the folder, this page's entry count, and `next` while more remain. */
export const ListOk = z.object({
  type: z.literal('ok'),
  id,
  path: z.string(),
  count: z.number().int().nonnegative(),
  next: z.string().min(1).max(64).optional(),
});
export type ListOk = z.infer<typeof ListOk>;

/**
 * One record of a `walk` page: [rel, type, size, mtime, mode, digest]. `rel` is the path
 * below the walked folder ('/'-separated), `type` an index in WALK_TYPES, `digest` '' where
 * the server has no stored hash (as an entry without `sha256`), else a SHA-256 (64 hex
 * digits) or, for a client that asked for them (`checks`), an XXH3-128 (32). Arrays, not objects: a
 * tree of ten thousand files is a fraction of the bytes of the same entries as listings.
 */
export type WalkRecord = readonly [rel: string, type: number, size: number, mtime: number, mode: number, sha256: string];
/** A walk record's `type`, by index. */
export const WALK_TYPES: readonly EntryType[] = ['file', 'dir', 'symlink', 'other'];

/**
 * The `ok` to a `walk`: the walked folder, this page's record count, and `next` (null on
 * the last page). Pages hold at most LIST_PAGE_MAX records and LIST_PAGE_BYTES of body.
 */
export const WalkOk = z.object({
  type: z.literal('ok'),
  id,
  path: z.string(),
  count: z.number().int().nonnegative(),
  next: z.string().min(1).max(64).nullable(),
});
export type WalkOk = z.infer<typeof WalkOk>;

/**
 * The `ok` that ends a `find`: the searched folder, the results sent (in `find-found`
 * frames before it), the entries looked at, and the bound that stopped it early (null:
 * the whole tree was searched).
 */
export const FindOk = z.object({
  type: z.literal('ok'),
  id,
  path: z.string(),
  count: z.number().int().nonnegative(),
  visited: z.number().int().nonnegative(),
  truncated: z.enum(SEARCH_BOUNDS).nullable(),
});
export type FindOk = z.infer<typeof FindOk>;

export const ExecStream = z.enum(['stdout', 'stderr']);
export type ExecStream = z.infer<typeof ExecStream>;

export const ExecExit = z.object({ code: z.number().int().nullable(), signal: z.string().nullable() });
export type ExecExit = z.infer<typeof ExecExit>;

/** A readable summary of a zod failure for an EPROTO message. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || 'header'}: ${i.message}`)
    .join('; ');
}
