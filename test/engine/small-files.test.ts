/**
 * Small files through the transfer queue: pipelined in batches on the data connections
 * (whole puts up, `read` down), with blocking or threaded local I/O, the conflict
 * policies, pause and cancel of files still waiting in a batch, and the way back to the
 * streamed path for a file that grew past the small-file size.
 */
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, stateHistory, within } from '../helpers/engine.js';
import { exists, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { TransferQueue, type QueueOptions } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { writeSmallFile } from '../../engine/queue/small-files.js';
import { partialPathFor } from '../../engine/queue/local-files.js';
import type { TransferEvent } from '../../shared/common/transfer-model.js';

const alice: TestUser = { name: 'alice', password: 'alice small pass' };

let server: Ferryd;
let session: RemoteSession;
let work: string;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  session = await connectSession(server, alice);
  work = await tempDir('ferry-small-');
  home = path.join(server.root, 'homes', alice.name);
});

afterAll(async () => {
  session.close();
  await cleanupAll();
});

/** A session through a proxy that lets the server's bytes through at `rate` bytes a second. */
async function slowDownloads(rate: number): Promise<{ proxy: Proxy; s: RemoteSession }> {
  const proxy = await Proxy.start(server.port);
  proxy.downRate = rate;
  return { proxy, s: await connectSession({ ...server, port: proxy.port }, alice) };
}

async function files(dir: string, count: number, size: (i: number) => number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `s${String(i).padStart(4, '0')}.bin`);
    await writeFile(file, randomBytes(size(i)));
    await utimes(file, new Date(), new Date(1_600_000_000_000 + i * 1000));
  }
}

