/**
 * The transfer queue (what the desktop app and the CLI drive) against a real ferryd over
 * TLS: batched progress, the state machine, pause/resume, cancel, retry, conflict
 * policies, and many small files pipelined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, stateHistory, within } from '../helpers/engine.js';
import { exists, randomFile, sha256, sha256File, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { TransferQueue, type QueueOptions } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { uploadFile } from '../../engine/queue/transfers.js';
import type { Conflict, TransferEvent, TransferId, TransferState, TransferView } from '../../shared/common/transfer-model.js';

const MiB = 1024 * 1024;
const alice: TestUser = { name: 'alice', password: 'alice pass' };

let server: Ferryd;
let session: RemoteSession;
let work: string;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  session = await connectSession(server, alice);
  work = await tempDir('ferry-queue-');
  home = path.join(server.root, 'homes', alice.name);
});

afterAll(async () => {
  session.close();
  await cleanupAll();
});

/** A queue that records every event. */
function recordingQueue(s: RemoteSession, options: QueueOptions = {}): { queue: TransferQueue; events: TransferEvent[] } {
  const queue = new TransferQueue(s, options);
  const events: TransferEvent[] = [];
  queue.on((e) => events.push(e));
  return { queue, events };
}

const ORDER: readonly TransferState[] = ['queued', 'active', 'verifying', 'done'];

/** queued → active → (verifying) → done, never backwards (a batch may hide short states). */
function expectForwardToDone(history: readonly TransferState[]): void {
  expect(history[0]).toBe('queued');
  expect(history.at(-1)).toBe('done');
  const ranks = history.map((s) => ORDER.indexOf(s));
  expect(ranks.every((r) => r >= 0)).toBe(true);
  for (let i = 1; i < ranks.length; i++) expect(ranks[i]!).toBeGreaterThan(ranks[i - 1]!);
}

function lastView(events: readonly TransferEvent[], id: TransferId): TransferView | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind !== 'removed') {
      const t = e.transfers.find((v) => v.id === id);
      if (t) return t;
    }
  }
  return undefined;
}

async function smallFiles(dir: string, count: number, size: (i: number) => number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(path.join(dir, `f${String(i).padStart(4, '0')}.dat`), randomBytes(size(i)));
}

describe('progress and states', () => {
  it('300 small files up and back down: batched updates carrying many transfers, every one done and verified', async () => {
    const local = path.join(work, 'batch');
    await smallFiles(local, 300, (i) => 1000 + ((i * 7919) % 60_000));

    const up = recordingQueue(session);
    const started = performance.now();
    await up.queue.upload([local], '/batch');
    await within(up.queue.idle(), 30_000, 'the upload of 300 files');
    const upMs = performance.now() - started;

    const updates = up.events.filter((e) => e.kind === 'updated');
    // About ten a second for the whole queue, not one per file or per chunk.
    expect(updates.length).toBeLessThan(300 / 5);
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(upMs / 100) + 5);
    expect(Math.max(...updates.map((e) => e.transfers.length))).toBeGreaterThan(10);
    const added = up.events.filter((e) => e.kind === 'added');
    expect(added).toHaveLength(1);
    expect(added[0]!.transfers).toHaveLength(300);

    const history = stateHistory(up.events);
    expect(history.size).toBe(300);
    for (const h of history.values()) expectForwardToDone(h);
    for (const t of up.queue.list()) {
      expect(t.state).toBe('done');
      expect(t.verified).toBe(true);
      expect(t.bytes).toBe(t.size);
      expect(lastView(up.events, t.id)).toMatchObject({ state: 'done', verified: true });
    }
    expect(await treeDigest(path.join(home, 'batch', 'batch'))).toEqual(await treeDigest(local));

    // More downloads than the queue keeps "verifying" at once (256): all must still finish.
    const down = recordingQueue(session);
    const back = path.join(work, 'batch-back');
    await down.queue.download(['/batch/batch'], back);
    await within(down.queue.idle(), 30_000, 'the download of 300 files');
    expect(down.queue.list().map((t) => t.state)).toEqual(Array(300).fill('done'));
    expect(down.queue.list().every((t) => t.verified)).toBe(true);
    expect(down.events.filter((e) => e.kind === 'updated').length).toBeLessThan(300 / 5);
    for (const h of stateHistory(down.events).values()) expectForwardToDone(h);
    expect(await treeDigest(path.join(back, 'batch'))).toEqual(await treeDigest(local));
  });

  it('a large upload is seen active with growing bytes, a speed and an ETA, then done and verified', async () => {
    const local = path.join(work, 'large.bin');
    const size = 24 * MiB;
    const hash = await randomFile(local, size);
    const proxy = await Proxy.start(server.port);
    // About 1.5 s on the wire (socket buffers take the first few MiB at once): many batches.
    proxy.rate = 16 * MiB;
    const s = await connectSession({ ...server, port: proxy.port }, alice);
    try {
      const { queue, events } = recordingQueue(s);
      const [t] = await queue.upload([local], '/large');
      await within(queue.idle(), 20_000, 'the upload');
      const views = events.flatMap((e) => (e.kind === 'removed' ? [] : e.transfers.filter((v) => v.id === t!.id)));
      const active = views.filter((v) => v.state === 'active');
      expect(active.length).toBeGreaterThanOrEqual(3);
      const bytes = active.map((v) => v.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
      expect(bytes.at(-1)).toBeGreaterThan(0);
      expect(active.some((v) => v.speed > 0 && v.eta !== null && v.eta > 0)).toBe(true);
      expectForwardToDone(stateHistory(events).get(t!.id)!);
      expect(queue.get(t!.id)).toMatchObject({ state: 'done', verified: true, bytes: size, eta: 0, speed: 0 });
      expect(await sha256File(path.join(home, 'large', 'large.bin'))).toBe(hash);
    } finally {
      s.close();
      await proxy.close();
    }
  });
});

