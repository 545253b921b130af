/**
 * The listings and walks one connection is paging through: each `next` cursor names an
 * open folder (FolderPages) that the following `list` continues, or a walk in progress
 * (TreePages) that the following `walk` continues. Bounded together in number and in idle
 * time, so a client that asks for first pages and never comes back cannot pin open folders.
 */
import { FerryError } from '../shared/common/errors.js';
import type { FolderPages, TreePages } from './storage.js';

/** What a cursor may name, by the request that continues it. */
interface Paged {
  list: FolderPages;
  walk: TreePages;
}
type PagedKind = keyof Paged;

/** Open listings per connection; opening one more closes the least recently used. */
export const LIST_CURSORS_MAX = 8;
/** A listing not continued for this long is closed (its cursor is then unknown). */
export const LIST_CURSOR_IDLE_MS = 60_000;

interface OpenListing {
  readonly kind: PagedKind;
  readonly path: string;
  readonly pages: Paged[PagedKind];
  readonly timer: NodeJS.Timeout;
}

export class ListCursors {
  /** In the order of their last use (a Map keeps insertion order). */
  private readonly open = new Map<string, OpenListing>();
  private counter = 0;
  private closed = false;

  constructor(
    private readonly max = LIST_CURSORS_MAX,
    private readonly idleMs = LIST_CURSOR_IDLE_MS,
  ) {}

  /** Keep `pages` for a later `list` (or `walk`); returns the cursor that names it. */
  add<K extends PagedKind>(kind: K, path: string, pages: Paged[K]): string {
    const cursor = `${++this.counter}`;
    if (this.closed) {
      void pages.close();
      return cursor;
    }
    while (this.open.size >= this.max) this.drop(this.open.keys().next().value!);
    const timer = setTimeout(() => this.drop(cursor), this.idleMs);
    timer.unref();
    this.open.set(cursor, { kind, path, pages, timer });
    return cursor;
  }

  /**
   * The listing (or walk) a cursor names, taken out (a cursor is used once; the next page
   * has its own). A cursor of the other kind is as unknown as one never given.
   */
  take<K extends PagedKind>(kind: K, cursor: string): { path: string; pages: Paged[K] } {
    const listing = this.open.get(cursor);
    if (!listing || listing.kind !== kind) {
      const what = kind === 'list' ? 'listing' : 'walk';
      throw new FerryError(
        'EINVAL',
        `This ${what} cursor is unknown or has expired (a ${what} left for a minute, or one of too many at once, is closed): ${kind === 'list' ? 'list the folder' : 'walk the folder'} again.`,
      );
    }
    clearTimeout(listing.timer);
    this.open.delete(cursor);
    return { path: listing.path, pages: listing.pages as Paged[K] };
  }

  get size(): number {
    return this.open.size;
  }

  /** The connection closed: close every open folder. */
  close(): void {
    this.closed = true;
    for (const cursor of [...this.open.keys()]) this.drop(cursor);
  }

  private drop(cursor: string): void {
    const listing = this.open.get(cursor);
    if (!listing) return;
    clearTimeout(listing.timer);
    this.open.delete(cursor);
    void listing.pages.close();
  }
}
