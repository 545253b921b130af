/**
 * The transfer queue over SFTP against a real OpenSSH sshd: folders with unicode names,
 * empty and big files, modes kept, SHA-256 verified by the server (or only the size, for an
 * account that may not run commands), resume that sends only the rest, conflicts, and the
 * console's commands (output, exit code, Ctrl+C by signal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { toFerryError } from '../../shared/common/errors.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import type { Lane, Remote } from '../../engine/remote/remote.js';
import { SftpRemote, type SftpOptions } from '../../engine/sftp/sftp-remote.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { uploadFile, downloadFile } from '../../engine/queue/transfers.js';
import { sftpOptions, startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';
import { randomFile, sha256File, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy as TcpProxy } from '../helpers/proxy.js';

let sshd: TestSshd;
let remote: SftpRemote;
let local: string;

function options(extra: Partial<SftpOptions> = {}): SftpOptions {
  return sftpOptions(sshd, extra);
}

beforeAll(async () => {
  sshd = await startTestSshd();
  remote = await SftpRemote.connect(options());
  local = await tempDir('ferry-sftp-local-');
}, 60_000);

afterAll(async () => {
  remote?.close();
  await sshd?.stop();
  await cleanupAll();
});

async function run(queue: TransferQueue, start: () => Promise<unknown>): Promise<TransferView[]> {
  await start();
  await queue.idle();
  return queue.list();
}

/** The remote, with every byte that crosses a lane counted (what a resume really sends). */
function counting(inner: Remote): { remote: Remote; sent: () => number; received: () => number } {
  let sent = 0;
  let received = 0;
  const wrap = (lane: Lane): Lane => ({
    get closed() {
      return lane.closed;
    },
    destroy: () => lane.destroy(),
    getWhole: (p, max, onSent, check) => lane.getWhole(p, max, onSent, check),
    get: (p, offset, sink, hooks, check) =>
      lane.get(p, offset, { start: (h) => sink.start(h), chunk: (b) => ((received += b.length), sink.chunk(b)) }, hooks, check),
    put: (request, source, hash, hooks) =>
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
      ),
  });
  const lanes = new Map<Lane, Lane>();
  const proxy = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'acquire') {
        return async (signal?: AbortSignal) => {
          const lane = await target.acquire(signal);
          const wrapped = wrap(lane);
          lanes.set(wrapped, lane);
          return wrapped;
        };
      }
      if (key === 'release') return (lane: Lane) => target.release(lanes.get(lane) ?? lane);
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { remote: proxy, sent: () => sent, received: () => received };
}