describe.each([
  ['through the I/O threads (the desktop app)', {}],
  ['with blocking calls (the CLI)', { blockingSmallIo: true }],
] as Array<[string, QueueOptions]>)('small files %s', (_name, options) => {
  const tag = options.blockingSmallIo ? 'blocking' : 'threads';

  it('600 files up and back down: all verified, identical, with their mtimes, states forward only', async () => {
    const local = path.join(work, `tree-${tag}`);
    // Up to the small-file size (and one just past it, which takes the streamed way).
    await files(path.join(local, 'a'), 300, (i) => (i * 7919) % 9000);
    await files(path.join(local, 'b', 'c'), 299, (i) => 1 + ((i * 104_729) % WHOLE_FILE_MAX));
    await writeFile(path.join(local, 'b', 'big.bin'), randomBytes(WHOLE_FILE_MAX + 1));

    const up = new TransferQueue(session, options);
    const upEvents: TransferEvent[] = [];
    up.on((e) => upEvents.push(e));
    await up.upload([local], `/${tag}`);
    await within(up.idle(), 60_000, 'the upload');
    expect(up.list().filter((t) => t.state !== 'done' || !t.verified)).toEqual([]);
    expect(up.list()).toHaveLength(600);
    for (const h of stateHistory(upEvents).values()) {
      expect(h[0]).toBe('queued');
      expect(h.at(-1)).toBe('done');
      expect(h.includes('paused') || h.includes('failed')).toBe(false);
    }
    expect(await treeDigest(path.join(home, tag, path.basename(local)))).toEqual(await treeDigest(local));
    const sample = path.join('a', 's0007.bin');
    expect(Math.round((await stat(path.join(home, tag, path.basename(local), sample))).mtimeMs)).toBe(1_600_000_007_000);

    const down = new TransferQueue(session, options);
    const back = path.join(work, `back-${tag}`);
    await down.download([`/${tag}/${path.basename(local)}`], back);
    await within(down.idle(), 60_000, 'the download');
    expect(down.list().filter((t) => t.state !== 'done' || !t.verified)).toEqual([]);
    expect(await treeDigest(path.join(back, path.basename(local)))).toEqual(await treeDigest(local));
    expect(Math.round((await stat(path.join(back, path.basename(local), sample))).mtimeMs)).toBe(1_600_000_007_000);
    // No hidden partials left behind.
    expect((await readdir(path.join(back, path.basename(local), 'a'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('download conflicts: skip keeps the local file, rename saves next to it, fail asks', async () => {
    const remote = `/conflicts-${tag}`;
    await session.mkdir(remote, true);
    const src = path.join(work, `conflict-src-${tag}`);
    await mkdir(src, { recursive: true });
    for (const n of ['p.txt', 'q.txt', 'r.txt']) await writeFile(path.join(src, n), `remote ${n}`);
    const seed = new TransferQueue(session, options);
    await seed.upload(['p.txt', 'q.txt', 'r.txt'].map((n) => path.join(src, n)), remote);
    await within(seed.idle(), 60_000, 'the seed');
    const dest = path.join(work, `conflict-dest-${tag}`);
    await mkdir(dest, { recursive: true });
    for (const n of ['p.txt', 'q.txt', 'r.txt']) await writeFile(path.join(dest, n), `local ${n}`);

    const skip = new TransferQueue(session, { ...options, conflict: 'skip' });
    await skip.download([`${remote}/p.txt`], dest);
    const rename = new TransferQueue(session, { ...options, conflict: 'rename' });
    await rename.download([`${remote}/q.txt`], dest);
    const asked: string[] = [];
    const ask = new TransferQueue(session, {
      ...options,
      conflict: 'ask',
      resolveConflict: async ({ transfer }) => {
        asked.push(transfer.name);
        return { decision: 'overwrite', applyToAll: false };
      },
    });
    await ask.download([`${remote}/r.txt`], dest);
    await Promise.all([within(skip.idle(), 60_000, 'skip'), within(rename.idle(), 60_000, 'rename'), within(ask.idle(), 60_000, 'ask')]);
    expect(skip.list()[0]!.state).toBe('skipped');
    expect(await readFile(path.join(dest, 'p.txt'), 'utf8')).toBe('local p.txt');
    expect(rename.list()[0]).toMatchObject({ state: 'done', verified: true });
    expect(await readFile(path.join(dest, 'q.txt'), 'utf8')).toBe('local q.txt');
    expect(await readFile(path.join(dest, 'q (1).txt'), 'utf8')).toBe('remote q.txt');
    expect(asked).toEqual(['r.txt']);
    expect(await readFile(path.join(dest, 'r.txt'), 'utf8')).toBe('remote r.txt');
  });
});

describe('small files waiting in a batch', () => {
  it('a paused or cancelled file that has not started is not sent; the others are', async () => {
    const local = path.join(work, 'waiting');
    await files(local, 200, () => 2000);
    const queue = new TransferQueue(session, { concurrency: 1 });
    const added = await queue.upload([local], '/waiting');
    // Files of the first batch past its window: claimed by it, not started yet.
    const paused = added[40]!;
    const cancelled = added[41]!;
    expect(queue.get(paused.id)!.state).toBe('queued');
    queue.pause(paused.id);
    queue.cancel(cancelled.id);
    await within(queue.idle(), 60_000, 'the upload');
    expect(queue.get(paused.id)!.state).toBe('paused');
    expect(queue.get(cancelled.id)!.state).toBe('cancelled');
    const names = await readdir(path.join(home, 'waiting', 'waiting'));
    expect(names).toHaveLength(198);
    expect(names).not.toContain(paused.name);
    expect(names).not.toContain(cancelled.name);
    queue.resume(paused.id);
    await within(queue.idle(), 60_000, 'the resumed file');
    expect(queue.get(paused.id)).toMatchObject({ state: 'done', verified: true });
    expect(await readdir(path.join(home, 'waiting', 'waiting'))).toHaveLength(199);
  });

  it('a file that grew past the small-file size since it was listed takes the streamed way, intact', async () => {
    const local = path.join(work, 'grows');
    await files(local, 20, () => 1000);
    const up = new TransferQueue(session, { blockingSmallIo: true });
    await up.upload([local], '/grows');
    await within(up.idle(), 60_000, 'the upload');
    const down = new TransferQueue(session, { concurrency: 1 });
    const back = path.join(work, 'grows-back');
    // Listed at 1,000 bytes, bigger than a small file by the time it is asked for: `read`
    // says ETOOBIG and the queue streams it instead.
    const grown = randomBytes(WHOLE_FILE_MAX + 50_000);
    down.on((e) => {
      if (e.kind === 'added') writeFileSync(path.join(home, 'grows', 'grows', 's0019.bin'), grown);
    });
    const [first] = await down.download(['/grows/grows'], back);
    expect(first!.size).toBe(1000);
    await within(down.idle(), 60_000, 'the download');
    expect(down.list().filter((t) => t.state !== 'done')).toEqual([]);
    expect((await readFile(path.join(back, 'grows', 's0019.bin'))).equals(grown)).toBe(true);
    expect((await readFile(path.join(back, 'grows', 's0000.bin'))).length).toBe(1000);
  });
});

describe('a small file sent the streamed way after all', () => {
  it('is paused by Pause while it streams and resumes intact: the stop handle is the running attempt\'s', async () => {
    const local = path.join(work, 'reroute');
    await files(local, 5, () => 1000);
    const up = new TransferQueue(session, { blockingSmallIo: true });
    await up.upload([local], '/reroute');
    await within(up.idle(), 60_000, 'the upload');
    // Listed small, then grown: the small attempt hands it to the streamed way, and that
    // attempt (not the small one that ended) must own Pause. The proxy makes it slow.
    const grown = randomBytes(4 * 1024 * 1024);
    const { proxy, s } = await slowDownloads(1024 * 1024);
    try {
      const down = new TransferQueue(s, { concurrency: 1 });
      down.on((e) => {
        if (e.kind === 'added') writeFileSync(path.join(home, 'reroute', 'reroute', 's0004.bin'), grown);
      });
      const back = path.join(work, 'reroute-back');
      const added = await down.download(['/reroute/reroute'], back);
      const id = added.find((t) => t.name === 's0004.bin')!.id;
      await waitFor(() => down.get(id)!.state === 'active' && down.get(id)!.bytes > 256 * 1024, 20_000, 'the streamed download under way');
      down.pause(id);
      await waitFor(() => down.get(id)!.state === 'paused', 5000, 'paused');
      // Paused means nothing moves any more: not the row's bytes, not the proxy's.
      await new Promise((r) => setTimeout(r, 200));
      const bytes = down.get(id)!.bytes;
      const wire = proxy.downstreamBytes;
      await new Promise((r) => setTimeout(r, 600));
      expect(down.get(id)!.state).toBe('paused');
      expect(down.get(id)!.bytes).toBe(bytes);
      expect(proxy.downstreamBytes).toBe(wire);
      expect(await exists(path.join(back, 'reroute', 's0004.bin'))).toBe(false);
      proxy.release();
      down.resume(id);
      await within(down.idle(), 30_000, 'the resumed download');
      expect(down.get(id)).toMatchObject({ state: 'done', verified: true });
      expect((await readFile(path.join(back, 'reroute', 's0004.bin'))).equals(grown)).toBe(true);
      expect(down.list().filter((t) => t.state !== 'done')).toEqual([]);
    } finally {
      s.close();
    }
  });
});

describe('pausing one small download of a batch', () => {
  it('lets its neighbours on the same connection go on: none is retried, and it resumes intact', async () => {
    const remote = path.join(home, 'abandon');
    await mkdir(remote, { recursive: true });
    const bodies = Array.from({ length: 40 }, () => randomBytes(16 * 1024));
    await Promise.all(bodies.map((b, i) => writeFile(path.join(remote, `f${String(i).padStart(2, '0')}.bin`), b)));
    // About 2.5 s for the 640 KiB: replies are still on their way when Pause comes.
    const { proxy, s } = await slowDownloads(256 * 1024);
    try {
      const down = new TransferQueue(s, { concurrency: 1 });
      const back = path.join(work, 'abandon-back');
      await down.download(['/abandon'], back);
      const target = await waitFor(
        () => {
          const list = down.list();
          if (list.filter((t) => t.state === 'done').length < 3) return undefined;
          return list.find((t) => t.state === 'active');
        },
        20_000,
        'a file being fetched',
      );
      down.pause(target.id);
      await within(down.idle(), 30_000, 'the others');
      expect(down.get(target.id)!.state).toBe('paused');
      expect(await exists(path.join(back, 'abandon', target.name))).toBe(false);
      const others = down.list().filter((t) => t.id !== target.id);
      expect(others.filter((t) => t.state !== 'done')).toEqual([]);
      // Closing the shared connection would have failed every request on it, and each
      // of those would have been tried again.
      expect(others.filter((t) => t.attempts !== 1).map((t) => t.name)).toEqual([]);
      proxy.release();
      down.resume(target.id);
      await within(down.idle(), 30_000, 'the resumed file');
      expect(down.get(target.id)).toMatchObject({ state: 'done', verified: true });
      for (const [i, b] of bodies.entries()) {
        expect((await readFile(path.join(back, 'abandon', `f${String(i).padStart(2, '0')}.bin`))).equals(b)).toBe(true);
      }
    } finally {
      s.close();
    }
  });
});

describe('writing a small download', () => {
  it.each([false, true])('leaves no partial behind when the rename fails (blocking: %s)', async (blocking) => {
    const dir = path.join(work, `rename-fails-${blocking}`);
    const target = path.join(dir, 'taken');
    // The target became a non-empty folder: renaming a file over it fails.
    await mkdir(path.join(target, 'inside'), { recursive: true });
    await expect(writeSmallFile(target, Buffer.from('data'), 1_600_000_000_000, blocking)).rejects.toMatchObject({
      code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/),
    });
    expect(await readdir(dir)).toEqual(['taken']);
    expect(path.basename(partialPathFor(target))).not.toBe('taken');
  });
});
