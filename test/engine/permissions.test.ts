/**
 * Permission bits through the engine, the same checks over Ferry's protocol (a real
 * ferryd) and over SFTP (a real OpenSSH sshd): an upload gives new files and folders the
 * local bits less the server's umask, an overwrite keeps the replaced file's bits unless
 * the upload preserves the source's, listings report the bits, and Remote.chmod sets
 * them (recursively, links skipped), refusing a link itself and bits above 0o777.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Remote } from '../../engine/remote/remote.js';
import { SftpRemote } from '../../engine/sftp/sftp-remote.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { connectSession, failure } from '../helpers/engine.js';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { sftpOptions, startTestSshd, type TestSshd } from '../helpers/sshd.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-perms-pass' };

interface Side {
  readonly remote: Remote;
  /** The remote folder the tests work in. */
  readonly base: string;
  /** The host path of a remote path (both servers run on this machine). */
  host(remotePath: string): string;
}

let server: Ferryd;
let sshd: TestSshd;
const sides: Record<'ferry' | 'sftp', Side> = {} as Record<'ferry' | 'sftp', Side>;

beforeAll(async () => {
  [server, sshd] = await Promise.all([startFerryd({ users: [ALICE], plain: true }), startTestSshd()]);
  const ferryHome = path.join(server.root, 'homes', ALICE.name);
  sides.ferry = { remote: await connectSession(server, ALICE), base: '/perm', host: (p) => path.join(ferryHome, p) };
  sides.sftp = { remote: await SftpRemote.connect(sftpOptions(sshd)), base: path.posix.join(sshd.home, 'perm'), host: (p) => p };
  for (const side of Object.values(sides)) await side.remote.mkdir(side.base, true);
}, 60_000);

afterAll(async () => {
  for (const side of Object.values(sides)) side.remote?.close();
  await sshd?.stop();
  await cleanupAll();
});

const bits = async (file: string): Promise<number> => (await lstat(file)).mode & 0o7777;

async function upload(remote: Remote, locals: string[], dir: string, preserveMode = false): Promise<void> {
  const queue = new TransferQueue(remote, { conflict: 'overwrite' });
  await queue.upload(locals, dir, { preserveMode });
  await queue.idle();
  expect(queue.list().filter((t) => t.state !== 'done')).toEqual([]);
}