describe('SFTP transfers', () => {
  it('a folder up and back down: unicode names, empty files, 100 MiB, modes kept, every file SHA-256 verified', async () => {
    expect(remote.capabilities.serverHash).toBe(true);
    const tree = path.join(local, 'tree');
    await mkdir(path.join(tree, 'sub', 'deeper'), { recursive: true });
    await mkdir(path.join(tree, 'empty-folder'));
    await writeFile(path.join(tree, '名字 ünï.txt'), 'unicode names travel intact\n');
    // Names a shell or a hashing tool could misread: a quote, a leading dash, a dollar sign.
    await writeFile(path.join(tree, "it's quoted.txt"), 'quoted\n');
    await writeFile(path.join(tree, '-dash $HOME.txt'), 'dash\n');
    await writeFile(path.join(tree, 'sub', 'empty'), '');
    await writeFile(path.join(tree, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(tree, 'sub', 'run.sh'), 0o755);
    for (let i = 0; i < 40; i++) await writeFile(path.join(tree, 'sub', 'deeper', `f${i}.txt`), `file ${i}\n`.repeat(i * 50));
    await randomFile(path.join(tree, 'big.bin'), 100 * 1024 * 1024);

    const up = new TransferQueue(remote, { concurrency: 4, conflict: 'overwrite' });
    const ups = await run(up, () => up.upload([tree], sshd.home));
    expect(ups.filter((t) => t.state !== 'done' || t.check !== 'sha256')).toEqual([]);
    expect(ups).toHaveLength(46);
    const there = path.join(sshd.home, 'tree');
    expect(await treeDigest(there)).toEqual(await treeDigest(tree));
    expect((await stat(path.join(there, 'sub', 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(there, 'empty-folder'))).isDirectory()).toBe(true);
    // No partial is left behind.
    expect((await readdir(there)).filter((n) => n.endsWith('.ferry-part'))).toEqual([]);

    // A backslash (which downloads refuse as a Windows path separator) and a newline: hashed a
    // file at a time, since hashing tools escape such names.
    for (const name of ['back\\slash.txt', 'new\nline.txt']) {
      const odd = path.join(local, name);
      await writeFile(odd, `${name}\n`);
      expect(await uploadFile(remote, odd, path.join(sshd.home, name), { exists: 'overwrite', resume: false })).toMatchObject({ verified: true });
    }
    const back = path.join(local, 'back');
    await mkdir(back);
    const down = new TransferQueue(remote, { concurrency: 4, conflict: 'overwrite' });
    const downs = await run(down, () => down.download([there], back));
    expect(downs.filter((t) => t.state !== 'done' || t.check !== 'sha256')).toEqual([]);
    expect(await treeDigest(path.join(back, 'tree'))).toEqual(await treeDigest(tree));
  }, 180_000);

  it('an upload stopped part-way resumes from the partial on the server and sends only the rest', async () => {
    const file = path.join(local, 'resume.bin');
    const size = 64 * 1024 * 1024;
    await randomFile(file, size);
    const target = path.join(sshd.home, 'resume.bin');
    const first = counting(remote);
    const stop = new AbortController();
    const stopped = await uploadFile(first.remote, file, target, {
      exists: 'overwrite',
      resume: true,
      signal: stop.signal,
      onBytes: () => {
        if (first.sent() > size / 3) stop.abort();
      },
    }).catch((e: unknown) => toFerryError(e));
    expect(toFerryError(stopped).code).toBe('ECANCELED');
    const info = await remote.uploadInfo(target, { size, mtime: Math.round((await stat(file)).mtimeMs) });
    expect(info.partial).toBeGreaterThan(0);
    const second = counting(remote);
    const done = await uploadFile(second.remote, file, target, { exists: 'overwrite', resume: true });
    expect(done.verified).toBe(true);
    expect(second.sent()).toBe(size - info.partial!);
    expect(await sha256File(target)).toBe(await sha256File(file));
  }, 120_000);

  it('a download stopped part-way resumes from the local partial and receives only the rest', async () => {
    const source = path.join(sshd.home, 'down.bin');
    const size = 48 * 1024 * 1024;
    await randomFile(source, size);
    const destination = path.join(local, 'down.bin');
    const first = counting(remote);
    const stop = new AbortController();
    await downloadFile(first.remote, source, destination, {
      exists: 'overwrite',
      resume: true,
      signal: stop.signal,
      onBytes: () => {
        if (first.received() > size / 3) stop.abort();
      },
    }).catch(() => undefined);
    const kept = first.received();
    expect(kept).toBeGreaterThan(0);
    const second = counting(remote);
    const done = await downloadFile(second.remote, source, destination, { exists: 'overwrite', resume: true });
    expect(done.verified).toBe(true);
    expect(second.received()).toBeLessThan(size);
    expect(second.received()).toBeGreaterThanOrEqual(size - kept);
    expect(await sha256File(destination)).toBe(await sha256File(source));
  }, 120_000);

  it('a lane stopped mid-upload (pause, cancel) ends its put at once, even while the server is far behind', async () => {
    const proxy = await TcpProxy.start(sshd.port);
    const slow = await SftpRemote.connect(options({ port: proxy.port }));
    try {
      const file = path.join(local, 'stalled.bin');
      await randomFile(file, 24 * 1024 * 1024);
      // A slow link: what is in flight (megabytes) takes many seconds to be answered, and the
      // channel's close would queue behind it.
      proxy.rate = 512 * 1024;
      const stop = new AbortController();
      const putting = uploadFile(slow, file, path.join(sshd.home, 'stalled.bin'), { exists: 'overwrite', resume: true, signal: stop.signal });
      await waitFor(() => proxy.upstreamBytes >= 1024 * 1024, 20_000, 'the upload to be under way');
      stop.abort();
      // Settled at once, not after the link drains: the window the test has is a few seconds.
      const settled = await Promise.race([putting.then(() => 'done', (e: unknown) => toFerryError(e).code), new Promise((r) => setTimeout(() => r('still running'), 3000))]);
      expect(settled).toBe('ECANCELED');
    } finally {
      slow.close();
    }
  }, 60_000);

  it('pause keeps the partial on the server and resume continues it to a verified file', async () => {
    const proxy = await TcpProxy.start(sshd.port);
    const slow = await SftpRemote.connect(options({ port: proxy.port }));
    try {
      const file = path.join(local, 'paused.bin');
      const size = 12 * 1024 * 1024;
      await randomFile(file, size);
      proxy.rate = 2 * 1024 * 1024;
      const queue = new TransferQueue(slow, { concurrency: 1, conflict: 'overwrite' });
      await queue.upload([file], sshd.home);
      const [row] = queue.list();
      await waitFor(() => (queue.get(row!.id)?.bytes ?? 0) > 3 * 1024 * 1024, 30_000, 'the upload to be under way');
      queue.pause(row!.id);
      await waitFor(() => queue.get(row!.id)?.state === 'paused', 10_000, 'the row to be paused');
      const mtime = Math.round((await stat(file)).mtimeMs);
      const held = (await slow.uploadInfo(path.join(sshd.home, 'paused.bin'), { size, mtime })).partial ?? 0;
      expect(held).toBeGreaterThan(0);
      proxy.rate = null;
      proxy.reset();
      queue.resume(row!.id);
      await queue.idle();
      expect(queue.get(row!.id)).toMatchObject({ state: 'done', check: 'sha256' });
      expect(await sha256File(path.join(sshd.home, 'paused.bin'))).toBe(await sha256File(file));
      // Only the rest crossed the link (plus SFTP's framing and the commands around it).
      expect(proxy.upstreamBytes).toBeLessThan(size - held + 512 * 1024);
    } finally {
      slow.close();
    }
  }, 90_000);

  it('conflicts: fail, skip and rename leave what was there, overwrite replaces it', async () => {
    const file = path.join(local, 'conflict.txt');
    await writeFile(file, 'new content');
    const target = path.join(sshd.home, 'conflict.txt');
    await writeFile(target, 'old');
    const fail = await uploadFile(remote, file, target, { exists: 'fail', resume: false }).catch((e: unknown) => toFerryError(e));
    expect(toFerryError(fail).code).toBe('EEXIST');
    expect((await uploadFile(remote, file, target, { exists: 'skip', resume: false })).skipped).toBe(true);
    const renamed = await uploadFile(remote, file, target, { exists: 'rename', resume: false });
    expect(renamed.path).toBe(path.join(sshd.home, 'conflict (1).txt'));
    expect(await sha256File(target)).toBe(await sha256File(await writeAndName(path.join(local, 'old.txt'), 'old')));
    await uploadFile(remote, file, target, { exists: 'overwrite', resume: false });
    expect(await sha256File(target)).toBe(await sha256File(file));
  });

  it('file operations: mkdir -p, rename, remove -r, stat, and clear errors', async () => {
    const base = path.join(sshd.home, 'ops');
    await remote.mkdir(path.join(base, 'a', 'b', 'c'), true);
    expect(toFerryError(await remote.mkdir(path.join(base, 'a')).catch((e: unknown) => e)).code).toBe('EEXIST');
    await writeFile(path.join(base, 'a', 'file'), 'x');
    expect(toFerryError(await remote.mkdir(path.join(base, 'a', 'file', 'x'), true).catch((e: unknown) => e)).code).toBe('ENOTDIR');
    expect(await remote.rename(path.join(base, 'a'), path.join(base, 'moved'))).toBe(path.join(base, 'moved'));
    expect((await remote.stat(path.join(base, 'moved', 'file'))).size).toBe(1);
    expect(toFerryError(await remote.remove(path.join(base, 'moved')).catch((e: unknown) => e)).code).toBe('ENOTEMPTY');
    await remote.remove(path.join(base, 'moved'), true);
    expect(await remote.statOrNull(path.join(base, 'moved'))).toBeNull();
    expect(toFerryError(await remote.list(path.join(base, 'missing')).catch((e: unknown) => e)).code).toBe('ENOENT');
    // Listings: a link to a file is that file (it can be downloaded), a link to a folder
    // stays a link, and Ferry's own upload partials are not listed.
    await writeFile(path.join(base, 'target.txt'), 'twelve bytes');
    await symlink(path.join(base, 'target.txt'), path.join(base, 'file-link'));
    await symlink(base, path.join(base, 'folder-link'));
    await writeFile(path.join(base, '.target.txt.0123456789ab.ferry-part'), 'partial');
    const listed = Object.fromEntries((await remote.list(base)).entries.map((e) => [e.name, [e.type, e.size]]));
    expect(listed).toEqual({ 'target.txt': ['file', 12], 'file-link': ['file', 12], 'folder-link': ['symlink', 0] });
    const df = await remote.df();
    expect(df.quota).toBeNull();
    expect(df.free).toBeGreaterThan(0);
    expect(df.used).toBeGreaterThan(0);
  });
});

async function writeAndName(file: string, content: string): Promise<string> {
  await writeFile(file, content);
  return file;
}

describe('SFTP commands', () => {
  it('streams output, reports the exit code, and runs in the session folder', async () => {
    await remote.mkdir(path.join(sshd.home, 'here'), true);
    await remote.cd(path.join(sshd.home, 'here'));
    let stdout = '';
    let stderr = '';
    const exit = await remote.exec('pwd; echo err >&2; exit 3', (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk.toString();
      else stderr += chunk.toString();
    });
    expect(exit).toEqual({ code: 3, signal: null });
    expect(stdout.trim()).toBe(path.join(sshd.home, 'here'));
    expect(stderr).toBe('err\n');
    await remote.cd(sshd.home);
  });

  it('a quick command’s exit code is never lost, even when it arrives in the same read as the channel’s opening', async () => {
    // A relay that hands the server's bytes over in 40 ms batches: the exec's reply, the
    // output, the exit status and the close then arrive in one read, which ssh2 handles in
    // one go: the exit code must be caught there, not after an await.
    const relay = net.createServer((client) => {
      const server = net.connect(sshd.port, '127.0.0.1');
      let held: Buffer[] = [];
      const timer = setInterval(() => {
        if (held.length > 0) client.write(Buffer.concat(held));
        held = [];
      }, 40);
      server.on('data', (d: Buffer) => held.push(d));
      client.pipe(server);
      const end = (): void => {
        clearInterval(timer);
        client.destroy();
        server.destroy();
      };
      client.on('close', end).on('error', end);
      server.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const slow = await SftpRemote.connect(options({ port: (relay.address() as net.AddressInfo).port }));
    try {
      const codes: Array<number | null> = [];
      for (let i = 0; i < 12; i++) codes.push((await slow.exec(i % 2 ? `exit ${i % 7}` : `echo x >&2; sh -c 'exit ${i % 7}'`, () => undefined)).code);
      expect(codes).toEqual(Array.from({ length: 12 }, (_, i) => i % 7));
    } finally {
      slow.close();
      relay.close();
    }
  });

  it('Ctrl+C stops a command with SIGINT on the server, and says so', async () => {
    const stop = new AbortController();
    let started = false;
    // Ctrl+C a moment after the output began, while the command waits in sleep.
    const running = remote.exec('echo started; sleep 30', () => {
      if (!started) {
        started = true;
        setTimeout(() => stop.abort(), 300);
      }
    }, { signal: stop.signal });
    const err = toFerryError(await running.catch((e: unknown) => e));
    expect(err.code).toBe('ECANCELED');
    expect(err.details?.stoppedBy).toBe('signal');
    expect(err.message).toContain('SIGINT');
  });

  it('a command that ignores SIGINT has its channel closed, and the error says that instead', async () => {
    const stop = new AbortController();
    let started = false;
    const running = remote.exec("trap '' INT; echo started; sleep 30", () => {
      if (!started) {
        started = true;
        stop.abort();
      }
    }, { signal: stop.signal });
    const err = toFerryError(await running.catch((e: unknown) => e));
    expect(err.code).toBe('ECANCELED');
    expect(err.details?.stoppedBy).toBe('channel-closed');
    expect(err.message).toContain('closed');
  });
});

describe('SFTP for an account that may not run commands', () => {
  it('transfers are checked by size, and say so', async () => {
    const sftpOnly = await SftpRemote.connect(options({ port: sshd.noExecPort }));
    try {
      expect(sftpOnly.capabilities.serverHash).toBe(false);
      const folder = path.join(local, 'size-only');
      await mkdir(folder);
      await writeFile(path.join(folder, 'small.txt'), 'small');
      await randomFile(path.join(folder, 'big.bin'), 3 * 1024 * 1024);
      const up = new TransferQueue(sftpOnly, { concurrency: 2, conflict: 'overwrite' });
      const views = await run(up, () => up.upload([folder], sshd.home));
      expect(views.map((t) => [t.name, t.state, t.check, t.verified]).sort()).toEqual([
        ['big.bin', 'done', 'size', false],
        ['small.txt', 'done', 'size', false],
      ]);
      expect(await treeDigest(path.join(sshd.home, 'size-only'))).toEqual(await treeDigest(folder));
      let out = '';
      const exit = await sftpOnly.exec('echo hi', (_s, chunk) => void (out += chunk.toString())).catch((e: unknown) => toFerryError(e));
      expect(out).not.toContain('hi\n');
      expect('code' in exit ? exit.code : 1).not.toBe(0);
    } finally {
      sftpOnly.close();
    }
  }, 60_000);
});
