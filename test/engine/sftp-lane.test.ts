/**
 * The SFTP lane's fast paths against a real sshd: a small upload in three round trips that
 * still honours the conflict policy, the mode and resume; downloads through reused read
 * buffers compared byte for byte; the server's hashes through one long-lived channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import { toFerryError } from '../../shared/common/errors.js';
import { createStreamHash } from '../../shared/node/hash-worker.js';
import type { WriteRequest } from '../../engine/remote/remote.js';
import { SftpCalls } from '../../engine/sftp/sftp-calls.js';
import { SftpLane, partialName } from '../../engine/sftp/sftp-lane.js';
import { ServerHash, probeServerHash } from '../../engine/sftp/server-hash.js';
import { SftpRemote, type SftpOptions } from '../../engine/sftp/sftp-remote.js';
import { sshConnect, type SshConnection } from '../../engine/sftp/ssh-connect.js';
import { resolveSshTarget } from '../../engine/sftp/ssh-target.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';
import { randomFile, sha256, treeDigest } from '../helpers/files.js';

let sshd: TestSshd;
let remote: SftpRemote;
let ssh: SshConnection;
let local: string;

function options(extra: Partial<SftpOptions> = {}): SftpOptions {
  return { host: sshd.host, port: sshd.port, user: sshd.user, home: sshd.clientHome, agent: false, identityFile: sshd.keyFile, verifyHostKey: () => undefined, ...extra };
}

beforeAll(async () => {
  sshd = await startTestSshd();
  remote = await SftpRemote.connect(options());
  ssh = await sshConnect(await resolveSshTarget(options()), options());
  local = await tempDir('ferry-sftp-lane-');
}, 60_000);

afterAll(async () => {
  remote?.close();
  ssh?.client.end();
  await sshd?.stop();
  await cleanupAll();
});

/** A lane (size check, posix-rename) whose SFTP requests are logged as they are sent and answered. */
async function loggedLane(): Promise<{ lane: SftpLane; log: string[] }> {
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => ssh.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
  const calls = new SftpCalls(sftp);
  const log: string[] = [];
  const logged = new Proxy(calls, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        log.push(`>${String(key)}`);
        return result.finally(() => log.push(`<${String(key)}`));
      };
    },
  });
  return { lane: new SftpLane(logged, { hash: null, posixRename: true }), log };
}

function put(lane: SftpLane, request: WriteRequest, data: Buffer): ReturnType<SftpLane['put']> {
  return lane.put(
    request,
    async function* () {
      yield data;
    },
    createStreamHash(data.length),
  );
}

/** The log cut into round trips: the requests sent before the client waited for an answer. */
function roundTrips(log: readonly string[]): string[][] {
  const trips: string[][] = [];
  let sending = false;
  for (const entry of log) {
    if (entry.startsWith('>')) {
      if (!sending) trips.push([]);
      sending = true;
      trips.at(-1)!.push(entry.slice(1));
    } else {
      sending = false;
    }
  }
  return trips;
}

describe('a small upload over SFTP', () => {
  it('overwrites in three round trips: open (and a look at the old mode); write, mode, size and close together; rename', async () => {
    const { lane, log } = await loggedLane();
    try {
      const target = path.join(sshd.home, 'three.txt');
      await writeFile(target, 'old');
      await chmod(target, 0o600);
      const data = randomBytes(4096);
      const done = await put(lane, { path: target, offset: 0, total: data.length, exists: 'overwrite', mode: 0o640, mtime: 1_700_000_000_000 }, data);
      expect(done).toMatchObject({ path: target, size: 4096, skipped: false });
      expect(roundTrips(log)).toEqual([['lstatOrNull', 'open'], ['write', 'fsetstat', 'fstat', 'close'], ['posixRename']]);
      expect(await readFile(target)).toEqual(data);
      const st = await stat(target);
      // The replaced file's bits, not the source's (unless preserveMode).
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.mtimeMs).toBe(1_700_000_000_000);
      await put(lane, { path: target, offset: 0, total: data.length, exists: 'overwrite', mode: 0o640, preserveMode: true }, data);
      expect((await stat(target)).mode & 0o777).toBe(0o640);
    } finally {
      lane.destroy();
    }
  });

  it('still refuses to overwrite when told not to, skips when told to, and a folder in the way fails without a partial left', async () => {
    const { lane } = await loggedLane();
    try {
      const target = path.join(sshd.home, 'kept.txt');
      await writeFile(target, 'kept');
      const data = Buffer.from('new');
      const refused = await put(lane, { path: target, offset: 0, total: 3, exists: 'fail' }, data).catch((e: unknown) => toFerryError(e));
      expect(toFerryError(refused).code).toBe('EEXIST');
      expect(await put(lane, { path: target, offset: 0, total: 3, exists: 'skip' }, data)).toMatchObject({ skipped: true });
      expect(await readFile(target, 'utf8')).toBe('kept');

      const folder = path.join(sshd.home, 'in-the-way');
      await mkdir(folder);
      const blocked = await put(lane, { path: folder, offset: 0, total: 3, exists: 'overwrite' }, data).catch((e: unknown) => toFerryError(e));
      expect(toFerryError(blocked).code).toBe('EISDIR');
      expect((await stat(folder)).isDirectory()).toBe(true);
      expect((await readdir(sshd.home)).filter((n) => n.startsWith('.in-the-way'))).toEqual([]);
    } finally {
      lane.destroy();
    }
  });

  it('resumes a partial, and a partial of the wrong size is refused with the size the server holds', async () => {
    const { lane } = await loggedLane();
    try {
      const target = path.join(sshd.home, 'resumed.bin');
      const data = randomBytes(100_000);
      // No mtime (0 in the partial's name): the server's account could not set one on a partial
      // the tests' account made.
      const request = { path: target, total: data.length, exists: 'overwrite' } as const;
      // A partial holding the first 40,000 bytes, as an interrupted upload leaves it.
      const held = partialName(target, data.length, 0);
      await writeFile(held, data.subarray(0, 40_000));
      await chmod(held, 0o666); // the tests may run as another account than the server's
      expect((await remote.uploadInfo(target, { size: data.length, mtime: 0 })).partial).toBe(40_000);
      const wrong = await put(lane, { ...request, offset: 30_000 }, data.subarray(30_000)).catch((e: unknown) => toFerryError(e));
      expect(toFerryError(wrong)).toMatchObject({ code: 'EOFFSET', details: { offset: 40_000 } });
      await put(lane, { ...request, offset: 40_000 }, data.subarray(40_000));
      expect(await readFile(target)).toEqual(data);
    } finally {
      lane.destroy();
    }
  });
});

