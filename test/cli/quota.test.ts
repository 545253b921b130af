/**
 * Quotas through the CLI and the engine: an upload that cannot fit is refused with EQUOTA
 * and leaves nothing behind, and uploads racing from several clients never store more
 * than the quota together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { duBytes, randomFile, sha256File, waitFor } from '../helpers/files.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { Proxy } from '../helpers/proxy.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const MiB = 1024 * 1024;
const carol: TestUser = { name: 'carol', password: 'carol pass', quota: '1MiB' };
const dave: TestUser = { name: 'dave', password: 'dave pass', quota: '1MiB' };
const erin: TestUser = { name: 'erin', password: 'erin pass', quota: '1MiB' };
const frank: TestUser = { name: 'frank', password: 'frank pass', quota: '10MiB' };

let server: Ferryd;
let cli: Cli;
let work: string;
const home = (user: TestUser): string => path.join(server.root, 'homes', user.name);
const partials = (user: TestUser): string => path.join(server.root, 'state', 'partials', user.name);

async function df(user: TestUser): Promise<{ quota: number; used: number; free: number; entries: number; maxEntries: number | null }> {
  return JSON.parse(expectOk(await cli.run(user, ['df', '--json'])).stdout);
}

/** Files left in the user's partial folder (uploads that were neither committed nor cleaned up). */
async function partialBytes(user: TestUser): Promise<number> {
  return duBytes(partials(user));
}

beforeAll(async () => {
  server = await startFerryd({ users: [carol, dave, erin, frank], plain: true });
  cli = cliFor(server, await tempDir('ferry-config-'));
  work = await tempDir('ferry-quota-');
});

afterAll(cleanupAll);

describe('one upload bigger than the quota', () => {
  it('put of a file bigger than the quota is EQUOTA and leaves nothing on the server', async () => {
    const big = path.join(work, 'big.bin');
    await randomFile(big, 2 * MiB);
    const line = expectError(await cli.run(carol, ['put', big, '/dest']), 'EQUOTA');
    expect(line).toMatch(/quota/);
    expect(await readdir(home(carol))).toEqual([]);
    expect(await partialBytes(carol)).toBe(0);
    expect(await df(carol)).toEqual({ quota: MiB, used: 0, free: MiB, entries: 0, maxEntries: 1_000_000 });
  });

  it('a folder that does not fit is refused before any folder or file is created', async () => {
    const tree = path.join(work, 'tree');
    await mkdir(path.join(tree, 'inner'), { recursive: true });
    await randomFile(path.join(tree, 'a.bin'), 600 * 1024);
    await randomFile(path.join(tree, 'inner', 'b.bin'), 600 * 1024);
    expectError(await cli.run(carol, ['put', tree, '/dest']), 'EQUOTA');
    expect(await readdir(home(carol))).toEqual([]);
    expect(await partialBytes(carol)).toBe(0);
  });

  it('the server refuses it too when the client does not check first (engine, checkQuota off)', async () => {
    const session = await connectSession(server, carol);
    try {
      const queue = new TransferQueue(session, { checkQuota: false });
      await queue.upload([path.join(work, 'big.bin')], '/');
      await queue.idle();
      const [t] = queue.list();
      expect(t?.state).toBe('failed');
      expect(t?.error?.code).toBe('EQUOTA');
      expect(t?.error?.details).toMatchObject({ need: 2 * MiB });
    } finally {
      session.close();
    }
    expect(await readdir(home(carol))).toEqual([]);
    expect(await partialBytes(carol)).toBe(0);
    expect((await df(carol)).used).toBe(0);
  });

  it('exactly the quota fits; one more byte is refused', async () => {
    const exact = path.join(work, 'exact.bin');
    await randomFile(exact, MiB);
    expectOk(await cli.run(carol, ['put', exact, '/']));
    expect(await sha256File(path.join(home(carol), 'exact.bin'))).toBe(await sha256File(exact));
    expect(await df(carol)).toEqual({ quota: MiB, used: MiB, free: 0, entries: 1, maxEntries: 1_000_000 });
    const one = path.join(work, 'one.txt');
    await writeFile(one, 'x');
    expectError(await cli.run(carol, ['put', one, '/']), 'EQUOTA');
    expectOk(await cli.run(carol, ['rm', '/exact.bin']));
    expect(await df(carol)).toMatchObject({ quota: MiB, used: 0, free: MiB });
  });
});