describe.each(['ferry', 'sftp'] as const)('permissions over %s', (name) => {
  let side: Side;
  let umask: number;
  let local: string;

  beforeAll(async () => {
    side = sides[name];
    local = await tempDir(`ferry-perms-${name}-`);
    // The server's own umask, as a folder made with 0777 shows it (ferryd: 022 by default).
    const probe = path.posix.join(side.base, 'umask-probe');
    await side.remote.mkdir(probe, false, 0o777);
    umask = ~(await bits(side.host(probe))) & 0o777;
    if (name === 'ferry') expect(umask).toBe(0o022);
  });

  it('an upload gives new files and folders the local bits less the umask', async () => {
    const tree = path.join(local, 'tree');
    await mkdir(path.join(tree, 'private'), { recursive: true });
    await writeFile(path.join(tree, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(tree, 'run.sh'), 0o755);
    await writeFile(path.join(tree, 'notes.txt'), 'notes\n');
    await chmod(path.join(tree, 'notes.txt'), 0o640);
    await writeFile(path.join(tree, 'private', 'big.bin'), Buffer.alloc(WHOLE_FILE_MAX + 1000, 3));
    await chmod(path.join(tree, 'private', 'big.bin'), 0o750);
    await writeFile(path.join(tree, 'private', 'read-only.txt'), 'ro\n');
    await chmod(path.join(tree, 'private', 'read-only.txt'), 0o444);
    await chmod(path.join(tree, 'private'), 0o700);
    await upload(side.remote, [tree], side.base);
    const there = side.host(path.posix.join(side.base, 'tree'));
    expect(await bits(path.join(there, 'run.sh'))).toBe(0o755 & ~umask);
    expect(await bits(path.join(there, 'notes.txt'))).toBe(0o640 & ~umask);
    expect(await bits(path.join(there, 'private'))).toBe(0o700 & ~umask);
    expect(await bits(path.join(there, 'private', 'big.bin'))).toBe(0o750 & ~umask);
    expect(await bits(path.join(there, 'private', 'read-only.txt'))).toBe(0o444 & ~umask);
    // The listing reports them.
    const listed = await side.remote.list(path.posix.join(side.base, 'tree'));
    expect(listed.entries.find((e) => e.name === 'run.sh')!.mode & 0o777).toBe(0o755 & ~umask);
  });

  it('an overwrite keeps the bits it replaces, unless the upload preserves the source mode', async () => {
    const script = path.join(local, 'tool.sh');
    await writeFile(script, 'v1\n');
    await chmod(script, 0o755);
    await upload(side.remote, [script], side.base);
    const there = side.host(path.posix.join(side.base, 'tool.sh'));
    await chmod(there, 0o700);
    await writeFile(script, 'v2 is longer\n');
    await upload(side.remote, [script], side.base);
    expect(await bits(there)).toBe(0o700);
    // Streamed the same.
    await writeFile(script, Buffer.alloc(WHOLE_FILE_MAX + 10, 1));
    await upload(side.remote, [script], side.base);
    expect(await bits(there)).toBe(0o700);
    await writeFile(script, 'v3\n');
    await chmod(script, 0o750);
    await upload(side.remote, [script], side.base, true);
    expect(await bits(there)).toBe(0o750 & ~umask);
  });

  it('chmod sets bits on a file, and on a tree with links skipped', async () => {
    const file = path.posix.join(side.base, 'tree', 'notes.txt');
    expect(await side.remote.chmod(file, 0o600)).toEqual({ changed: 1 });
    expect(await bits(side.host(file))).toBe(0o600);

    const outside = await tempDir('ferry-perms-outside-');
    await writeFile(path.join(outside, 'victim'), 'v');
    await chmod(path.join(outside, 'victim'), 0o644);
    const treeHost = side.host(path.posix.join(side.base, 'tree'));
    await symlink(path.join(outside, 'victim'), path.join(treeHost, 'private', 'link'));
    // tree, run.sh, notes.txt, private, big.bin, read-only.txt (the link skipped).
    const result = await side.remote.chmod(path.posix.join(side.base, 'tree'), 0o750, { recursive: true });
    expect(result).toEqual({ changed: 6 });
    for (const rel of ['', 'run.sh', 'notes.txt', 'private', 'private/big.bin', 'private/read-only.txt']) {
      expect(await bits(path.join(treeHost, rel)), rel).toBe(0o750);
    }
    expect(await bits(path.join(outside, 'victim'))).toBe(0o644);

    expect((await failure(side.remote.chmod(path.posix.join(side.base, 'tree', 'private', 'link'), 0o777))).code).toBe('EINVAL');
    expect((await failure(side.remote.chmod(file, 0o4755))).code).toBe('EINVAL');
    expect(await bits(path.join(outside, 'victim'))).toBe(0o644);
  });

  it('a recursive chmod stops when its signal fires (ECANCELED)', async () => {
    const many = path.join(local, 'many');
    for (let d = 0; d < 10; d++) {
      await mkdir(path.join(many, `d${d}`), { recursive: true });
      for (let f = 0; f < 30; f++) await writeFile(path.join(many, `d${d}`, `f${f}`), '');
    }
    await upload(side.remote, [many], side.base);
    const abort = new AbortController();
    const running = side.remote.chmod(path.posix.join(side.base, 'many'), 0o700, { recursive: true, signal: abort.signal });
    abort.abort();
    expect((await failure(running)).code).toBe('ECANCELED');
    // The folder, changed last, was not reached.
    expect(await bits(side.host(path.posix.join(side.base, 'many')))).toBe(0o755 & ~umask);
  });
});
