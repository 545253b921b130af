/**
 * Speed limits through the real engine: the transfer queue with the app's RateLimits,
 * against a real ferryd (and a real sshd for SFTP), rates measured over many seconds.
 * The limits are low enough that the machine is never what holds a transfer back, so a
 * busy machine does not make these fail; each asserts the measured rate, within 5%.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { randomFile, sha256File } from '../helpers/files.js';
import { sftpOptions, startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { RateLimits } from '../../engine/queue/rate-limit.js';
import type { Lane, Remote } from '../../engine/remote/remote.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { SftpRemote } from '../../engine/sftp/sftp-remote.js';

const MiB = 1024 * 1024;
const alice: TestUser = { name: 'alice', password: 'alice pass' };

let server: Ferryd;
let session: RemoteSession;
let work: string;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  session = await connectSession(server, alice);
  work = await tempDir('ferry-limits-');
  home = path.join(server.root, 'homes', alice.name);
});

afterAll(async () => {
  session?.close();
  await cleanupAll();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The rate of `bytes()` (bytes per second) between `fromMs` and `toMs` after now, read at
 * those two moments (the queue counts each piece as it is handed to the transport).
 */
async function measure(bytes: () => number, fromMs: number, toMs: number): Promise<number> {
  const t0 = performance.now();
  await sleep(fromMs);
  const [a, ta] = [bytes(), performance.now()];
  await sleep(toMs - (performance.now() - t0));
  const [b, tb] = [bytes(), performance.now()];
  return ((b - a) * 1000) / (tb - ta);
}

function queueOf(remote: Remote, limits: RateLimits, concurrency = 4): TransferQueue {
  return new TransferQueue(remote, { rateLimits: limits, concurrency, progressIntervalMs: 50 });
}

const bytesOf = (queue: TransferQueue) => (): number => queue.totals().bytes;

/** `inner`, with the bytes every upload hands to a lane counted as the lane reads them. */
function countingPuts(inner: Remote): { remote: Remote; sent: () => number } {
  let sent = 0;
  const own = <T extends object>(target: T, key: string | symbol): unknown => {
    const value = Reflect.get(target, key, target) as unknown;
    return typeof value === 'function' ? value.bind(target) : value;
  };
  // The pool knows its lanes by identity: a wrapped lane is given back as itself.
  const unwrapped = new WeakMap<Lane, Lane>();
  const remote = new Proxy(inner, {
    get(target, key) {
      if (key === 'release') return (lane: Lane) => target.release(unwrapped.get(lane) ?? lane);
      if (key !== 'acquire') return own(target, key);
      return async (signal?: AbortSignal): Promise<Lane> => {
        const lane = await target.acquire(signal);
        const put: Lane['put'] = (request, source, hash, hooks) =>
          lane.put(
            request,
            async function* () {
              for await (const chunk of source()) {
                sent += chunk.length;
                yield chunk;
              }
            },
            hash,
            hooks,
          );
        const wrapped = new Proxy(lane, { get: (l, k) => (k === 'put' ? put : own(l, k)) });
        unwrapped.set(wrapped, lane);
        return wrapped;
      };
    },
  });
  return { remote, sent: () => sent };
}

