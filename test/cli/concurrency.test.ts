/**
 * Many clients at once, over TLS: 20 engine sessions, then 20 `ferry` processes, upload
 * and then download their own files at the same time (as two users); every byte must come
 * back as it went.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession } from '../helpers/engine.js';
import { randomFile, sha256File, treeDigest } from '../helpers/files.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { cliFor, expectOk } from './cli-helpers.js';

const CLIENTS = 20;
const users: TestUser[] = [
  { name: 'alice', password: 'alice pass' },
  { name: 'bob', password: 'bob pass' },
];

let work: string;

interface Client {
  readonly i: number;
  readonly user: TestUser;
  readonly dir: string;
  readonly file: string;
  readonly folder: string;
  readonly remote: string;
}

/** Per client: a file (a few KiB to ~3 MiB, so small and multi-chunk transfers mix) and a small folder. */
async function makeClients(tag: string): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const dir = path.join(work, tag, `client-${i}`);
      const file = path.join(dir, `file-${i}.bin`);
      await randomFile(file, 4096 + Math.floor((i / CLIENTS) * 3 * 1024 * 1024) + i);
      const folder = path.join(dir, `folder-${i}`);
      await mkdir(path.join(folder, 'inner'), { recursive: true });
      for (let j = 0; j < 5; j++) await writeFile(path.join(folder, j % 2 ? 'inner' : '', `f${j}.txt`), randomBytes(100 + j * 997));
      return { i, user: users[i % users.length]!, dir, file, folder, remote: `/${tag}/${i}` };
    }),
  );
}

async function expectRoundTrip(server: Ferryd, clients: readonly Client[]): Promise<void> {
  for (const c of clients) {
    const home = path.join(server.root, 'homes', c.user.name);
    const remote = path.join(home, ...c.remote.split('/').filter(Boolean));
    const want = await sha256File(c.file);
    expect(await sha256File(path.join(remote, path.basename(c.file)))).toBe(want);
    expect(await sha256File(path.join(c.dir, 'back', path.basename(c.file)))).toBe(want);
    const tree = await treeDigest(c.folder);
    expect(await treeDigest(path.join(remote, path.basename(c.folder)))).toEqual(tree);
    expect(await treeDigest(path.join(c.dir, 'back', path.basename(c.folder)))).toEqual(tree);
  }
  // (Refused connections are fine: the server caps logins in progress per address, and
  // the engine retries them.)
  expect(server.log()).not.toMatch(/protocol error|put user=\S+ (failed|refused)|auth .* failed/);
}

beforeAll(async () => {
  work = await tempDir('ferry-many-');
});

afterAll(cleanupAll);

describe('20 concurrent clients', () => {
  it('engine: 20 sessions upload a file and a folder each, then download them, all at once', async () => {
    const server = await startFerryd({ users });
    const clients = await makeClients('engine');
    const sessions: RemoteSession[] = [];
    try {
      for (const c of clients) sessions.push(await connectSession(server, c.user));
      const started = Date.now();
      const queues = sessions.map((s) => new TransferQueue(s));
      await Promise.all(queues.map((q, n) => q.upload([clients[n]!.file, clients[n]!.folder], clients[n]!.remote).then(() => q.idle())));
      await Promise.all(
        queues.map((q, n) => {
          const c = clients[n]!;
          const names = [path.basename(c.file), path.basename(c.folder)].map((b) => `${c.remote}/${b}`);
          return q.download(names, path.join(c.dir, 'back')).then(() => q.idle());
        }),
      );
      for (const q of queues) {
        expect(q.list().map((t) => `${t.name}: ${t.state}`)).toEqual(q.list().map((t) => `${t.name}: done`));
        expect(q.list().every((t) => t.verified)).toBe(true);
      }
      console.log(`20 engine sessions: put + get of ${CLIENTS * 6} files in ${Date.now() - started} ms`);
      await expectRoundTrip(server, clients);
    } finally {
      for (const s of sessions) s.close();
    }
  });

  // Also guards the server's login throttle: it once counted every login in flight as a
  // failure, so the 11th of 20 honest logins at once was locked out for 15 minutes
  // (ERATELIMIT). Own server, so that a lockout could not spill into the other tests.
  it('CLI: 20 ferry processes started at once each put a file and a folder, then get them back', async () => {
    const server = await startFerryd({ users });
    const cli = cliFor(server, await tempDir('ferry-config-'));
    // Pin the key first, so 20 first connections do not race to write known_hosts.
    expectOk(await cli.run(users[0]!, ['ls']));
    const clients = await makeClients('cli');
    const started = Date.now();
    const puts = await Promise.all(clients.map((c) => cli.run(c.user, ['put', c.file, c.folder, c.remote], { timeoutMs: 120_000 })));
    for (const r of puts) expectOk(r);
    const gets = await Promise.all(
      clients.map((c) =>
        cli.run(c.user, ['get', `${c.remote}/${path.basename(c.file)}`, `${c.remote}/${path.basename(c.folder)}`, path.join(c.dir, 'back')], {
          timeoutMs: 120_000,
        }),
      ),
    );
    for (const r of gets) expectOk(r);
    console.log(`20 ferry processes: put + get of ${CLIENTS * 6} files in ${Date.now() - started} ms`);
    await expectRoundTrip(server, clients);
  }, 300_000); // its puts and gets may each take up to 120 s on a loaded machine
});
