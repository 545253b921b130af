/**
 * Tabs: each tab of a window is a session of its own, with its own backend (a backend
 * never holds several sessions). The one bound and the tab id's shape, for the preload,
 * the main process's routing (electron/main/tab-backends.ts) and the renderer.
 */

/** Tabs one window (or one browser page) may hold open at once. */
export const MAX_TABS = 16;

/**
 * A tab's id within its window: an integer the preload gives out in increasing order, the
 * window's first tab being 0. Ids are never reused, so a late call of a closed tab cannot
 * reach (or create) a newer tab's session.
 */
export type TabId = number;

export function isTabId(value: unknown): value is TabId {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
