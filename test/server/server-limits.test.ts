/**
 * ferryd's time and count limits, made small through FERRYD_LIMITS: the login deadline,
 * the idle timeout, the cap on not-yet-logged-in connections per address (plain and TLS),
 * and the failed-login throttle (slowing, lockout, and no way around it in parallel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { FERRYD, cleanupAll, run, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rawFrame, rootWithUsers, sleep } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-limits-pass', exec: true };
const BOB: TestUser = { name: 'bob', password: 'bob-limits-pass' };
const PRE_AUTH_MS = 800;
const IDLE_MS = 800;

let timeouts: Ferryd;
let capPlain: Ferryd;
let capTls: Ferryd;
let throttle: Ferryd;
let race: Ferryd;

function limits(values: Record<string, number>): Record<string, string> {
  return { FERRYD_LIMITS: JSON.stringify(values) };
}

beforeAll(async () => {
  const roots = await Promise.all([0, 1, 2, 3, 4].map(() => rootWithUsers([ALICE, BOB])));
  [timeouts, capPlain, capTls, throttle, race] = await Promise.all([
    startFerryd({ root: roots[0]!, plain: true, env: limits({ preAuthTimeoutMs: PRE_AUTH_MS, idleTimeoutMs: IDLE_MS, frameDeadlineMs: 10_000 }) }),
    startFerryd({ root: roots[1]!, plain: true, env: limits({ maxUnauthPerAddress: 5 }) }),
    startFerryd({ root: roots[2]!, env: limits({ maxUnauthPerAddress: 3 }) }),
    startFerryd({ root: roots[3]!, plain: true, env: limits({ authDelayMs: 150, authMaxDelayMs: 600, authLockoutAfter: 4, authAddressLockoutAfter: 6 }) }),
    startFerryd({ root: roots[4]!, plain: true, env: limits({ authDelayMs: 10, authMaxDelayMs: 10, authLockoutAfter: 4 }) }),
  ]);
  // Derive the client keys once (PBKDF2), so later logins are fast enough for short deadlines.
  const warm = await loggedIn(capPlain.port, ALICE.name, ALICE.password);
  const warmBob = await loggedIn(capPlain.port, BOB.name, BOB.password);
  warm.destroy();
  warmBob.destroy();
});

afterAll(cleanupAll);

/**
 * `n` connections that said hello and wait before the login: the cap's worth. Slots of
 * connections closed just before may not be given back yet, so retry for a moment.
 */
async function fillSlots(port: number, n: number, tlsOn = false): Promise<RawClient[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(port, { tls: tlsOn }).catch(() => null)));
    const ok = await Promise.all(clients.map((c) => (c ? c.hello().then(() => true, () => false) : false)));
    if (ok.every(Boolean)) return clients as RawClient[];
    for (const c of clients) c?.destroy();
    if (Date.now() > until) throw new Error(`could not fill ${n} pre-login slots`);
    await sleep(100);
  }
}

describe('FERRYD_LIMITS', () => {
  it('refuses unknown names and bad values (exit 2) instead of ignoring them', async () => {
    const root = await tempDir();
    for (const bad of ['{"preAuthTimeout":5}', '{"preAuthTimeoutMs":-1}', '{"preAuthTimeoutMs":"5"}', '[1]', 'nope']) {
      const result = await run(FERRYD, ['serve', '--root', root, '--port', '0', '--plain'], { env: { FERRYD_LIMITS: bad }, timeoutMs: 15_000 });
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toMatch(/FERRYD_LIMITS/);
    }
  });
});

