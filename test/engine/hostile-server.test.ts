/**
 * What a hostile server can make a download do, against a scripted fake ferryd: a folder
 * nested without end and a download of too many files are refused before any file moves
 * (ETOOBIG), and a body that does not match the size its header announced fails EPROTO
 * with nothing kept on the disk. A file that changed since it was listed, told honestly,
 * is downloaded at its new size.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DOWNLOAD_LIMITS, planDownload } from '../../engine/queue/plan.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { FerryError } from '../../shared/common/errors.js';
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';
import { within } from '../helpers/engine.js';
import { HostileFerryd, dirEntry, fileEntry, sendFile, sha256Hex, type HostileScript } from '../helpers/hostile-ferryd.js';

let server: HostileFerryd | undefined;
let session: RemoteSession | undefined;

afterEach(async () => {
  session?.close();
  await server?.close();
  server = session = undefined;
});
afterAll(cleanupAll);

async function connect(script: HostileScript): Promise<{ fake: HostileFerryd; remote: RemoteSession }> {
  server = await HostileFerryd.start(script);
  session = await server.connect();
  return { fake: server, remote: session };
}

async function failure(promise: Promise<unknown>): Promise<FerryError> {
  const err = await promise.then(
    () => new Error('it succeeded'),
    (e: unknown) => e,
  );
  if (!(err instanceof FerryError)) throw err;
  return err;
}

/** Every name under `dir`, files and folders, relative. */
async function namesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe('folder downloads are bounded', () => {
  it('the limits are the documented ones', () => {
    expect(DOWNLOAD_LIMITS).toEqual({ depth: 64, entries: 100_000 });
  });

  it('a folder nested without end is refused at the depth limit (ETOOBIG), having listed no further, and no file moves', async () => {
    // Every folder holds one file and one folder: the tree never ends.
    const { fake, remote } = await connect({
      entry: (p) => (p === '/abyss' ? dirEntry('abyss') : null),
      list: (p) => (p.startsWith('/abyss') ? [dirEntry('d'), fileEntry('f.txt', 3)] : null),
    });
    const local = await tempDir();
    const queue = new TransferQueue(remote);
    const err = await failure(queue.download(['/abyss'], local));
    expect(err.code).toBe('ETOOBIG');
    expect(err.details).toEqual({ limit: 'depth', max: 64 });
    expect(err.message).toMatch(/\/abyss is nested more than 64 folders deep/);
    // The root and its 64 levels of subfolders were listed; the 65th level was not.
    expect(fake.count('list')).toBe(65);
    expect(fake.count('get') + fake.count('read')).toBe(0);
    expect(queue.list()).toEqual([]);
  });

  it('a download of more files and folders than the limit is refused (ETOOBIG); one at the limit is planned', async () => {
    // /wide holds 3 folders of 10 files: with /wide itself, 34 files and folders.
    const script: HostileScript = {
      entry: (p) => (p === '/wide' ? dirEntry('wide') : null),
      list: (p) =>
        p === '/wide'
          ? ['a', 'b', 'c'].map(dirEntry)
          : /^\/wide\/[abc]$/.test(p)
            ? Array.from({ length: 10 }, (_, i) => fileEntry(`f${i}.bin`, 100))
            : null,
    };
    const { fake, remote } = await connect(script);
    const atLimit = await planDownload(remote, ['/wide'], await tempDir(), { depth: 64, entries: 34 });
    expect(atLimit).toHaveLength(30);

    const local = await tempDir();
    const queue = new TransferQueue(remote, { downloadLimits: { depth: 64, entries: 33 } });
    const lists = fake.count('list');
    const err = await failure(queue.download(['/wide'], local));
    expect(err.code).toBe('ETOOBIG');
    expect(err.details).toEqual({ limit: 'entries', max: 33 });
    expect(err.message).toMatch(/\/wide holds more than 33 files and folders/);
    // Refused while listing the last folder, before any file was asked for.
    expect(fake.count('list') - lists).toBe(4);
    expect(fake.count('get') + fake.count('read')).toBe(0);
    expect(queue.list()).toEqual([]);
  });
});

