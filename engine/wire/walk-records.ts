/**
 * The client's check of a `walk` page (PROTOCOL.md 6.7) and of a `find`'s results (6.9),
 * by hand: a zod parse per record would cost more than the rest of a sync's scan. Strict:
 * every record must be what the protocol says, its path safe and relative, and in a walk
 * its folder given before it (EPROTO).
 */
import { FerryError } from '../../shared/common/errors.js';
import { algorithmOfHex } from '../../shared/common/checks.js';
import { LIST_PAGE_MAX, WALK_TYPES, type WalkRecord } from '../../shared/common/messages.js';
import { SEARCH_BATCH_MAX } from '../../shared/common/search-model.js';

/** The longest `rel` accepted (a remote path's bound in messages.ts). */
const REL_MAX = 4096;

const bad = (why: string): FerryError => new FerryError('EPROTO', `the server sent a malformed walk: ${why}`);

/** A path relative to the walked folder: '/'-separated names, none empty, '.' or '..', no NUL. */
function safeRel(rel: string): boolean {
  if (rel.length === 0 || rel.length > REL_MAX || rel.includes('\0')) return false;
  for (const name of rel.split('/')) if (name === '' || name === '.' || name === '..') return false;
  return true;
}

/** Checks the pages of one walk in order: it remembers the folders given so far. */
export class WalkChecker {
  private readonly folders = new Set<string>();

  /** The records of a page's body, checked; EPROTO on anything else. */
  page(json: unknown, count: number): WalkRecord[] {
    if (!Array.isArray(json)) throw bad('the page is not an array');
    if (json.length !== count) throw bad('the page does not hold the records its header counts');
    if (json.length > LIST_PAGE_MAX) throw bad(`more than ${LIST_PAGE_MAX} records in a page`);
    for (const record of json as unknown[]) this.record(record);
    return json as WalkRecord[];
  }

  private record(r: unknown): void {
    const [rel, type] = checkRecord(r);
    const slash = rel.lastIndexOf('/');
    if (slash > 0 && !this.folders.has(rel.slice(0, slash))) throw bad(`${rel} came before its folder`);
    if (type === 1) this.folders.add(rel);
  }
}

/**
 * The records of a `find-found` frame (PROTOCOL.md 6.9), checked as a walk's are, except
 * that only matches come, so a record's folder need not come before it.
 */
export function checkFoundRecords(json: unknown, count: number): WalkRecord[] {
  if (!Array.isArray(json)) throw bad('the results are not an array');
  if (json.length !== count) throw bad('the results do not hold the records their header counts');
  if (json.length > SEARCH_BATCH_MAX) throw bad(`more than ${SEARCH_BATCH_MAX} results in a frame`);
  for (const record of json as unknown[]) checkRecord(record);
  return json as WalkRecord[];
}

/** One record as the protocol says it must be (EPROTO otherwise). */
function checkRecord(r: unknown): WalkRecord {
  if (!Array.isArray(r) || r.length !== 6) throw bad('a record is not an array of 6');
  const [rel, type, size, mtime, mode, digest] = r as unknown[];
  if (typeof rel !== 'string' || !safeRel(rel)) throw bad(`a record's path is not a safe relative path (${JSON.stringify(rel)?.slice(0, 200)})`);
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type >= WALK_TYPES.length) throw bad(`${rel}: unknown type`);
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) throw bad(`${rel}: bad size`);
  if (typeof mtime !== 'number' || !Number.isFinite(mtime)) throw bad(`${rel}: bad mtime`);
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0) throw bad(`${rel}: bad mode`);
  // A SHA-256 (64 hex digits) or an XXH3-128 (32), files only.
  if (typeof digest !== 'string' || (digest !== '' && (type !== 0 || algorithmOfHex(digest) === null))) throw bad(`${rel}: bad digest`);
  return r as unknown as WalkRecord;
}