describe('speed limits over Ferry’s protocol', () => {
  it('holds an upload to its limit within 5% over 10 s, with memory flat', async () => {
    const file = path.join(work, 'up.bin');
    await randomFile(file, 28 * MiB);
    const limits = new RateLimits();
    limits.set({ uploadLimit: 2 * MiB, downloadLimit: 0 });
    const queue = queueOf(session, limits);
    await queue.upload([file], '.');
    const heapBefore = process.memoryUsage().arrayBuffers;
    const rate = await measure(bytesOf(queue), 1000, 11_000);
    // Waiting is backpressure: nothing piles up while the transfer is held back.
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 * MiB);
    expect(rate / (2 * MiB)).toBeGreaterThan(0.95);
    expect(rate / (2 * MiB)).toBeLessThan(1.05);
    limits.set({ uploadLimit: 0, downloadLimit: 0 });
    await queue.idle();
    expect(queue.list()[0]!.state).toBe('done');
    expect(await sha256File(path.join(home, 'up.bin'))).toBe(await sha256File(file));
  }, 60_000);

  it('holds a download to its limit within 5% over 10 s; a faster limit applies at once, mid-transfer', async () => {
    await randomFile(path.join(home, 'down.bin'), 40 * MiB);
    const limits = new RateLimits();
    limits.set({ uploadLimit: 0, downloadLimit: 2 * MiB });
    const queue = queueOf(session, limits);
    const into = path.join(work, 'got');
    await mkdir(into, { recursive: true });
    await queue.download(['down.bin'], into);
    const slow = await measure(bytesOf(queue), 1000, 11_000);
    expect(slow / (2 * MiB)).toBeGreaterThan(0.95);
    expect(slow / (2 * MiB)).toBeLessThan(1.05);
    // The same transfer, a new limit: measured from half a second after the change.
    limits.set({ uploadLimit: 0, downloadLimit: 3 * MiB });
    const fast = await measure(bytesOf(queue), 500, 4500);
    expect(fast / (3 * MiB)).toBeGreaterThan(0.95);
    expect(fast / (3 * MiB)).toBeLessThan(1.05);
    limits.set({ uploadLimit: 0, downloadLimit: 0 });
    await queue.idle();
    expect(queue.list()[0]!.state).toBe('done');
    expect(await sha256File(path.join(into, 'down.bin'))).toBe(await sha256File(path.join(home, 'down.bin')));
  }, 60_000);

  it('a slower limit applies at once too, and shares one rate among all the files moving', async () => {
    const files = [0, 1, 2].map((i) => path.join(work, `three-${i}.bin`));
    await Promise.all(files.map((f) => randomFile(f, 8 * MiB)));
    const limits = new RateLimits();
    limits.set({ uploadLimit: 3 * MiB, downloadLimit: 0 });
    const queue = queueOf(session, limits);
    await queue.upload(files, 'three');
    await sleep(1500);
    limits.set({ uploadLimit: MiB, downloadLimit: 0 });
    const rate = await measure(bytesOf(queue), 500, 5500);
    expect(rate / MiB).toBeGreaterThan(0.95);
    expect(rate / MiB).toBeLessThan(1.05);
    // All three moved meanwhile: the one rate is shared, not given to one file.
    expect(queue.list().every((t) => t.bytes > 0)).toBe(true);
    queue.cancelAll();
    await queue.idle();
  }, 60_000);

  it('limits a folder of many small files (moved whole, pipelined) both ways', async () => {
    const folder = path.join(work, 'small');
    await mkdir(folder, { recursive: true });
    await Promise.all(Array.from({ length: 400 }, (_, i) => writeFile(path.join(folder, `f${i}.txt`), Buffer.alloc(16 * 1024, i % 256))));
    const limits = new RateLimits();
    limits.set({ uploadLimit: 768 * 1024, downloadLimit: 768 * 1024 });
    const up = queueOf(session, limits);
    await up.upload([folder], '.');
    const upRate = await measure(bytesOf(up), 1000, 7000);
    await up.idle();
    expect(up.list().every((t) => t.state === 'done')).toBe(true);

    const down = queueOf(session, limits);
    const into = path.join(work, 'small-back');
    await mkdir(into);
    await down.download(['small'], into);
    const downRate = await measure(bytesOf(down), 1000, 7000);
    await down.idle();
    expect(down.list().every((t) => t.state === 'done')).toBe(true);
    for (const rate of [upRate, downRate]) {
      expect(rate / (768 * 1024)).toBeGreaterThan(0.95);
      expect(rate / (768 * 1024)).toBeLessThan(1.05);
    }
  }, 60_000);

  it('no limit: the same transfer is not held back', async () => {
    const file = path.join(work, 'free.bin');
    await randomFile(file, 16 * MiB);
    const queue = queueOf(session, new RateLimits());
    const started = performance.now();
    await queue.upload([file], '.');
    await queue.idle();
    // 16 MiB at any limit these tests use would take 5 s or more.
    expect(performance.now() - started).toBeLessThan(5000);
  }, 60_000);
});

describe('speed limits over SFTP', () => {
  let sshd: TestSshd;
  let remote: SftpRemote;

  beforeAll(async () => {
    sshd = await startTestSshd();
    remote = await SftpRemote.connect(sftpOptions(sshd));
  }, 60_000);

  afterAll(async () => {
    remote?.close();
    await sshd?.stop();
  });

  it('holds an upload and a download to their limits within 5%', async () => {
    const file = path.join(work, 'sftp.bin');
    await randomFile(file, 16 * MiB);
    const limits = new RateLimits();
    limits.set({ uploadLimit: 2 * MiB, downloadLimit: 2 * MiB });
    // An SFTP upload's row counts bytes as the server acknowledges them, up to 8 MiB later
    // on a busy machine: the rate is measured where the bytes enter the transport instead.
    const counted = countingPuts(remote);
    const up = queueOf(counted.remote, limits);
    await up.upload([file], '.');
    const upRate = await measure(counted.sent, 1000, 7000);
    limits.set({ uploadLimit: 0, downloadLimit: 2 * MiB });
    await up.idle();
    expect(up.list()[0]!.state).toBe('done');

    const into = path.join(work, 'sftp-back');
    await mkdir(into);
    const down = queueOf(remote, limits);
    await down.download(['sftp.bin'], into);
    const downRate = await measure(bytesOf(down), 1000, 7000);
    limits.set({ uploadLimit: 0, downloadLimit: 0 });
    await down.idle();
    expect(await sha256File(path.join(into, 'sftp.bin'))).toBe(await sha256File(file));
    for (const rate of [upRate, downRate]) {
      expect(rate / (2 * MiB)).toBeGreaterThan(0.95);
      expect(rate / (2 * MiB)).toBeLessThan(1.05);
    }
  }, 90_000);
});
