/**
 * A dropped connection mid-upload: ferryd is killed with SIGKILL (a crash, a power cut),
 * stays down for a moment, and comes back on the same root and the same port. The queue
 * must log in again by itself, resume the big file from what the server kept, finish
 * the rest, and every file must arrive intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { randomFile, sha256File, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import type { FerryError } from '../../shared/common/errors.js';

const MiB = 1024 * 1024;
const alice: TestUser = { name: 'alice', password: 'alice pass' };

let server: Ferryd;
let work: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  work = await tempDir('ferry-reconnect-');
});

afterAll(cleanupAll);

async function partialBytes(): Promise<number> {
  const dir = path.join(server.root, 'state', 'partials', alice.name);
  let total = 0;
  for (const n of await readdir(dir).catch(() => [] as string[])) total += (await stat(path.join(dir, n))).size;
  return total;
}

describe('a dropped connection', () => {
  it('server restarted while the session sat idle: the same queue logs in again and carries on (new work, fresh data connections)', async () => {
    const session = await connectSession(server, alice);
    try {
      const queue = new TransferQueue(session); // 4 data connections
      const first = path.join(work, 'idle-first');
      await mkdir(first);
      for (let i = 0; i < 12; i++) await writeFile(path.join(first, `f${i}.txt`), randomBytes(2000 + i));
      await queue.upload([first], '/idle');
      await queue.idle();
      expect(queue.totals().done).toBe(12);

      // Restarted between two transfers: every pooled data connection is now dead.
      const { root, port } = server;
      await server.kill();
      server = await startFerryd({ root, port });
      await waitFor(() => !session.connected, 5000, 'the session to notice');

      const second = path.join(work, 'idle-second');
      await mkdir(second);
      for (let i = 0; i < 12; i++) await writeFile(path.join(second, `g${i}.txt`), randomBytes(3000 + i));
      let timer: NodeJS.Timeout | undefined;
      const work2 = (async () => {
        await queue.upload([second], '/idle');
        await queue.idle();
        await queue.download(['/idle/idle-second'], path.join(work, 'idle-back'));
        await queue.idle();
      })();
      await Promise.race([work2, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`stuck: ${JSON.stringify(queue.totals())}`)), 20_000)))]);
      clearTimeout(timer);
      expect(queue.list().filter((t) => t.state !== 'done')).toEqual([]);
      expect(await treeDigest(path.join(server.root, 'homes', alice.name, 'idle', 'idle-second'))).toEqual(await treeDigest(second));
      expect(await treeDigest(path.join(work, 'idle-back', 'idle-second'))).toEqual(await treeDigest(second));
    } finally {
      session.close();
    }
  });

  it('server killed (SIGKILL) mid-upload and restarted on the same root and port: the upload resumes and completes', async () => {
    const big = path.join(work, 'big.bin');
    const size = 48 * MiB;
    const hash = await randomFile(big, size);
    const small = path.join(work, 'small');
    await mkdir(small);
    for (let i = 0; i < 40; i++) await writeFile(path.join(small, `s${i}.txt`), randomBytes(500 + i * 100));

    // The proxy only paces the traffic (so the kill lands mid-transfer); the server itself
    // dies and comes back on its own port, which is where the proxy sends every connection.
    const proxy = await Proxy.start(server.port);
    proxy.rate = 16 * MiB;
    const session = await connectSession({ ...server, port: proxy.port }, alice);
    const drops: Array<FerryError | undefined> = [];
    session.onDisconnect((err) => drops.push(err));
    try {
      const queue = new TransferQueue(session);
      const added = await queue.upload([big, small], '/drop');
      const bigId = added.find((t) => t.name === 'big.bin')!.id;
      await waitFor(async () => (queue.get(bigId)?.bytes ?? 0) > 12 * MiB && (await partialBytes()) > 0, 20_000, 'the upload to be well under way');

      const { root, port } = server;
      await server.kill();
      await waitFor(() => drops.length > 0, 5000, 'the session to notice');
      expect(session.connected).toBe(false);
      const kept = await partialBytes();
      expect(kept).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 1000)); // down for a while: reconnects fail meanwhile
      server = await startFerryd({ root, port });
      expect(server.port).toBe(port);
      proxy.rate = null;
      proxy.reset();

      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        queue.idle(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not done: ${JSON.stringify(queue.totals())}`)), 30_000))),
      ]);
      clearTimeout(timer);

      const views = queue.list();
      expect(views.filter((t) => t.state !== 'done').map((t) => `${t.name}: ${t.state} ${t.error?.code ?? ''}`)).toEqual([]);
      expect(views.every((t) => t.verified)).toBe(true);
      expect(queue.get(bigId)!.attempts).toBeGreaterThan(1);
      const remote = path.join(server.root, 'homes', alice.name, 'drop');
      expect(await sha256File(path.join(remote, 'big.bin'))).toBe(hash);
      expect(await treeDigest(path.join(remote, 'small'))).toEqual(await treeDigest(small));
      // Resumed from the partial the server kept, not sent again from the start.
      expect(proxy.upstreamBytes).toBeLessThan(size - kept + 2 * MiB);
      // The session is usable again for browsing too.
      expect(session.connected).toBe(true);
      expect((await session.list('/drop')).entries.map((e) => e.name).sort()).toEqual(['big.bin', 'small']);
    } finally {
      session.close();
      await proxy.close();
    }
  });
});
