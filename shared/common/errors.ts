/**
 * Stable error codes. They cross the wire, the IPC bridge and the CLI's stderr, and
 * people script against them: never rename one, only add.
 */
export const ERROR_CODES = {
  EAUTH: 'Authentication failed: check the user name and password.',
  ERATELIMIT: 'Too many failed logins: wait a moment before trying again.',
  ENOENT: 'No such file or folder.',
  EACCES: 'Access denied: the path is outside your home or not allowed.',
  EPERM: 'This account is not allowed to do that.',
  EEXIST: 'A file or folder with that name already exists.',
  ENOTDIR: 'Not a folder.',
  EISDIR: 'Is a folder.',
  ENOTEMPTY: 'The folder is not empty (delete it recursively to remove its contents).',
  EQUOTA: 'Not enough quota left for this upload.',
  ENOSPC: 'The server disk is full.',
  EPROTO: 'Protocol error: the peer sent something this version does not understand.',
  ETOOBIG: 'Too big: a limit was exceeded.',
  EBUSY: 'Busy: the file is being written by another transfer, or the server is at a limit.',
  ECANCELED: 'Cancelled.',
  EHOSTKEY: 'The server key does not match the one recorded for this host.',
  ETIMEDOUT: 'Timed out.',
  EOFFSET: 'The resume offset does not match what the server holds.',
  ECHECKSUM: 'The transfer check failed: the data was corrupted or changed during the transfer.',
  ECONN: 'The connection failed or was lost.',
  EINVAL: 'Invalid argument.',
  EIO: 'Input/output error.',
  ENAME: 'A name from the server is not a safe local file name.',
  ENOTSUP: 'The server does not offer this.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes that only clients produce: the server never sends them. docs/PROTOCOL.md lists
 * every other code in its error table (test/docs checks both).
 */
export const CLIENT_ONLY_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['EHOSTKEY', 'ENAME', 'ENOTSUP']);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Wire form of an error (inside an `error` frame, an IPC result, a JSON line). */
export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  /** Machine-readable extras, e.g. `{ offset }` for EOFFSET or `{ need, free }` for EQUOTA. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error type Ferry throws: a stable code, a human message, optional details. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code]);
    this.name = 'FerryError';
    this.code = code;
    this.details = details;
  }

  toInfo(): ErrorInfo {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromInfo(info: ErrorInfo): FerryError {
    return new FerryError(info.code, info.message, info.details as Record<string, unknown> | undefined);
  }
}

/** Node system error codes that map one-to-one onto ours. */
const SYSTEM_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'ENOENT',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EEXIST: 'EEXIST',
  ENOTDIR: 'ENOTDIR',
  EISDIR: 'EISDIR',
  ENOTEMPTY: 'ENOTEMPTY',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'ENOSPC',
  EBUSY: 'EBUSY',
  ELOOP: 'EACCES',
  ENAMETOOLONG: 'EINVAL',
  EINVAL: 'EINVAL',
  ETIMEDOUT: 'ETIMEDOUT',
  ECONNREFUSED: 'ECONN',
  ECONNRESET: 'ECONN',
  EPIPE: 'ECONN',
  ENOTFOUND: 'ECONN',
  EHOSTUNREACH: 'ECONN',
  ENETUNREACH: 'ECONN',
  EADDRNOTAVAIL: 'ECONN',
};

/**
 * Turn anything thrown into a FerryError. System errors keep their meaning but lose
 * their paths (server paths must never reach a client).
 */
export function toFerryError(err: unknown, fallback: ErrorCode = 'EIO'): FerryError {
  if (err instanceof FerryError) return err;
  const sys = (err as { code?: unknown } | null)?.code;
  if (typeof sys === 'string') {
    const code = SYSTEM_CODES[sys];
    if (code !== undefined) return new FerryError(code);
    // Other system errors: keep the code, drop the message (it names server paths).
    if (/^E[A-Z0-9]+$/.test(sys)) return new FerryError(fallback, `${ERROR_CODES[fallback]} (${sys})`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FerryError(fallback, `${ERROR_CODES[fallback]} (${message})`);
}
