/**
 * Reading the server's replies: error frames as FerryErrors with their stable codes, and
 * headers checked against their schemas before anything trusts them.
 */
import { createHash } from 'node:crypto';
import { FerryError, isErrorCode } from '../../shared/common/errors.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import { SHA256_HEX, describeIssues } from '../../shared/common/messages.js';
import type { z } from 'zod';

export function errorFromFrame(header: FrameHeader): FerryError {
  const code = isErrorCode(header.code) ? header.code : 'EPROTO';
  const message = typeof header.message === 'string' ? header.message : 'the server reported an error';
  const details = typeof header.details === 'object' && header.details !== null ? (header.details as Record<string, unknown>) : undefined;
  return new FerryError(code, message, details);
}

export function parse<T extends z.ZodType>(schema: T, header: FrameHeader, what: string): z.infer<T> {
  const result = schema.safeParse(header);
  if (!result.success) throw new FerryError('EPROTO', `malformed ${what} from the server: ${describeIssues(result.error)}`);
  return result.data;
}

/** A connection of Ferry's protocol; attached to a session, it is one of its lanes. */

/**
 * The reply to a whole-file `read` (ReadOk in messages.ts), checked by hand (a zod parse
 * per small file costs more than the rest of its bookkeeping), and its body against the
 * server's SHA-256. Returns the file's mtime.
 */
export function checkWholeReply(header: FrameHeader, body: Buffer, remotePath: string): number {
  const { fileSize, mtime, sha256 } = header;
  if (
    header.type !== 'ok' ||
    typeof fileSize !== 'number' ||
    !Number.isSafeInteger(fileSize) ||
    fileSize < 0 ||
    typeof mtime !== 'number' ||
    typeof sha256 !== 'string' ||
    !SHA256_HEX.test(sha256)
  ) {
    throw new FerryError('EPROTO', 'malformed read reply from the server');
  }
  if (body.length !== fileSize) throw new FerryError('EPROTO', 'the server sent a body of the wrong size');
  if (createHash('sha256').update(body).digest('hex') !== sha256) {
    throw new FerryError('ECHECKSUM', `the SHA-256 of ${remotePath} did not match: the download was discarded`);
  }
  return mtime;
}
