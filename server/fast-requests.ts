/**
 * The requests a transfer sends by the thousand (put, put-end, read), validated by hand.
 * Every request is checked against its zod schema in shared/common/messages.ts; for a
 * 4 KiB file that check costs more than storing the bytes. These checks accept exactly
 * what the schemas accept and build the same object (unknown fields dropped); anything
 * they do not accept goes to the schema, which then reports what is wrong.
 */
import type { FrameHeader } from '../shared/common/frame.js';
import { SHA256_HEX, XXH128_HEX, type CheckAlgorithm } from '../shared/common/checks.js';
import type { Request } from '../shared/common/messages.js';

/** z.number().int().nonnegative(): a safe integer, not negative. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** remotePath: z.string().min(1).max(4096). */
function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 4096;
}

const EXISTS = new Set(['overwrite', 'fail', 'skip', 'rename']);
const CHECKS = new Set(['sha256', 'xxh128']);

/** CheckAlgorithmSchema, optional. */
function isCheck(value: unknown): value is CheckAlgorithm | undefined {
  return value === undefined || (typeof value === 'string' && CHECKS.has(value));
}

/** The request, or undefined when the schema has to decide. */
export function fastRequest(h: FrameHeader): Request | undefined {
  switch (h.type) {
    case 'put': {
      const { id, path, offset, total, size, exists, mtime, mode, preserveMode, check } = h;
      if (!isCount(id) || !isPath(path) || !isCount(offset) || !isCount(total)) return undefined;
      if (size !== undefined && !isCount(size)) return undefined;
      if (exists !== undefined && !(typeof exists === 'string' && EXISTS.has(exists))) return undefined;
      // z.number(): finite (JSON can still say 1e999, which parses as Infinity).
      if (mtime !== undefined && !(typeof mtime === 'number' && Number.isFinite(mtime))) return undefined;
      // modeBits: an integer from 0 to 0o7777.
      if (mode !== undefined && !(isCount(mode) && mode <= 0o7777)) return undefined;
      if (preserveMode !== undefined && typeof preserveMode !== 'boolean') return undefined;
      if (!isCheck(check)) return undefined;
      const req: Extract<Request, { type: 'put' }> = { type: 'put', id, path, offset, total };
      if (size !== undefined) req.size = size;
      if (exists !== undefined) req.exists = exists as NonNullable<typeof req.exists>;
      if (mtime !== undefined) req.mtime = mtime;
      if (mode !== undefined) req.mode = mode;
      if (preserveMode !== undefined) req.preserveMode = preserveMode;
      if (check !== undefined) req.check = check;
      return req;
    }
    case 'put-end': {
      // Both fields are optional here, as in the schema: which one a put-end must carry is
      // its put's business (connection-uploads.ts).
      const { id, sha256, xxh128 } = h;
      if (!isCount(id)) return undefined;
      if (sha256 !== undefined && !(typeof sha256 === 'string' && SHA256_HEX.test(sha256))) return undefined;
      if (xxh128 !== undefined && !(typeof xxh128 === 'string' && XXH128_HEX.test(xxh128))) return undefined;
      const req: Extract<Request, { type: 'put-end' }> = { type: 'put-end', id };
      if (sha256 !== undefined) req.sha256 = sha256;
      if (xxh128 !== undefined) req.xxh128 = xxh128;
      return req;
    }
    case 'read': {
      const { id, path, max, check } = h;
      if (!isCount(id) || !isPath(path) || !isCount(max) || !isCheck(check)) return undefined;
      return check === undefined ? { type: 'read', id, path, max } : { type: 'read', id, path, max, check };
    }
    default:
      return undefined;
  }
}
