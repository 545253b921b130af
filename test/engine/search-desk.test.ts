/**
 * The app's searches (engine/app/search-desk.ts) against a real ferryd: results come as
 * 'search:found' events at most about ten a second whatever the server's pace, then one
 * 'search:end'; search:cancel ends one as stopped; a bad pattern is the call's error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SEARCH_EVENT_INTERVAL_MS, SearchDesk } from '../../engine/app/search-desk.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import type { EventName, Events } from '../../shared/common/contract.js';
import { FerryError } from '../../shared/common/errors.js';
import type { SearchEndEvent, SearchFoundEvent } from '../../shared/common/search-model.js';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';

const alice: TestUser = { name: 'alice', password: 'alice desk pass' };
const FOLDERS = 6;
const PER_FOLDER = 800;

let server: Ferryd;
let session: RemoteSession;

beforeAll(async () => {
  server = await startFerryd({ users: [alice], plain: true });
  for (let d = 0; d < FOLDERS; d++) {
    const dir = path.join(server.root, 'homes', alice.name, 'logs', `d${d}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: PER_FOLDER }, (_, i) => writeFile(path.join(dir, `f${i}.log`), '')));
  }
  session = await connectSession(server, alice);
}, 60_000);

afterAll(async () => {
  session?.close();
  await cleanupAll();
});

function recorder() {
  const found: Array<SearchFoundEvent & { at: number }> = [];
  const ends: SearchEndEvent[] = [];
  let ended: () => void;
  const end = new Promise<void>((resolve) => (ended = resolve));
  const emit = <E extends EventName>(event: E, payload: Events[E]): void => {
    if (event === 'search:found') found.push({ ...(payload as SearchFoundEvent), at: Date.now() });
    if (event === 'search:end') {
      ends.push(payload as SearchEndEvent);
      ended();
    }
  };
  return { found, ends, end, emit };
}

describe('search desk', () => {
  it('sends every result in events at least the interval apart, then one end', async () => {
    const r = recorder();
    const desk = new SearchDesk(() => session, r.emit);
    const id = desk.start('/logs', '*.log', {});
    await r.end;
    expect(r.ends).toEqual([{ searchId: id, found: FOLDERS * PER_FOLDER, end: { kind: 'done' } }]);
    expect(r.found.every((e) => e.searchId === id)).toBe(true);
    expect(r.found.reduce((n, e) => n + e.hits.length, 0)).toBe(FOLDERS * PER_FOLDER);
    expect(r.found[0]!.hits[0]!.path).toMatch(/^\/logs\/d\d\/f\d+\.log$/);
    for (let i = 1; i < r.found.length; i++) expect(r.found[i]!.at - r.found[i - 1]!.at).toBeGreaterThanOrEqual(SEARCH_EVENT_INTERVAL_MS - 5);
  });

  it('says when the results bound cut the search short', async () => {
    const r = recorder();
    const desk = new SearchDesk(() => session, r.emit);
    const id = desk.start('/logs', 'f1', { maxResults: 50 });
    await r.end;
    expect(r.ends).toEqual([{ searchId: id, found: 50, end: { kind: 'truncated', bound: 'results' } }]);
  });

  it('ends a cancelled search as stopped, and refuses a bad pattern at the call', async () => {
    const r = recorder();
    const desk = new SearchDesk(() => session, r.emit);
    const id = desk.start('/logs', '*', {});
    desk.cancel(id);
    await r.end;
    expect(r.ends).toEqual([{ searchId: id, found: expect.any(Number), end: { kind: 'stopped' } }]);
    expect(() => desk.start('/logs', '[z-a]', {})).toThrow(FerryError);
    const missing = recorder();
    const other = new SearchDesk(() => session, missing.emit);
    other.start('/nope', 'x', {});
    await missing.end;
    expect(missing.ends[0]!.end).toMatchObject({ kind: 'error', error: { code: 'ENOENT' } });
  });
});