describe('downloads through reused read buffers', () => {
  it('a buffer is reused only once the sink is done with it, however slow the sink', async () => {
    const source = path.join(sshd.home, 'slow-sink.bin');
    const data = randomBytes(12 * 1024 * 1024 + 5);
    await writeFile(source, data);
    const { lane } = await loggedLane();
    try {
      const got: Buffer[] = [];
      await lane.get(source, 0, {
        start: () => undefined,
        // Looks at the bytes only after other replies have had time to arrive.
        chunk: async (bytes) => {
          await new Promise((r) => setTimeout(r, 2));
          got.push(Buffer.from(bytes));
        },
      });
      expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    } finally {
      lane.destroy();
    }
  }, 60_000);

  it('many files of many sizes arrive byte for byte, four lanes at once', async () => {
    const tree = path.join(sshd.home, 'many');
    await mkdir(tree);
    // Sizes around the request size (255 KiB) and the window (8 MiB), so buffers are reused
    // across requests, short last pieces and files.
    const sizes = [0, 1, 4096, 255 * 1024 - 1, 255 * 1024, 255 * 1024 + 1, 1024 * 1024 + 7, 3 * 1024 * 1024, 9 * 1024 * 1024 + 13, 20 * 1024 * 1024];
    for (let i = 0; i < 40; i++) await randomFile(path.join(tree, `f${String(i).padStart(2, '0')}.bin`), sizes[i % sizes.length]! + (i >= sizes.length ? i * 97 : 0));
    const back = path.join(local, 'many-back');
    await mkdir(back);
    const queue = new TransferQueue(remote, { concurrency: 4, conflict: 'overwrite' });
    await queue.download([tree], back);
    await queue.idle();
    expect(queue.list().filter((t) => t.state !== 'done' || t.check !== 'sha256')).toEqual([]);
    expect(await treeDigest(path.join(back, 'many'))).toEqual(await treeDigest(tree));
  }, 180_000);
});

describe("the server's SHA-256 through one long-lived channel", () => {
  it('hashes many files at once, odd names included, and a file it cannot read fails alone', async () => {
    const dir = path.join(sshd.home, 'hashed');
    await mkdir(dir);
    const names = [' leading space', 'trailing space ', "it's", '-dash', '$HOME', 'tab\there', 'ünï', 'back\\slash', 'new\nline', ...Array.from({ length: 60 }, (_, i) => `n${i}`)];
    const contents = new Map<string, string>();
    for (const name of names) {
      const body = `${name} ${randomBytes(8).toString('hex')}\n`;
      contents.set(name, body);
      await writeFile(path.join(dir, name), body);
    }
    const hashes = await Promise.all(names.map((n) => remote.hash(path.join(dir, n))));
    expect(hashes.map((h) => h.digest.hex)).toEqual(names.map((n) => sha256(contents.get(n)!)));

    // A file that is gone by the time the server hashes it fails alone; its batch-mates do not.
    const hasher = new ServerHash(ssh.client, (await probeServerHash(ssh.client))!);
    const gone = hasher.hash(path.join(dir, 'missing'), 0).catch((e: unknown) => toFerryError(e).code);
    const fine = hasher.hash(path.join(dir, 'n1'), 0);
    expect(await gone).toBe('EIO');
    expect(await fine).toBe(sha256(contents.get('n1')!));
    // And the channel still serves the next batch.
    expect(await hasher.hash(path.join(dir, 'n2'), 0)).toBe(sha256(contents.get('n2')!));
  }, 60_000);
});
