/**
 * The listings one connection is paging through: each `next` cursor names an open folder
 * (FolderPages) that the following `list` continues. Bounded in number and in idle time, so
 * a client that asks for first pages and never comes back cannot pin open folders.
 */
import { FerryError } from '../shared/common/errors.js';
import type { FolderPages } from './storage.js';

/** Open listings per connection; opening one more closes the least recently used. */
export const LIST_CURSORS_MAX = 8;
/** A listing not continued for this long is closed (its cursor is then unknown). */
export const LIST_CURSOR_IDLE_MS = 60_000;

interface OpenListing {
  readonly path: string;
  readonly pages: FolderPages;
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

  /** Keep `pages` for a later `list`; returns the cursor that names it. */
  add(path: string, pages: FolderPages): string {
    const cursor = `${++this.counter}`;
    if (this.closed) {
      void pages.close();
      return cursor;
    }
    while (this.open.size >= this.max) this.drop(this.open.keys().next().value!);
    const timer = setTimeout(() => this.drop(cursor), this.idleMs);
    timer.unref();
    this.open.set(cursor, { path, pages, timer });
    return cursor;
  }

  /** The listing a cursor names, taken out (a cursor is used once; the next page has its own). */
  take(cursor: string): { path: string; pages: FolderPages } {
    const listing = this.open.get(cursor);
    if (!listing) {
      throw new FerryError(
        'EINVAL',
        'This listing cursor is unknown or has expired (a listing left for a minute, or one of too many at once, is closed): list the folder again.',
      );
    }
    clearTimeout(listing.timer);
    this.open.delete(cursor);
    return listing;
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
