/**
 * The record file of stored hashes (stored-hashes.ts): one folder's records, written as
 * `ferry-hashes 1 <SHA-256 of the body>` then the body, JSON. Reading checks everything:
 * a torn, damaged or unexpected file gives no records, never wrong ones.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { algorithmOfHex, type Digest } from '../shared/common/checks.js';

/** What a record remembers of a file: it must still be exactly this for the hash to hold. */
export interface FileIdentity {
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export interface Rec extends FileIdentity {
  /** SHA-256 or XXH3-128 (stored as its hex alone: the length tells which). */
  readonly digest: Digest;
}

/** One folder's records as stored: `live` is how many matched at the last pruning. */
export interface Stored {
  readonly records: Map<string, Rec>;
  live: number;
}

const MAGIC = 'ferry-hashes 1';
/** A record file bigger than this is not read (pruning keeps ours far smaller). */
export const RECORD_FILE_MAX = 64 * 1024 * 1024;
const DIGITS = /^-?\d{1,20}$/;

export function readSync(file: string): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    if (fs.fstatSync(fd).size > RECORD_FILE_MAX) return null;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `MAGIC <sha256 of the body>\n<body>`; the body is JSON: {"live", "files": [[name, digest hex, ino, size, mtimeNs, ctimeNs], …]}. */
export function serialize(stored: Stored): string {
  const files = [...stored.records].map(([name, r]) => [name, r.digest.hex, String(r.ino), String(r.size), String(r.mtimeNs), String(r.ctimeNs)]);
  const body = JSON.stringify({ live: stored.live, files });
  return `${MAGIC} ${createHash('sha256').update(body).digest('hex')}\n${body}`;
}

/** A record file's records; anything damaged, torn or unexpected gives none (logged). */
export function parse(text: string | null, file: string, log?: (line: string) => void): Stored {
  const empty = (): Stored => ({ records: new Map(), live: 0 });
  if (text === null) return empty();
  const bad = (): Stored => {
    log?.(`hashes: ${file} is damaged: its hashes are ignored`);
    return empty();
  };
  const newline = text.indexOf('\n');
  if (newline < 0) return bad();
  const head = text.slice(0, newline);
  const body = text.slice(newline + 1);
  if (head !== `${MAGIC} ${createHash('sha256').update(body).digest('hex')}`) return bad();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return bad();
  }
  const { live, files } = (json ?? {}) as { live?: unknown; files?: unknown };
  if (typeof live !== 'number' || !Number.isSafeInteger(live) || live < 0 || !Array.isArray(files)) return bad();
  const records = new Map<string, Rec>();
  for (const f of files) {
    if (!Array.isArray(f) || f.length !== 6) return bad();
    const [name, hex, ino, size, mtimeNs, ctimeNs] = f as unknown[];
    const algorithm = typeof hex === 'string' ? algorithmOfHex(hex) : null;
    if (typeof name !== 'string' || name === '' || name.includes('/') || algorithm === null) return bad();
    const numbers = [ino, size, mtimeNs, ctimeNs];
    if (!numbers.every((n) => typeof n === 'string' && DIGITS.test(n))) return bad();
    records.set(name, { digest: { algorithm, hex: hex as string }, ino: BigInt(ino as string), size: BigInt(size as string), mtimeNs: BigInt(mtimeNs as string), ctimeNs: BigInt(ctimeNs as string) });
  }
  return { records, live };
}