describe('what is already on the server counts', () => {
  it('an interrupted put resumes although the whole file is more than what is free (its partial is already counted)', async () => {
    const file = path.join(work, 'resume-near-quota.bin');
    const size = 8 * MiB;
    const hash = await randomFile(file, size);
    const proxy = await Proxy.start(server.port);
    const viaProxy = cliFor({ cliArgs: (u) => ['--port', String(proxy.port), '--user', u, '--plain'] }, await tempDir('ferry-config-'));
    proxy.stallAfter = 5 * MiB;
    const first = viaProxy.start(frank, ['put', file, '/']);
    await waitFor(async () => (await partialBytes(frank)) >= 3 * MiB, 20_000, 'a partial upload');
    first.child.kill('SIGKILL');
    await first.result;
    proxy.cut();
    await waitFor(() => /put user=frank interrupted/.test(server.log()), 10_000, 'the server to keep the partial');
    const kept = await partialBytes(frank);
    const before = await df(frank);
    expect(before.used).toBe(kept); // the partial counts against the quota…
    expect(before.free).toBeLessThan(size); // …so the whole file no longer "fits"
    expectOk(await cli.run(frank, ['put', file, '/']));
    expect(await sha256File(path.join(home(frank), 'resume-near-quota.bin'))).toBe(hash);
    expect(await df(frank)).toMatchObject({ quota: 10 * MiB, used: size, free: 2 * MiB });
    await proxy.close();
  });

  it('--skip-existing is not refused for files that are already there and will be skipped', async () => {
    // frank: 8 MiB used of 10. Putting the same 8 MiB again with --skip-existing needs nothing.
    const file = path.join(work, 'resume-near-quota.bin');
    expectOk(await cli.run(frank, ['put', '--skip-existing', file, '/']));
    expect((await df(frank)).used).toBe(8 * MiB);
    // Without it the file would be replaced, which needs its size free while the old one is kept: refused.
    expectError(await cli.run(frank, ['put', file, '/']), 'EQUOTA');
  });
});

describe('uploads racing for the same quota', () => {
  it('several CLI clients: each fits alone, together they do not; the total stored never exceeds the quota', async () => {
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = path.join(work, `race-${i}.bin`);
      await randomFile(f, 400 * 1024);
      files.push(f);
    }
    const results = await Promise.all(files.map((f) => cli.run(dave, ['put', f, '/race'])));
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code !== 0);
    for (const r of refused) expectError(r, 'EQUOTA');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(2);
    const stored = await duBytes(home(dave));
    expect(stored).toBe(ok.length * 400 * 1024);
    expect(stored).toBeLessThanOrEqual(MiB);
    expect(await partialBytes(dave)).toBe(0);
    const usage = await df(dave);
    expect(usage.used).toBe(stored);
    expect(usage.free).toBe(MiB - stored);
  });

  it('several engine sessions uploading at once with no client-side check: the server alone keeps the total within the quota', async () => {
    const sessions: RemoteSession[] = [];
    try {
      for (let i = 0; i < 6; i++) sessions.push(await connectSession(server, erin));
      const files: string[] = [];
      for (let i = 0; i < 6; i++) {
        const f = path.join(work, `engine-race-${i}.bin`);
        await randomFile(f, 300 * 1024);
        files.push(f);
      }
      const queues = sessions.map((s) => new TransferQueue(s, { checkQuota: false }));
      await Promise.all(queues.map((q, i) => q.upload([files[i]!], '/').then(() => q.idle())));
      const states = queues.map((q) => q.list()[0]!);
      const done = states.filter((t) => t.state === 'done');
      expect(done.length).toBe(3); // 3 × 300 KiB fit in 1 MiB, a fourth does not
      for (const t of states.filter((t) => t.state !== 'done')) {
        expect(t.state).toBe('failed');
        expect(t.error?.code).toBe('EQUOTA');
      }
      const stored = await duBytes(home(erin));
      expect(stored).toBe(3 * 300 * 1024);
      expect(await partialBytes(erin)).toBe(0);
      for (const t of done) expect(await sha256File(path.join(home(erin), path.basename(t.localPath)))).toBe(await sha256File(t.localPath));
    } finally {
      for (const s of sessions) s.close();
    }
  });
});