describe('a download is exactly the size the server announced', () => {
  const BIG = WHOLE_FILE_MAX + 44_000; // streamed with `get`, not read whole
  const honest = randomBytes(BIG);

  /** One file, /f.bin, listed at `listed` bytes; `get` and `read` answered by the test. */
  function oneFile(listed: number, answers: Pick<HostileScript, 'get' | 'read'>): HostileScript {
    return { entry: (p) => (p === '/f.bin' ? fileEntry('f.bin', listed) : null), list: () => null, ...answers };
  }

  async function downloadOne(script: HostileScript): Promise<{ queue: TransferQueue; local: string; fake: HostileFerryd }> {
    const { fake, remote } = await connect(script);
    const local = await tempDir();
    const queue = new TransferQueue(remote, { retries: 0 });
    await queue.download(['/f.bin'], local);
    await within(queue.idle(), 20_000, 'the download');
    return { queue, local, fake };
  }

  it('a body longer than its header announced fails EPROTO before it is read, and nothing is kept', async () => {
    const { queue, local } = await downloadOne(
      oneFile(BIG, {
        // Announces the listed size, then sends 16 MiB.
        get: (r, send) => send({ type: 'data', id: r.id, offset: 0, total: BIG, mtime: 0 }, Buffer.alloc(16 * 1024 * 1024, 1)),
      }),
    );
    const [row] = queue.list();
    expect(row).toMatchObject({ state: 'failed', error: { code: 'EPROTO' } });
    expect(row!.error!.message).toMatch(/download header announcing bytes 0 to \d+ of \/f\.bin with a body of 16777216/);
    expect(await namesUnder(local)).toEqual([]); // no file, no hidden partial
  });

  it('a body shorter than its header announced fails EPROTO, and nothing is kept', async () => {
    const { queue, local } = await downloadOne(
      oneFile(BIG, {
        get: async (r, send) => {
          await send({ type: 'data', id: r.id, offset: 0, total: BIG, mtime: 0 }, honest.subarray(0, 1000));
          await send({ type: 'ok', id: r.id, sha256: sha256Hex(honest.subarray(0, 1000)) });
        },
      }),
    );
    expect(queue.list()[0]).toMatchObject({ state: 'failed', error: { code: 'EPROTO' } });
    expect(await namesUnder(local)).toEqual([]);
  });

  it('a whole read whose body is bigger than the client asked for fails EPROTO without being buffered', async () => {
    const { queue, local, fake } = await downloadOne(
      oneFile(10, {
        read: (r, send) => {
          const body = Buffer.alloc(8 * 1024 * 1024, 2);
          return send({ type: 'ok', id: r.id, path: r.path, fileSize: body.length, mtime: 0, sha256: sha256Hex(body) }, body);
        },
      }),
    );
    expect(fake.count('read')).toBe(1);
    expect(queue.list()[0]).toMatchObject({ state: 'failed', error: { code: 'EPROTO' } });
    expect(queue.list()[0]!.error!.message).toMatch(/more than the 262144 asked for/);
    expect(await namesUnder(local)).toEqual([]);
  });

  it('a file that grew since it was listed, announced honestly, is downloaded at its new size (the row shows it)', async () => {
    const { queue, local } = await downloadOne(oneFile(1000, { get: (r, send) => sendFile(send, r.id, honest, r.offset) }));
    expect(queue.list()[0]).toMatchObject({ state: 'done', verified: true, size: BIG, bytes: BIG });
    expect((await readFile(path.join(local, 'f.bin'))).equals(honest)).toBe(true);
  });

  it('a small file that changed since it was listed, read whole, is kept at the size read', async () => {
    const now = randomBytes(700);
    const { queue, local } = await downloadOne(
      oneFile(10, { read: (r, send) => send({ type: 'ok', id: r.id, path: r.path, fileSize: now.length, mtime: 0, sha256: sha256Hex(now) }, now) }),
    );
    expect(queue.list()[0]).toMatchObject({ state: 'done', verified: true, size: 700 });
    expect((await readFile(path.join(local, 'f.bin'))).equals(now)).toBe(true);
  });
});
