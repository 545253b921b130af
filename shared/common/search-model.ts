/**
 * Search by name through a remote tree, as every part sees it: the bounds (one set for
 * ferryd's `find` and the engine's SFTP walk), the hits, how a search ended, and the
 * options that cross the UI contract. No zod here: the renderer reads these constants,
 * and the schemas live where they are checked (contract.ts, messages.ts).
 */
import type { ErrorInfo } from './errors.js';
import type { Entry } from './messages.js';

/** Results a search gives unless asked for fewer: the UI's "first 5,000 shown". */
export const SEARCH_RESULTS_DEFAULT = 5000;
/** The most results one search may ask for (ferryd caps `max` to it). */
export const SEARCH_RESULTS_MAX = 10_000;
/** Entries (files, folders, links) one search looks at before it stops, truncated. */
export const SEARCH_VISITED_MAX = 1_000_000;
/** How long one search may run before it stops, truncated (wall time, ms). */
export const SEARCH_TIME_MAX_MS = 60_000;
/** Results in one `find-found` frame (and one batch of Remote.search). */
export const SEARCH_BATCH_MAX = 1000;

/**
 * Why a search stopped before the end of the tree: it found one result more than it may
 * give (`results`), looked at its most entries (`visited`), or ran out of time (`time`).
 */
export const SEARCH_BOUNDS = ['results', 'visited', 'time'] as const;
export type SearchBound = (typeof SEARCH_BOUNDS)[number];

/** One result: where it is (the remote's absolute path) and what it is (its name is the path's last part). */
export interface SearchHit {
  readonly path: string;
  readonly entry: Entry;
}

/** A batch of results as Remote.search gives them; the last one says whether a bound stopped the search. */
export interface SearchBatch {
  /** The searched folder, as the remote resolved it. */
  readonly path: string;
  readonly hits: readonly SearchHit[];
  readonly truncated?: SearchBound;
}

/** What a search is asked for across the contract (checked by contract.ts's schema). */
export interface SearchOptions {
  readonly caseSensitive?: boolean | undefined;
  readonly maxResults?: number | undefined;
}

/** How a search ended, for the UI. */
export type SearchEnd =
  | { readonly kind: 'done' }
  | { readonly kind: 'truncated'; readonly bound: SearchBound }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'error'; readonly error: ErrorInfo };

/** The UI's events for a search (contract.ts): results as they are found, then its end. */
export interface SearchFoundEvent {
  readonly searchId: string;
  readonly hits: readonly SearchHit[];
}
export interface SearchEndEvent {
  readonly searchId: string;
  /** Results found in all. */
  readonly found: number;
  readonly end: SearchEnd;
}