describe('pause, resume, cancel, retry', () => {
  let proxy: Proxy;
  let slow: RemoteSession;
  beforeAll(async () => {
    proxy = await Proxy.start(server.port);
    slow = await connectSession({ ...server, port: proxy.port }, alice);
  });
  afterAll(async () => {
    slow.close();
    await proxy.close();
  });

  const partialBytes = async (): Promise<number> => {
    const dir = path.join(server.root, 'state', 'partials', alice.name);
    let total = 0;
    for (const n of await readdir(dir).catch(() => [] as string[])) total += (await stat(path.join(dir, n))).size;
    return total;
  };

  it('pause stops a large upload, resume continues from the partial and finishes with the right content', async () => {
    const local = path.join(work, 'pause.bin');
    const size = 32 * MiB;
    const hash = await randomFile(local, size);
    proxy.rate = 16 * MiB;
    const { queue } = recordingQueue(slow);
    const [t] = await queue.upload([local], '/pause');
    const id = t!.id;
    await waitFor(() => (queue.get(id)?.bytes ?? 0) > 8 * MiB, 20_000, '8 MiB sent');
    const kept = server.log().split('\n').filter((l) => l.includes('interrupted (partial kept)')).length;
    queue.pause(id);
    await waitFor(() => queue.get(id)?.state === 'paused', 5000, 'paused');
    await within(queue.idle(), 5000, 'idle() with a paused transfer'); // paused counts as settled for idle()
    await waitFor(() => server.log().split('\n').filter((l) => l.includes('interrupted (partial kept)')).length > kept, 5000, 'the partial to be kept');
    const partial = await partialBytes();
    expect(partial).toBeGreaterThan(4 * MiB);
    // The row keeps showing how far it got (not 0 B), and a pause is not a failed attempt.
    expect(queue.get(id)!.bytes).toBeGreaterThanOrEqual(8 * MiB);
    expect(queue.get(id)!.attempts).toBe(0);
    // Paused means paused: nothing moves.
    await new Promise((r) => setTimeout(r, 300));
    expect(queue.get(id)?.state).toBe('paused');
    expect(await partialBytes()).toBe(partial);
    expect(await exists(path.join(home, 'pause', 'pause.bin'))).toBe(false);

    proxy.rate = null;
    proxy.reset();
    queue.resume(id);
    await waitFor(() => queue.get(id)?.state !== 'paused', 5000, 'resumed');
    await within(queue.idle(), 20_000, 'the resumed upload');
    expect(queue.get(id)).toMatchObject({ state: 'done', verified: true, bytes: size, attempts: 1 });
    expect(await sha256File(path.join(home, 'pause', 'pause.bin'))).toBe(hash);
    // Resumed, not restarted: only the rest was sent.
    expect(proxy.upstreamBytes).toBeLessThan(size - partial + 256 * 1024);
  });

  it('an upload whose local file changed while paused is not mixed with the old partial: it starts over and matches the new file', async () => {
    const local = path.join(work, 'changed-up.bin');
    const size = 16 * MiB;
    await randomFile(local, size);
    proxy.rate = 16 * MiB;
    const { queue } = recordingQueue(slow);
    const [t] = await queue.upload([local], '/changed');
    await waitFor(() => (queue.get(t!.id)?.bytes ?? 0) > 6 * MiB, 20_000, '6 MiB sent');
    queue.pause(t!.id);
    await waitFor(() => queue.get(t!.id)?.state === 'paused', 5000, 'paused');
    await waitFor(async () => (await partialBytes()) > 0, 5000, 'a partial');
    const hash = await randomFile(local, size); // same size, other bytes
    proxy.rate = null;
    queue.resume(t!.id);
    await waitFor(() => queue.get(t!.id)?.state !== 'paused', 5000, 'resumed');
    await within(queue.idle(), 20_000, 'the upload');
    expect(queue.get(t!.id)).toMatchObject({ state: 'done', verified: true });
    expect(await sha256File(path.join(home, 'changed', 'changed-up.bin'))).toBe(hash);
  });

  it('pause and resume of a large download: a hidden partial meanwhile, then the rest only, checked by SHA-256', async () => {
    const size = 24 * MiB;
    const remote = path.join(home, 'down', 'big.bin');
    const hash = await randomFile(remote, size);
    const dest = path.join(work, 'down-pause');
    proxy.downRate = 16 * MiB;
    const { queue } = recordingQueue(slow);
    const [t] = await queue.download(['/down/big.bin'], dest);
    await waitFor(() => (queue.get(t!.id)?.bytes ?? 0) > 6 * MiB, 20_000, '6 MiB received');
    queue.pause(t!.id);
    await waitFor(() => queue.get(t!.id)?.state === 'paused', 5000, 'paused');
    const partialFile = path.join(dest, '.big.bin.ferry-part');
    const kept = (await stat(partialFile)).size;
    expect(kept).toBeGreaterThan(0);
    expect(await readdir(dest)).toEqual(['.big.bin.ferry-part']); // never half a file under its real name
    await new Promise((r) => setTimeout(r, 300));
    expect((await stat(partialFile)).size).toBe(kept);

    proxy.downRate = null;
    proxy.reset();
    queue.resume(t!.id);
    await waitFor(() => queue.get(t!.id)?.state !== 'paused', 5000, 'resumed');
    await within(queue.idle(), 20_000, 'the download');
    expect(queue.get(t!.id)).toMatchObject({ state: 'done', verified: true, bytes: size });
    expect(await sha256File(path.join(dest, 'big.bin'))).toBe(hash);
    expect(await readdir(dest)).toEqual(['big.bin']);
    expect(proxy.downstreamBytes).toBeLessThan(size - kept + 256 * 1024);
  });

  it('a download whose remote file changed while paused starts over and matches the new file', async () => {
    const size = 16 * MiB;
    const remote = path.join(home, 'down', 'changing.bin');
    await randomFile(remote, size);
    const dest = path.join(work, 'down-changed');
    proxy.downRate = 16 * MiB;
    const { queue } = recordingQueue(slow);
    const [t] = await queue.download(['/down/changing.bin'], dest);
    await waitFor(() => (queue.get(t!.id)?.bytes ?? 0) > 4 * MiB, 20_000, '4 MiB received');
    queue.pause(t!.id);
    await waitFor(() => queue.get(t!.id)?.state === 'paused', 5000, 'paused');
    const hash = await randomFile(remote, size); // changed on the server meanwhile
    proxy.downRate = null;
    queue.resume(t!.id);
    await waitFor(() => queue.get(t!.id)?.state !== 'paused', 5000, 'resumed');
    await within(queue.idle(), 20_000, 'the download');
    expect(queue.get(t!.id)).toMatchObject({ state: 'done', verified: true });
    expect(await sha256File(path.join(dest, 'changing.bin'))).toBe(hash);
    expect(await readdir(dest)).toEqual(['changing.bin']);
  });

  it('cancel of a running upload gives "cancelled" and commits nothing; cancel of a queued one too', async () => {
    const big = path.join(work, 'cancel.bin');
    await randomFile(big, 32 * MiB);
    const small = path.join(work, 'cancel-queued.txt');
    await writeFile(small, 'never sent');
    proxy.rate = 16 * MiB;
    const { queue, events } = recordingQueue(slow, { concurrency: 1 });
    const [running, waiting] = await queue.upload([big, small], '/cancel');
    await waitFor(() => (queue.get(running!.id)?.bytes ?? 0) > 2 * MiB, 20_000, 'the upload to run');
    expect(queue.get(waiting!.id)?.state).toBe('queued');
    queue.cancel(waiting!.id);
    queue.cancel(running!.id);
    await within(queue.idle(), 5000, 'the cancelled queue');
    expect(queue.get(running!.id)?.state).toBe('cancelled');
    expect(queue.get(waiting!.id)?.state).toBe('cancelled');
    expect(queue.get(running!.id)?.error).toBeUndefined();
    expect(stateHistory(events).get(waiting!.id)).toEqual(['queued', 'cancelled']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await readdir(path.join(home, 'cancel'))).toEqual([]);
    proxy.rate = null;
  });

  it('a transfer waiting to retry (EBUSY) is not restarted before its delay when other files free their slots', async () => {
    // Another session is uploading the same file (slowly): ours gets EBUSY, which is worth
    // retrying after a delay. The small files behind it must not restart it early: that
    // would burn all its attempts in a moment and fail it.
    const local = path.join(work, 'busy.bin');
    const hash = await randomFile(local, 6 * MiB);
    proxy.rate = 8 * MiB;
    await session.mkdir('/busy', true);
    const holder = uploadFile(slow, local, '/busy/busy.bin', { exists: 'overwrite', resume: false });
    await waitFor(async () => (await partialBytes()) > 0, 10_000, 'the other upload to start');
    const smalls = path.join(work, 'busy-smalls');
    await smallFiles(smalls, 40, (i) => 100 + i);
    const { queue } = recordingQueue(session, { concurrency: 2 });
    const [busy] = await queue.upload([local, smalls], '/busy');
    await within(Promise.all([queue.idle(), holder]), 20_000, 'the uploads');
    expect(queue.get(busy!.id)).toMatchObject({ state: 'done', verified: true });
    expect(queue.get(busy!.id)!.attempts).toBeGreaterThan(1);
    expect(queue.list().filter((t) => t.state !== 'done')).toEqual([]);
    expect(await sha256File(path.join(home, 'busy', 'busy.bin'))).toBe(hash);
    proxy.rate = null;
  });

  it('retry() runs a failed transfer again: it succeeds once the cause is gone', async () => {
    const local = path.join(work, 'target.txt');
    await writeFile(local, 'retry me');
    await session.mkdir('/retry/target.txt', true); // a folder where the file should go
    const { queue } = recordingQueue(session);
    const [t] = await queue.upload([local], '/retry');
    await within(queue.idle(), 10_000, 'the failing upload');
    expect(queue.get(t!.id)).toMatchObject({ state: 'failed', error: { code: 'EISDIR' } });
    await session.remove('/retry/target.txt', true);
    queue.retry(t!.id);
    expect(queue.get(t!.id)?.state).toBe('active'); // started at once: a slot is free
    expect(queue.get(t!.id)?.error).toBeUndefined();
    await within(queue.idle(), 10_000, 'the retried upload');
    expect(queue.get(t!.id)).toMatchObject({ state: 'done', verified: true });
    expect(await readFile(path.join(home, 'retry', 'target.txt'), 'utf8')).toBe('retry me');
  });
});

