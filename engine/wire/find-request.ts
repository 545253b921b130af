/**
 * Ferry's `find` (PROTOCOL.md 6.9) on one connection, as Remote.search's batches: the
 * server walks and sends only matches, each `find-found` frame checked (walk-records.ts)
 * and handed on as the consumer takes it. The socket is held while two batches wait, so a
 * slow consumer slows the server's search instead of filling memory. Stopping ends the
 * iteration at once; what the server still sends for it is dropped as it arrives.
 */
import { algorithmOfHex } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import { FindOk, WALK_TYPES, type Entry, type WalkRecord } from '../../shared/common/messages.js';
import { SEARCH_RESULTS_MAX, type SearchBatch, type SearchHit } from '../../shared/common/search-model.js';
import type { SearchRequest } from '../remote/remote.js';
import { childPath } from '../remote/tree-search.js';
import type { ClientConnection } from './client-connection.js';
import { parse } from './replies.js';
import { checkFoundRecords } from './walk-records.js';

/** The most a `find-found` body may hold (the server's frames are at most 256 KiB). */
const FOUND_BODY_MAX = 256 * 1024;
/** Batches received and not yet taken before the socket is held. */
const WAITING_MAX = 2;

function toHit(folder: string, record: WalkRecord): SearchHit {
  const [rel, type, size, mtime, mode, hex] = record;
  const algorithm = hex ? algorithmOfHex(hex) : null;
  const entry: Entry = { name: rel.slice(rel.lastIndexOf('/') + 1), type: WALK_TYPES[type]!, size, mtime, mode, ...(algorithm ? { [algorithm]: hex } : {}) };
  return { path: childPath(folder, rel), entry };
}

export async function* findOn(connection: ClientConnection, path: string, pattern: string, request: SearchRequest = {}): AsyncGenerator<SearchBatch> {
  const waiting: SearchBatch[] = [];
  let wake: (() => void) | null = null;
  // Set by the frame handler (a callback): typed so that the checks below are not narrowed away.
  let room = null as (() => void) | null;
  let settled = false;
  let abandoned = false;
  let failure: FerryError | undefined;
  let final: FindOk | undefined;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  // Stopped by the caller's signal, or by the consumer leaving early.
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort();
    notify();
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const header = {
    type: 'find',
    path,
    pattern,
    ...(request.caseSensitive ? { caseSensitive: true } : {}),
    ...(request.maxResults !== undefined ? { max: Math.min(request.maxResults, SEARCH_RESULTS_MAX) } : {}),
  };
  const done = connection
    .callStreaming(
      header,
      async (h, body) => {
        // No one takes results any more: the frame is skipped until the cancel's answer.
        if (abandoned) return;
        if (h.type !== 'find-found' || typeof h.path !== 'string' || typeof h.count !== 'number') {
          throw new FerryError('EPROTO', `the server sent "${String(h.type)}" during a search`);
        }
        if ((h.size ?? 0) > FOUND_BODY_MAX) throw new FerryError('EPROTO', `the server sent ${h.size} bytes of results in one frame`);
        let json: unknown;
        try {
          json = JSON.parse(body ? (await body.read(FOUND_BODY_MAX)).toString('utf8') : '[]');
        } catch {
          throw new FerryError('EPROTO', 'the server sent search results that are not JSON');
        }
        const folder = h.path;
        waiting.push({ path: folder, hits: checkFoundRecords(json, h.count).map((r) => toHit(folder, r)) });
        notify();
        while (waiting.length >= WAITING_MAX && !abandoned) await new Promise<void>((resolve) => (room = resolve));
      },
      stop.signal,
    )
    .then((ok) => void (final = parse(FindOk, ok, 'find reply')))
    .catch((err: unknown) => void (failure = toFerryError(err)))
    .finally(() => {
      settled = true;
      notify();
    });
  try {
    for (;;) {
      // Stopped means stopped: what the server sent before the cancel reached it is dropped.
      if (request.signal?.aborted) throw new FerryError('ECANCELED', 'The search was stopped.');
      const batch = waiting.shift();
      if (batch) {
        room?.();
        room = null;
        yield batch;
        continue;
      }
      if (settled) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (request.signal?.aborted) throw new FerryError('ECANCELED', 'The search was stopped.');
    if (failure) throw failure;
    if (final?.truncated) yield { path: final.path, hits: [], truncated: final.truncated };
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
    if (!settled) {
      // Not waited for: the server's answer to the cancel may be behind results still on
      // the wire, and the person asked to stop now. The connection reads and drops them.
      abandoned = true;
      room?.();
      stop.abort();
    }
  }
}
