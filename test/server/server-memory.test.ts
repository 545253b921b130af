/**
 * Peers that push the biggest headers they may, as fast as they can, must not make ferryd
 * hold memory: hundreds of connections that have not logged in, from several addresses,
 * and logged-in connections that stop reading their replies. What is asserted is ferryd's
 * resident memory and that a logged-in user keeps being served meanwhile. The attackers
 * run in a process of their own (flood-peer.mjs), so that their work slows neither the
 * test's clock nor its bystander.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../../server/server-context.js';
import { cleanupAll, rssBytes, start, startFerryd, type Ferryd, type Started, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rootWithUsers, sleep } from './raw-client.js';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'flood-peer.mjs');
const ALICE: TestUser = { name: 'alice', password: 'alice-correct-horse' };
const MALLORY: TestUser = { name: 'mallory', password: 'mallory-pushes-hard' };
const TRUDY: TestUser = { name: 'trudy', password: 'trudy-never-reads' };
const RSS_LIMIT = 200 * 1024 * 1024;
const ATTACK_MS = 8000;
/** Other addresses on loopback (Linux answers all of 127/8), so per-address caps apply to each. */
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** A fresh ferryd for each test: its RSS starts from what a new server holds. */
let server: Ferryd;

beforeEach(async () => {
  server = await startFerryd({ root: await rootWithUsers([ALICE, MALLORY, TRUDY]), plain: true });
});

afterEach(async () => {
  await server.stop();
});

afterAll(cleanupAll);

/** Start flood-peer.mjs with these options and wait until all its connections flood. */
async function floodPeer(options: Record<string, unknown>): Promise<Started> {
  const peer = start(PEER, [JSON.stringify({ port: server.port, addresses: ADDRESSES, ...options })]);
  const ready = await eventually(() => peer.stdout().includes('ready') || peer.child.exitCode !== null, 30_000, 50);
  if (!ready || peer.child.exitCode !== null) throw new Error(`the flood peer did not start: ${peer.stderr()}`);
  return peer;
}

interface Outcome {
  readonly peakRss: number;
  /** Requests of the logged-in bystander answered during the attack, and the slowest. */
  readonly served: number;
  readonly slowestMs: number;
}

/**
 * Run a flood peer for ATTACK_MS while a logged-in client pings and lists, sampling
 * ferryd's RSS. A flood that passes the limit is stopped at once (so that a server without
 * the bounds does not take the machine's memory with it).
 */
async function underAttack(options: Record<string, unknown>): Promise<Outcome> {
  const bystander = await loggedIn(server.port, ALICE.name, ALICE.password);
  const pid = server.process.pid!;
  let peakRss = await rssBytes(pid);
  const peer = await floodPeer(options);
  const until = Date.now() + ATTACK_MS;
  let over = false;
  const sampling = (async () => {
    while (Date.now() < until && !over) {
      peakRss = Math.max(peakRss, await rssBytes(pid));
      over = peakRss > RSS_LIMIT;
      await sleep(100);
    }
  })();
  let served = 0;
  let slowestMs = 0;
  try {
    while (Date.now() < until && !over) {
      const started = Date.now();
      const reply = await bystander.request({ type: served % 2 ? 'ping' : 'list', path: '/' }, undefined, 15_000);
      expect(reply.header.type).toBe('ok');
      slowestMs = Math.max(slowestMs, Date.now() - started);
      served++;
      await sleep(200);
    }
  } finally {
    over = true;
    await sampling;
    peer.child.kill('SIGKILL');
    await peer.result.catch(() => undefined);
    bystander.destroy();
  }
  return { peakRss, served, slowestMs };
}

function report(what: string, o: Outcome): string {
  return `${what}: peak RSS ${(o.peakRss / 2 ** 20).toFixed(0)} MB, ${o.served} requests served, slowest ${o.slowestMs} ms`;
}

async function expectOutcome(what: string, outcome: Outcome): Promise<void> {
  console.log(report(what, outcome));
  expect(outcome.peakRss, report(what, outcome)).toBeLessThan(RSS_LIMIT);
  // A request every 200 ms or so when served at once: at least a few in the 8 s.
  expect(outcome.served, report(what, outcome)).toBeGreaterThanOrEqual(5);
  const fresh = await loggedIn(server.port, ALICE.name, ALICE.password);
  expect((await fresh.request({ type: 'list', path: '/' })).header.type).toBe('ok');
  fresh.destroy();
  expect(server.process.exitCode).toBeNull();
}

describe('memory held for peers', () => {
  it('200 connections that never log in, pushing the biggest headers they may, from 4 addresses', async () => {
    const { maxHeader, preAuthMaxHeader } = DEFAULT_LIMITS;
    // At the protocol's header cap and at the cap before login; heavy to parse and plain.
    const kinds = [maxHeader, preAuthMaxHeader].flatMap((bytes) => [{ bytes, heavy: true }, { bytes, heavy: false }]);
    const outcome = await underAttack({ mode: 'unauthenticated', connections: 200, kinds });
    await expectOutcome('unauthenticated flood', outcome);
  }, 60_000);

  it('32 logged-in connections that stop reading their replies and push big requests behind them', async () => {
    // 96 downloads of 64 KiB: 6 MiB, more than loopback's socket buffers take (about
    // 4 MB). Small files, so that what each stalled connection holds of its own replies (a
    // file's buffer) stays small next to what it could pile up; a big download holds a few
    // MiB (its chunk being sent and the next) by design.
    const file = Buffer.alloc(64 * 1024, 7);
    const owners: RawClient[] = [];
    const sessions: Array<{ session: string; ticket: string }> = [];
    for (const user of [MALLORY, TRUDY]) {
      const c = await RawClient.connect(server.port);
      owners.push(c);
      // The attackers attach to this session, which lives while this connection is open.
      const ok = await c.mustLogin(user.name, user.password);
      sessions.push({ session: String(ok.session), ticket: String(ok.ticket) });
      expect((await c.put('/stall.bin', file)).header.type).toBe('ok');
    }
    try {
      const outcome = await underAttack({ mode: 'stalled', connections: 32, sessions, path: '/stall.bin', gets: 96, stallMs: 1500, maxHeader: DEFAULT_LIMITS.maxHeader });
      await expectOutcome('stalled logged-in connections', outcome);
    } finally {
      for (const c of owners) c.destroy();
    }
  }, 60_000);
});