describe('login deadline', () => {
  it('a client that connects and says nothing is closed with ETIMEDOUT after preAuthTimeoutMs', async () => {
    const c = await RawClient.connect(timeouts.port);
    const started = Date.now();
    const frame = await c.expectFatal('ETIMEDOUT', PRE_AUTH_MS + 3000);
    expect(frame.header.message).toMatch(/login/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(PRE_AUTH_MS - 100);
    expect(Date.now() - started).toBeLessThan(PRE_AUTH_MS + 2000);
  });

  it('the deadline is absolute: trickling bytes does not extend it', async () => {
    const c = await RawClient.connect(timeouts.port);
    const started = Date.now();
    const bytes = rawFrame(JSON.stringify({ type: 'hello', id: 1, versions: [1], agent: 'trickle'.repeat(10) }));
    let closedAt = 0;
    for (const byte of bytes) {
      if (c.closed) break;
      c.write(Buffer.from([byte]));
      await sleep(PRE_AUTH_MS / 8);
      if (Date.now() - started > PRE_AUTH_MS * 6) break;
    }
    await c.waitClosed(3000);
    closedAt = Date.now() - started;
    expect(c.closed).toBe(true);
    expect(closedAt).toBeLessThan(PRE_AUTH_MS + 2000);
  });

  it('a hello alone does not buy more time', async () => {
    const c = await RawClient.connect(timeouts.port);
    await c.hello();
    await c.expectFatal('ETIMEDOUT', PRE_AUTH_MS + 3000);
  });

  it('a login within the deadline is not cut afterwards by the login timer', async () => {
    const c = await loggedIn(timeouts.port, ALICE.name, ALICE.password);
    for (let i = 0; i < 4; i++) {
      await sleep(PRE_AUTH_MS / 3);
      expect((await c.request({ type: 'ping' })).header.type).toBe('ok');
    }
    c.destroy();
  });
});

describe('idle timeout', () => {
  it('a logged-in connection with no traffic is closed with ETIMEDOUT', async () => {
    const c = await loggedIn(timeouts.port, BOB.name, BOB.password);
    const started = Date.now();
    await c.expectFatal('ETIMEDOUT', IDLE_MS + 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100);
    // The log line reaches us through ferryd's stderr, which may come a moment after the frame.
    await eventually(() => /timed out: the connection was idle too long/.test(timeouts.log()));
    expect(timeouts.log()).toMatch(/timed out: the connection was idle too long/);
  });

  it('a connection with regular traffic stays open past the idle time', async () => {
    const c = await loggedIn(timeouts.port, BOB.name, BOB.password);
    const until = Date.now() + IDLE_MS * 2.5;
    while (Date.now() < until) {
      expect((await c.request({ type: 'pwd' })).header.type).toBe('ok');
      await sleep(IDLE_MS / 4);
    }
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('a quiet command is not idleness: it runs to its end', async () => {
    const c = await loggedIn(timeouts.port, ALICE.name, ALICE.password);
    const seconds = ((IDLE_MS * 2) / 1000).toFixed(1);
    const reply = await c.request({ type: 'exec', command: `sleep ${seconds}` }, undefined, IDLE_MS * 6);
    expect(reply.header).toMatchObject({ type: 'ok', code: 0 });
    c.destroy();
  });
});

describe('unauthenticated connections per address', () => {
  it('plain: the next one past the cap gets EBUSY; closing or logging in frees a slot; logged-in ones do not count', async () => {
    const idle = await fillSlots(capPlain.port, 5);
    try {
      const refused = await RawClient.connect(capPlain.port);
      await refused.expectFatal('EBUSY');

      // Logging one in frees its slot.
      await idle[0]!.mustLogin(ALICE.name, ALICE.password);
      const sixth = await RawClient.connect(capPlain.port);
      await sixth.hello();
      const refusedAgain = await RawClient.connect(capPlain.port);
      await refusedAgain.expectFatal('EBUSY');

      // Closing one frees its slot.
      idle[1]!.destroy();
      expect(await eventually(async () => {
        const probe = await RawClient.connect(capPlain.port);
        try {
          await probe.hello();
          return true;
        } catch {
          return false;
        } finally {
          probe.destroy();
        }
      }, 3000, 50)).toBe(true);
      sixth.destroy();

      // The logged-in connection still works, and five more logged-in ones plus five idle fit.
      expect((await idle[0]!.request({ type: 'pwd' })).header.type).toBe('ok');
    } finally {
      for (const c of idle) c.destroy();
    }
    await sleep(100);
    const logged = await Promise.all(Array.from({ length: 5 }, () => loggedIn(capPlain.port, BOB.name, BOB.password)));
    const waiting = await fillSlots(capPlain.port, 5);
    const over = await RawClient.connect(capPlain.port);
    await over.expectFatal('EBUSY');
    for (const c of [...logged, ...waiting]) c.destroy();
    await eventually(() => /refused: too many unauthenticated connections/.test(capPlain.log()));
    expect(capPlain.log()).toMatch(/refused: too many unauthenticated connections/);
  });

  it('a refused plain connection is not served anyway', async () => {
    const idle = await fillSlots(capPlain.port, 5);
    try {
      // Keep talking on the refused socket: nothing but the EBUSY may come back.
      const refused = await RawClient.connect(capPlain.port);
      refused.send({ type: 'hello', id: 1, versions: [1], agent: 'pushy' });
      const first = await refused.next();
      expect(first.header).toMatchObject({ type: 'error', code: 'EBUSY' });
      await refused.waitClosed(3000);
      await expect(refused.next(200)).rejects.toThrow();
    } finally {
      for (const c of idle) c.destroy();
    }
  });

  it('a peer that never closes its refused socket is cut off', async () => {
    const idle = await fillSlots(capPlain.port, 5);
    try {
      const s = net.connect({ host: '127.0.0.1', port: capPlain.port, allowHalfOpen: true });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise((r) => s.once('end', r));
      // Our side stays open. Once the server has dropped its socket, our next write is reset.
      await sleep(1500);
      const hello = rawFrame(JSON.stringify({ type: 'hello', id: 1, versions: [1], agent: 'x' }));
      const writer = setInterval(() => s.write(hello), 100);
      const closed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3000);
        s.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      clearInterval(writer);
      s.destroy();
      expect(closed).toBe(true);
    } finally {
      for (const c of idle) c.destroy();
    }
  });

  it('TLS: the next one past the cap is closed; slots come back', async () => {
    const idle = await fillSlots(capTls.port, 3, true);
    try {
      const refused = await RawClient.connect(capTls.port, { tls: true }).then(
        async (c) => {
          // The handshake may complete before the server's close arrives; nothing is served.
          c.send({ type: 'hello', id: 1, versions: [1], agent: 'x' });
          const closed = await c.waitClosed(3000);
          return closed && !(await c.next(10).then(() => true, () => false));
        },
        () => true,
      );
      expect(refused).toBe(true);
      await idle[0]!.mustLogin(BOB.name, BOB.password);
      const next = await RawClient.connect(capTls.port, { tls: true });
      await next.hello();
      next.destroy();
    } finally {
      for (const c of idle) c.destroy();
    }
  });
});

describe('failed-login throttle', () => {
  it('failures are answered ever more slowly, then refused with ERATELIMIT (even the right password)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await RawClient.connect(throttle.port);
      await c.hello();
      const started = Date.now();
      const { final } = await c.badLogin(ALICE.name);
      times.push(Date.now() - started);
      expect(final.header.code).toBe('EAUTH');
      c.destroy();
    }
    // 150, 300, 600, 600 ms (the cap). Only lower bounds: a loaded machine adds time.
    expect(times[0]!).toBeGreaterThanOrEqual(145);
    expect(times[1]!).toBeGreaterThanOrEqual(295);
    expect(times[2]!).toBeGreaterThanOrEqual(595);
    expect(times[3]!).toBeGreaterThanOrEqual(595);

    // Alice is locked out from this address, even with the right password.
    const locked = await RawClient.connect(throttle.port);
    const done = await locked.login(ALICE.name, ALICE.password);
    expect(done.header.code).toBe('ERATELIMIT');
    expect((done.header.details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect(await locked.waitClosed(3000)).toBe(true);

    // Other users are not, until the address has failed for anyone authAddressLockoutAfter
    // (6) times: then it is locked out for every user name.
    const bob = await loggedIn(throttle.port, BOB.name, BOB.password);
    bob.destroy();
    for (const name of ['carol', 'dave']) {
      const c = await RawClient.connect(throttle.port);
      expect((await c.badLogin(name)).final.header.code).toBe('EAUTH');
      c.destroy();
    }
    const other = await RawClient.connect(throttle.port);
    const otherDone = await other.login(BOB.name, BOB.password);
    expect(otherDone.header.code).toBe('ERATELIMIT');
    await eventually(() => /refused: rate limited/.test(throttle.log()));
    expect(throttle.log()).toMatch(/refused: rate limited/);
  });

  it('many honest logins at once all get in, even past the lockout count', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(race.port)));
    const results = await Promise.all(clients.map((c) => c.login(ALICE.name, ALICE.password).then((f) => String(f.header.type))));
    for (const c of clients) c.destroy();
    expect(results).toEqual(Array(12).fill('ok'));
  });

  it('attempts started in parallel cannot get past the lockout', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(race.port)));
    await Promise.all(clients.map((c) => c.hello()));
    const results = await Promise.all(clients.map((c) => c.badLogin(ALICE.name).then((r) => String(r.final.header.code))));
    for (const c of clients) c.destroy();
    const guesses = results.filter((code) => code === 'EAUTH').length;
    expect(guesses).toBeLessThanOrEqual(4);
    expect(results.filter((code) => code === 'ERATELIMIT').length).toBe(12 - guesses);
  });
});