describe('conflicts', () => {
  async function seed(remoteDir: string, names: readonly string[], content: string): Promise<string> {
    const dir = path.join(work, `seed-${remoteDir.replace(/\W/g, '')}-${content.replace(/\W/g, '')}`);
    await mkdir(dir, { recursive: true });
    for (const n of names) await writeFile(path.join(dir, n), `${content} ${n}`);
    return dir;
  }

  it("'ask' asks once when the answer applies to all, then follows it for every conflict", async () => {
    const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt', 'f.txt'];
    const oldDir = await seed('/ask', names, 'old');
    const first = new TransferQueue(session);
    await first.upload(names.map((n) => path.join(oldDir, n)), '/ask');
    await first.idle();

    const newDir = await seed('/ask', names, 'new');
    const asked: Conflict[] = [];
    const { queue } = recordingQueue(session, {
      conflict: 'ask',
      resolveConflict: async (conflict) => {
        asked.push(conflict);
        await new Promise((r) => setTimeout(r, 100)); // a person takes a moment to answer
        return { decision: 'overwrite', applyToAll: true };
      },
    });
    await queue.upload(names.map((n) => path.join(newDir, n)), '/ask');
    await within(queue.idle(), 10_000, 'the upload');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.existing.size).toBe(`old ${asked[0]!.transfer.name}`.length);
    expect(queue.list().map((t) => t.state)).toEqual(Array(names.length).fill('done'));
    for (const n of names) expect(await readFile(path.join(home, 'ask', n), 'utf8')).toBe(`new ${n}`);
  });

  it("'ask' without applyToAll asks for each conflict, one at a time", async () => {
    const names = ['p.txt', 'q.txt', 'r.txt', 's.txt'];
    const oldDir = await seed('/ask-each', names, 'old');
    await new TransferQueue(session).upload(names.map((n) => path.join(oldDir, n)), '/ask-each');
    await waitFor(async () => (await readdir(path.join(home, 'ask-each')).catch(() => [])).length === names.length, 10_000, 'seeded');
    const newDir = await seed('/ask-each', names, 'new');
    let open = 0;
    let maxOpen = 0;
    const asked: string[] = [];
    const { queue } = recordingQueue(session, {
      conflict: 'ask',
      resolveConflict: async ({ transfer }) => {
        asked.push(transfer.name);
        maxOpen = Math.max(maxOpen, ++open);
        await new Promise((r) => setTimeout(r, 50));
        open--;
        return { decision: transfer.name === 'p.txt' ? 'overwrite' : 'skip', applyToAll: false };
      },
    });
    await queue.upload(names.map((n) => path.join(newDir, n)), '/ask-each');
    await within(queue.idle(), 10_000, 'the upload');
    expect(asked.sort()).toEqual(names);
    expect(maxOpen).toBe(1); // never two questions on screen at once
    expect(await readFile(path.join(home, 'ask-each', 'p.txt'), 'utf8')).toBe('new p.txt');
    expect(await readFile(path.join(home, 'ask-each', 'q.txt'), 'utf8')).toBe('old q.txt');
    expect(queue.list().map((t) => t.state).sort()).toEqual(['done', 'skipped', 'skipped', 'skipped']);
  });

  it('"apply to all" covers its own batch only: a later upload is asked again', async () => {
    const names = ['m.txt', 'n.txt', 'o.txt'];
    const oldDir = await seed('/batch-ask', names, 'old');
    await new TransferQueue(session).upload(names.map((n) => path.join(oldDir, n)), '/batch-ask');
    await waitFor(async () => (await readdir(path.join(home, 'batch-ask')).catch(() => [])).length === names.length, 10_000, 'seeded');
    const newDir = await seed('/batch-ask', names, 'new');
    const asked: Conflict[] = [];
    const { queue } = recordingQueue(session, {
      conflict: 'ask',
      resolveConflict: async (conflict) => {
        asked.push(conflict);
        return { decision: asked.length === 1 ? 'skip' : 'overwrite', applyToAll: true };
      },
    });
    // First drop: all of it skipped after one question.
    await queue.upload(names.map((n) => path.join(newDir, n)), '/batch-ask');
    await within(queue.idle(), 10_000, 'the first batch');
    expect(asked).toHaveLength(1);
    // Second drop of the same files: asked again (the first answer was for the first drop).
    await queue.upload(names.map((n) => path.join(newDir, n)), '/batch-ask');
    await within(queue.idle(), 10_000, 'the second batch');
    expect(asked).toHaveLength(2);
    expect(asked[1]!.batch).not.toBe(asked[0]!.batch);
    expect(queue.list().map((t) => t.state)).toEqual([...Array(3).fill('skipped'), ...Array(3).fill('done')]);
    for (const n of names) expect(await readFile(path.join(home, 'batch-ask', n), 'utf8')).toBe(`new ${n}`);
  });

  it('withdraws an open question when its transfer is cancelled or paused, or the queue closes', async () => {
    const names = ['u.txt', 'v.txt', 'w.txt'];
    const oldDir = await seed('/withdraw', names, 'old');
    await new TransferQueue(session).upload(names.map((n) => path.join(oldDir, n)), '/withdraw');
    await waitFor(async () => (await readdir(path.join(home, 'withdraw')).catch(() => [])).length === names.length, 10_000, 'seeded');
    const newDir = await seed('/withdraw', names, 'new');
    const open: Array<{ conflict: Conflict; signal: AbortSignal }> = [];
    const { queue } = recordingQueue(session, {
      conflict: 'ask',
      concurrency: 1,
      // Never answered: only withdrawn.
      resolveConflict: (conflict, signal) => {
        open.push({ conflict, signal });
        return new Promise(() => undefined);
      },
    });
    const [u, v, w] = await queue.upload(names.map((n) => path.join(newDir, n)), '/withdraw');
    await waitFor(() => open.length === 1, 10_000, 'the first question');
    queue.cancel(open[0]!.conflict.transfer.id);
    expect(open[0]!.signal.aborted).toBe(true);
    await waitFor(() => open.length === 2, 10_000, 'the second question');
    queue.pause(open[1]!.conflict.transfer.id);
    expect(open[1]!.signal.aborted).toBe(true);
    await waitFor(() => open.length === 3, 10_000, 'the third question');
    expect(queue.get(u!.id)?.state).toBe('cancelled');
    expect(queue.get(v!.id)?.state).toBe('paused');
    queue.close();
    expect(open[2]!.signal.aborted).toBe(true);
    await within(queue.idle(), 10_000, 'the queue');
    expect(queue.get(w!.id)?.state).toBe('cancelled');
    // Nothing was overwritten.
    for (const n of names) expect(await readFile(path.join(home, 'withdraw', n), 'utf8')).toBe(`old ${n}`);
  });

  it("'rename' uploads next to the existing file as 'name (1).ext', then 'name (2).ext'", async () => {
    const dir = path.join(work, 'rename-up');
    await mkdir(dir, { recursive: true });
    const local = path.join(dir, 'report.txt');
    await writeFile(local, 'first');
    await new TransferQueue(session).upload([local], '/ren').then(() => undefined);
    await waitFor(() => exists(path.join(home, 'ren', 'report.txt')), 10_000, 'the first upload');
    for (const [n, content] of [
      [1, 'second'],
      [2, 'third'],
    ] as const) {
      await writeFile(local, content);
      const { queue } = recordingQueue(session, { conflict: 'rename' });
      const [t] = await queue.upload([local], '/ren');
      await within(queue.idle(), 10_000, 'the renamed upload');
      expect(queue.get(t!.id)).toMatchObject({ state: 'done', remotePath: `/ren/report (${n}).txt` });
      expect(await readFile(path.join(home, 'ren', `report (${n}).txt`), 'utf8')).toBe(content);
    }
    expect(await readFile(path.join(home, 'ren', 'report.txt'), 'utf8')).toBe('first');
  });

  it("'rename' on download keeps the local file and saves the new one as 'name (1).ext'", async () => {
    const remoteFile = path.join(work, 'photo.jpg');
    await writeFile(remoteFile, 'remote photo');
    const up = new TransferQueue(session);
    await up.upload([remoteFile], '/ren-down');
    await up.idle();
    const dest = path.join(work, 'ren-down');
    await mkdir(dest, { recursive: true });
    await writeFile(path.join(dest, 'photo.jpg'), 'local photo');
    const { queue } = recordingQueue(session, { conflict: 'rename' });
    const [t] = await queue.download(['/ren-down/photo.jpg'], dest);
    await within(queue.idle(), 10_000, 'the download');
    expect(queue.get(t!.id)).toMatchObject({ state: 'done', localPath: path.join(await realDir(dest), 'photo (1).jpg') });
    expect(await readFile(path.join(dest, 'photo.jpg'), 'utf8')).toBe('local photo');
    expect(await readFile(path.join(dest, 'photo (1).jpg'), 'utf8')).toBe('remote photo');
  });
});

async function realDir(dir: string): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(dir);
}

describe('many small files', () => {
  it('uploads 2000 tiny files (pipelined) and every one arrives intact', async () => {
    const local = path.join(work, 'tiny');
    await smallFiles(local, 2000, (i) => 1 + (i % 200));
    const { queue, events } = recordingQueue(session);
    const started = performance.now();
    await queue.upload([local], '/tiny');
    await within(queue.idle(), 60_000, 'the upload of 2000 files');
    const ms = Math.round(performance.now() - started);
    console.log(`2000 tiny files uploaded in ${ms} ms (${Math.round(2000 / (ms / 1000))} files/s), ${events.filter((e) => e.kind === 'updated').length} update events`);
    expect(queue.list().filter((t) => t.state !== 'done')).toEqual([]);
    const names = await readdir(path.join(home, 'tiny', 'tiny'));
    expect(names).toHaveLength(2000);
    for (const n of names) {
      expect(sha256(await readFile(path.join(home, 'tiny', 'tiny', n)))).toBe(sha256(await readFile(path.join(local, n))));
    }
  });
});
