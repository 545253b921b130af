/**
 * The failed-login throttle against someone who wants to lock a user out: abandoned logins
 * never count, wrong proofs lock only the (user, address) they came from, and the user
 * still logs in from her own address, slowed down by a bounded delay at most. Attackers
 * use other loopback addresses (127.0.0.2 and up are loopback on Linux).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, loggedIn, rootWithUsers } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-throttle-pass' };
const BOB: TestUser = { name: 'bob', password: 'bob-throttle-pass' };

let server: Ferryd;

beforeAll(async () => {
  // Default limits: what is tested is what ships.
  server = await startFerryd({ root: await rootWithUsers([ALICE, BOB]), plain: true });
  // Derive the client keys once (PBKDF2), so that the timed logins below measure the server.
  (await loggedIn(server.port, ALICE.name, ALICE.password)).destroy();
  (await loggedIn(server.port, BOB.name, BOB.password)).destroy();
});

afterAll(cleanupAll);

/** Run `task` for 0…n-1, at most `width` at once. */
async function pool(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Log in from `localAddress`; the final frame's type or code, and how long it took. */
async function timedLogin(user: TestUser, localAddress: string): Promise<{ result: string; ms: number }> {
  const c = await RawClient.connect(server.port, { localAddress });
  const started = Date.now();
  const done = await c.login(user.name, user.password);
  const ms = Date.now() - started;
  c.destroy();
  return { result: String(done.header.type === 'ok' ? 'ok' : done.header.code), ms };
}

describe('a lockout attack on one user', () => {
  it('1,000 abandoned and 100 wrong-proof logins from other addresses do not keep alice out', async () => {
    // 1,000 logins abandoned after the server's challenge, from 20 addresses (50 each,
    // within the 64 not-yet-logged-in connections allowed per address).
    let challenged = 0;
    await pool(1000, 100, async (i) => {
      const c = await RawClient.connect(server.port, { localAddress: `127.0.0.${2 + (i % 20)}` });
      c.send({ type: 'hello', id: 1, versions: [1], agent: 'attacker' });
      c.send({ type: 'auth', id: 2, mechanism: 'SCRAM-SHA-256', data: `n,,n=${ALICE.name},r=abandoned${i}` });
      if ((await c.nextFor(2)).header.type === 'auth-continue') challenged++;
      c.destroy();
    });
    expect(challenged).toBe(1000);
    // None of them counted, not even for alice as a whole: no lock, no slow-down.
    const afterAbandoned = await timedLogin(ALICE, '127.0.0.2');
    expect(afterAbandoned.result).toBe('ok');
    expect(afterAbandoned.ms).toBeLessThan(1900); // counted, they would hold it 2 s

    // 100 wrong proofs: 10 from each of 10 addresses, all at once.
    const wrong: string[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const c = await RawClient.connect(server.port, { localAddress: `127.0.0.${30 + (i % 10)}` });
        wrong.push(String((await c.badLogin(ALICE.name)).final.header.code));
        c.destroy();
      }),
    );
    expect(wrong).toEqual(Array(100).fill('EAUTH'));

    // Those addresses are now locked out for alice, even with her password...
    expect((await timedLogin(ALICE, '127.0.0.30')).result).toBe('ERATELIMIT');
    // ...but not for other users (10 failures are below the address's own lockout of 20).
    expect((await timedLogin(BOB, '127.0.0.31')).result).toBe('ok');
    // And alice logs in from her address, slowed down by at most the 2 s cap.
    const own = await timedLogin(ALICE, '127.0.0.1');
    expect(own.result).toBe('ok');
    expect(own.ms).toBeGreaterThanOrEqual(1900);
    expect(own.ms).toBeLessThan(6000);
  });
});
