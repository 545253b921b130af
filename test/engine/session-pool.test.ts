/**
 * The session's pool of data connections follows the concurrency setting: growing it lets
 * a waiting transfer open a connection at once, shrinking it closes idle connections now
 * and busy ones when they are given back. Against a real ferryd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { waitFor } from '../helpers/files.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import type { ClientConnection } from '../../engine/wire/client-connection.js';

const bea: TestUser = { name: 'bea', password: 'bea pass phrase' };

let server: Ferryd;
let session: RemoteSession;

beforeAll(async () => {
  server = await startFerryd({ users: [bea] });
  session = await connectSession(server, bea, { dataConnections: 2 });
});

afterAll(async () => {
  session.close();
  await cleanupAll();
});

/** Whether `promise` settles within a few event-loop turns (a pool waiter that was woken does). */
async function settlesSoon(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

describe('the data connection pool', () => {
  it('grows and shrinks with the setting', async () => {
    expect(session.dataConnections).toBe(2);
    const a = await session.acquire();
    const b = await session.acquire();
    expect(session.openDataConnections).toBe(2);

    // Full: a third waits…
    const third = session.acquire();
    expect(await settlesSoon(third)).toBe(false);
    // …until the pool grows.
    session.setDataConnections(3);
    const c = await third;
    expect(session.openDataConnections).toBe(3);
    // Every connection works.
    for (const conn of [a, b, c]) expect(await conn.call({ type: 'pwd' })).toMatchObject({ type: 'ok' });

    // Shrink to 1 while all three are lent out: they close as they come back, down to one.
    session.setDataConnections(1);
    session.release(a);
    session.release(b);
    expect(a.closed && b.closed).toBe(true);
    expect(session.openDataConnections).toBe(1);
    session.release(c);
    expect(c.closed).toBe(false);
    expect(session.openDataConnections).toBe(1);

    // Now one at a time: the second borrower waits for the first to give its connection back.
    const first: ClientConnection = await session.acquire();
    expect(first).toBe(c);
    const second = session.acquire();
    expect(await settlesSoon(second)).toBe(false);
    session.release(first);
    expect(await second).toBe(c);
    session.release(c);

    // Shrinking with idle connections closes them at once.
    session.setDataConnections(4);
    const held = await Promise.all([session.acquire(), session.acquire(), session.acquire()]);
    for (const conn of held) session.release(conn);
    expect(session.openDataConnections).toBe(3);
    session.setDataConnections(2);
    expect(session.openDataConnections).toBe(2);
    // Closed politely (the server is told), so it ends a moment later.
    await waitFor(() => held.filter((conn) => conn.closed).length === 1, 5000, 'the idle connection to close');
  });
});
