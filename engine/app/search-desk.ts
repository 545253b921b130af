/**
 * Searches by name for one front end: 'search:start' runs Remote.search in the background
 * and sends what it finds as 'search:found' events, gathered to at most one every 100 ms
 * however fast the remote finds, then one 'search:end' (done, truncated, stopped or
 * error); 'search:cancel' stops one.
 */
import { randomBytes } from 'node:crypto';
import { toFerryError } from '../../shared/common/errors.js';
import { compileNamePattern } from '../../shared/common/name-pattern.js';
import type { SearchEnd, SearchHit, SearchOptions } from '../../shared/common/search-model.js';
import type { Remote } from '../remote/remote.js';
import type { Emit } from './backend-types.js';

/** The least time between two 'search:found' events of one search (about ten a second). */
export const SEARCH_EVENT_INTERVAL_MS = 100;

export class SearchDesk {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly session: () => Remote,
    private readonly emit: Emit,
    private readonly intervalMs = SEARCH_EVENT_INTERVAL_MS,
  ) {}

  /** Start a search of the folder `path`; its results and end come as events for the returned id. */
  start(path: string, pattern: string, options: SearchOptions): string {
    const remote = this.session();
    // A bad pattern is the call's error, not a search that fails at once.
    compileNamePattern(pattern, options);
    const searchId = `s${randomBytes(6).toString('hex')}`;
    const controller = new AbortController();
    this.running.set(searchId, controller);
    void this.run(remote, searchId, path, pattern, options, controller.signal).finally(() => this.running.delete(searchId));
    return searchId;
  }

  /** Stop a search; one that has ended already is left as it ended (its end event is on its way). */
  cancel(searchId: string): void {
    this.running.get(searchId)?.abort();
  }

  /** The session ends, or the front end went away: stop every search. */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }

  private async run(remote: Remote, searchId: string, path: string, pattern: string, options: SearchOptions, signal: AbortSignal): Promise<void> {
    // Start after the call's result (the id) is on its way, so no event names an id the UI has not seen.
    await new Promise((resolve) => setImmediate(resolve));
    let pending: SearchHit[] = [];
    let found = 0;
    let last = 0;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      if (pending.length === 0) return;
      last = Date.now();
      this.emit('search:found', { searchId, hits: pending });
      pending = [];
    };
    let end: SearchEnd = { kind: 'done' };
    try {
      const request = { signal, caseSensitive: options.caseSensitive, maxResults: options.maxResults };
      for await (const batch of remote.search(path, pattern, request)) {
        pending.push(...batch.hits);
        found += batch.hits.length;
        if (batch.truncated) end = { kind: 'truncated', bound: batch.truncated };
        timer ??= setTimeout(flush, Math.max(0, last + this.intervalMs - Date.now()));
      }
    } catch (err) {
      end = signal.aborted ? { kind: 'stopped' } : { kind: 'error', error: toFerryError(err).toInfo() };
    } finally {
      clearTimeout(timer);
    }
    // The last results keep the pace too (the end follows them at once).
    const wait = last + this.intervalMs - Date.now();
    if (pending.length > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    flush();
    this.emit('search:end', { searchId, found, end });
  }
}
