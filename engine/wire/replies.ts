/**
 * Reading the server's replies: error frames as FerryErrors with their stable codes, and
 * headers checked against their schemas before anything trusts them.
 */
import { CHECK_NAMES, digestOf, type CheckAlgorithm, type Digest } from '../../shared/common/checks.js';
import { FerryError, isErrorCode } from '../../shared/common/errors.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import { describeIssues } from '../../shared/common/messages.js';
import { digestOfBytes } from '../../shared/node/checksums.js';
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
export async function checkWholeReply(header: FrameHeader, body: Buffer, remotePath: string, check: CheckAlgorithm): Promise<{ mtime: number; digest: Digest }> {
  const { fileSize, mtime } = header;
  const theirs = replyDigest(header, check);
  if (header.type !== 'ok' || typeof fileSize !== 'number' || !Number.isSafeInteger(fileSize) || fileSize < 0 || typeof mtime !== 'number' || theirs === null) {
    throw new FerryError('EPROTO', 'malformed read reply from the server');
  }
  if (body.length !== fileSize) throw new FerryError('EPROTO', 'the server sent a body of the wrong size');
  if ((await digestOfBytes(body, check)).hex !== theirs.hex) {
    throw new FerryError('ECHECKSUM', `the ${CHECK_NAMES[check]} of ${remotePath} did not match: the download was discarded`);
  }
  return { mtime, digest: theirs };
}

/** The digest a reply carries for a request made with `check`: in that check's field, and no other (null otherwise). */
export function replyDigest(header: FrameHeader, check: CheckAlgorithm): Digest | null {
  const other = check === 'xxh128' ? header.sha256 : header.xxh128;
  if (other !== undefined) return null;
  const digest = digestOf({ sha256: typeof header.sha256 === 'string' ? header.sha256 : undefined, xxh128: typeof header.xxh128 === 'string' ? header.xxh128 : undefined });
  return digest?.algorithm === check ? digest : null;
}
