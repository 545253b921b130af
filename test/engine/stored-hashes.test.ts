/**
 * Stored hashes through the engine against a real ferryd: files uploaded by the transfer
 * queue (small ones whole, a big one streamed) are listed with their XXH3-128 (the default
 * check) or SHA-256 (asked for), Remote.hash computes the hash of a changed file with
 * either algorithm (which listings then carry), refuses what it must, and an aborted
 * signal cancels it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, failure, within } from '../helpers/engine.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import { digestOfBytes } from '../../shared/node/checksums.js';

const alice: TestUser = { name: 'alice', password: 'alice hashes pass' };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** XXH3-128 as hash-wasm computes it (its hex is checked against xxhsum's in test/shared/checksums.test.ts). */
const xxh = async (b: Buffer | string): Promise<string> => (await digestOfBytes(Buffer.from(b), 'xxh128')).hex;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: Ferryd;
let session: RemoteSession;
let work: string;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice], env: { FERRYD_LIMITS: JSON.stringify({ maxHashesPerSession: 1 }) } });
  session = await connectSession(server, alice);
  work = await tempDir('ferry-hashes-');
  home = path.join(server.root, 'homes', alice.name);
});

afterAll(async () => {
  session.close();
  await cleanupAll();
});

describe('stored hashes through the engine', () => {
  it('says listings carry hashes, and lists the uploaded files with the XXH3-128 of their bytes (the default check)', async () => {
    expect(session.capabilities).toMatchObject({ serverHash: true, listedHashes: true, checks: ['sha256', 'xxh128'] });
    const local = path.join(work, 'up');
    await mkdir(local, { recursive: true });
    const files = new Map<string, Buffer>([
      ['small.txt', Buffer.from('small file\n')],
      ['empty.txt', Buffer.alloc(0)],
      ['big.bin', randomBytes(3 * 1024 * 1024 + 1)],
    ]);
    for (const [name, data] of files) await writeFile(path.join(local, name), data);
    const queue = new TransferQueue(session);
    await queue.upload([local], '/');
    await within(queue.idle(), 60_000, 'the upload');
    expect(queue.list().filter((t) => t.state !== 'done')).toEqual([]);
    expect(queue.list().map((t) => t.check)).toEqual(['xxh128', 'xxh128', 'xxh128']);
    const { entries } = await session.list('/up');
    for (const [name, data] of files) {
      const entry = entries.find((e) => e.name === name);
      expect(entry, name).toMatchObject({ type: 'file', size: data.length, xxh128: await xxh(data) });
      expect(entry).not.toHaveProperty('sha256');
    }
    expect((await session.stat('/up/big.bin')).xxh128).toBe(await xxh(files.get('big.bin')!));
    // A walk gives the same digests to a client that asks for them.
    const records = [];
    for await (const page of session.walk('/up')) records.push(...page.records);
    expect(records.find((r) => r[0] === 'small.txt')?.[5]).toBe(await xxh(files.get('small.txt')!));
  });

  it('with SHA-256 asked for, uploads are checked and listed with their SHA-256', async () => {
    const local = path.join(work, 'up256');
    await mkdir(local, { recursive: true });
    const files = new Map<string, Buffer>([
      ['small.txt', Buffer.from('small file, sha\n')],
      ['big.bin', randomBytes(3 * 1024 * 1024 + 7)],
    ]);
    for (const [name, data] of files) await writeFile(path.join(local, name), data);
    const queue = new TransferQueue(session, { check: 'sha256' });
    await queue.upload([local], '/');
    await within(queue.idle(), 60_000, 'the upload');
    expect(queue.list().map((t) => [t.state, t.check])).toEqual([
      ['done', 'sha256'],
      ['done', 'sha256'],
    ]);
    const { entries } = await session.list('/up256');
    for (const [name, data] of files) {
      expect(entries.find((e) => e.name === name), name).toMatchObject({ sha256: sha(data) });
      expect(entries.find((e) => e.name === name)).not.toHaveProperty('xxh128');
    }
  });

  it('hash(): a file changed behind the server has no listed hash until asked for it', async () => {
    const file = path.join(home, 'up', 'small.txt');
    await writeFile(file, 'changed!!!!\n');
    const before = (await session.list('/up')).entries.find((e) => e.name === 'small.txt');
    expect(before).not.toHaveProperty('sha256');
    expect(before).not.toHaveProperty('xxh128');
    await sleep(60);
    const hashed = await session.hash('/up/small.txt');
    expect(hashed).toMatchObject({ digest: { algorithm: 'sha256', hex: sha(await readFile(file)) }, size: 12 });
    expect(typeof hashed.mtime).toBe('number');
    expect((await session.list('/up')).entries.find((e) => e.name === 'small.txt')).toHaveProperty('sha256', sha('changed!!!!\n'));
    // Asked for the other algorithm, it computes that one and stores it in its place.
    expect((await session.hash('/up/small.txt', undefined, 'xxh128')).digest).toEqual({ algorithm: 'xxh128', hex: await xxh('changed!!!!\n') });
    const after = (await session.list('/up')).entries.find((e) => e.name === 'small.txt');
    expect(after).toHaveProperty('xxh128', await xxh('changed!!!!\n'));
    expect(after).not.toHaveProperty('sha256');
  });

  it('hash(): EISDIR, ENOENT and EACCES as the protocol says', async () => {
    expect((await failure(session.hash('/up'))).code).toBe('EISDIR');
    expect((await failure(session.hash('/up/none'))).code).toBe('ENOENT');
    expect((await failure(session.hash('../../etc/passwd'))).code).toBe('EACCES');
  });

  it('hash(): an aborted signal cancels a hash that waits for its turn', async () => {
    const big = path.join(home, 'h.bin');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 3));
    await writeFile(path.join(home, 'i.bin'), 'i');
    await sleep(60);
    const first = session.hash('/h.bin');
    const controller = new AbortController();
    const second = session.hash('/i.bin', controller.signal);
    await sleep(5);
    controller.abort();
    const err = await second.then(
      () => null,
      (e: unknown) => e,
    );
    // It either waited behind the first (cancelled) or had already finished.
    if (err !== null) expect(err).toMatchObject({ code: 'ECANCELED' });
    expect((await first).digest.hex).toBe(sha(Buffer.alloc(64 * 1024 * 1024, 3)));
    expect((await failure(session.hash('/i.bin', AbortSignal.abort()))).code).toBe('ECANCELED');
  });
});
