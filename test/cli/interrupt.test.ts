/**
 * Interrupted work through the real CLI: a put or a get killed with SIGKILL is resumed by
 * the next one (which moves only what is missing, counted by a proxy in between), and
 * Ctrl+C stops a command or a transfer on the server too and exits 130.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { exists, randomFile, sha256File, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { cliFor, expectOk, type Cli } from './cli-helpers.js';

const MiB = 1024 * 1024;
const alice: TestUser = { name: 'alice', password: 'alice pass', exec: true };

let plain: Ferryd;
let tls: Ferryd;
let work: string;
let configDir: string;

beforeAll(async () => {
  [plain, tls] = await Promise.all([startFerryd({ users: [alice], plain: true }), startFerryd({ users: [alice] })]);
  work = await tempDir('ferry-interrupt-');
  configDir = await tempDir('ferry-config-');
});

afterAll(cleanupAll);

/** The CLI talking to `server` through `proxy`. */
function viaProxy(server: Ferryd, proxy: Proxy): Cli {
  return cliFor(
    { cliArgs: (user) => ['--host', '127.0.0.1', '--port', String(proxy.port), '--user', user, ...(server.plain ? ['--plain'] : [])] },
    configDir,
  );
}

/** Size of the one partial upload the user has on the server (0 if none). */
async function partialSize(server: Ferryd, user: TestUser): Promise<number> {
  const dir = path.join(server.root, 'state', 'partials', user.name);
  const names = await readdir(dir).catch(() => [] as string[]);
  let total = 0;
  for (const n of names) total += (await stat(path.join(dir, n))).size;
  return total;
}

/** Stderr lines other than the one-time notice about a newly recorded host key. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('ferry: new host '));
}

function countLines(log: string, pattern: RegExp): number {
  return log.split('\n').filter((l) => pattern.test(l)).length;
}

async function killedPutResumes(server: Ferryd, size: number, stallAfter: number): Promise<void> {
  const name = `big-${server.plain ? 'plain' : 'tls'}.bin`;
  const local = path.join(work, name);
  const hash = await randomFile(local, size);
  const proxy = await Proxy.start(server.port);
  const cli = viaProxy(server, proxy);
  const interruptedBefore = countLines(server.log(), /put user=alice interrupted \(partial kept\)/);

  // The proxy stalls the upload part-way, so the kill lands mid-transfer, every time.
  proxy.stallAfter = stallAfter;
  const first = cli.start(alice, ['put', local, '/']);
  await waitFor(async () => (await partialSize(server, alice)) > 0 && proxy.upstreamBytes >= stallAfter, 30_000, 'a partial upload');
  first.child.kill('SIGKILL');
  expect((await first.result).signal).toBe('SIGKILL');
  proxy.cut(); // the dead client's connections go away, as they would without a proxy
  await waitFor(() => countLines(server.log(), /put user=alice interrupted \(partial kept\)/) > interruptedBefore, 10_000, 'the server to keep the partial');

  const kept = await partialSize(server, alice);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(size);
  expect(await exists(path.join(server.root, 'homes', alice.name, name))).toBe(false);

  proxy.release();
  proxy.reset();
  expectOk(await cli.run(alice, ['put', local, '/']));
  expect(await sha256File(path.join(server.root, 'homes', alice.name, name))).toBe(hash);
  // Only what was missing crossed the wire the second time (plus login and framing).
  expect(proxy.upstreamBytes).toBeGreaterThanOrEqual(size - kept);
  expect(proxy.upstreamBytes).toBeLessThan(size - kept + 256 * 1024);
  expect(await partialSize(server, alice)).toBe(0);
  await proxy.close();
}

describe('resume after a killed client', () => {
  it('plain: a 200 MiB put killed with SIGKILL is resumed by the same put, sending only the rest', async () => {
    await killedPutResumes(plain, 200 * MiB, 80 * MiB);
  });

  it('TLS: the same with a smaller file', async () => {
    await killedPutResumes(tls, 24 * MiB, 8 * MiB);
  });
});

describe('resume after a killed download', () => {
  it('a get killed with SIGKILL leaves only a hidden partial, and the next get fetches just the rest', async () => {
    const size = 64 * MiB;
    const remote = path.join(plain.root, 'homes', alice.name, 'to-get.bin');
    const hash = await randomFile(remote, size);
    const proxy = await Proxy.start(plain.port);
    const cli = viaProxy(plain, proxy);
    const dest = path.join(work, 'get-dest');
    const partialFile = path.join(dest, '.to-get.bin.ferry-part');
    proxy.downRate = 32 * MiB; // ~2 s: surely still running when it is killed
    const first = cli.start(alice, ['get', '/to-get.bin', dest]);
    await waitFor(async () => ((await stat(partialFile).catch(() => null))?.size ?? 0) > 8 * MiB, 20_000, 'a partial download');
    first.child.kill('SIGKILL');
    await first.result;
    expect(await readdir(dest)).toEqual(['.to-get.bin.ferry-part']); // never half a file under its real name
    const kept = (await stat(partialFile)).size;

    proxy.release();
    proxy.reset();
    expectOk(await cli.run(alice, ['get', '/to-get.bin', dest]));
    expect(await sha256File(path.join(dest, 'to-get.bin'))).toBe(hash);
    expect(await readdir(dest)).toEqual(['to-get.bin']);
    expect(proxy.downstreamBytes).toBeLessThan(size - kept + 256 * 1024);
    await proxy.close();
  });
});

describe('Ctrl+C', () => {
  it('during exec "sleep 30": exits 130 at once and the server cancels the command', async () => {
    const cli = cliFor(tls, configDir);
    const run = cli.start(alice, ['exec', 'echo started; sleep 30']);
    await waitFor(() => run.stdout().includes('started'), 20_000, 'the command to start');
    const sent = Date.now();
    run.child.kill('SIGINT');
    const result = await run.result;
    const elapsed = Date.now() - sent;
    expect(result.code).toBe(130);
    expect(elapsed).toBeLessThan(3000); // promptly (the log order below proves the cancel request did it)
    const cancelled = await waitFor(() => /exec user=alice pid=(\d+) cancelled/.exec(tls.log()) ?? undefined, 5000, 'the exec log line');
    // The cancel request stopped it, not the connection closing afterwards.
    const log = tls.log();
    expect(log.indexOf(cancelled[0])).toBeLessThan(log.lastIndexOf('closed user=alice'));
    // Its whole process group is gone (after a moment: killed children are reaped by init).
    const groupGone = (): boolean => {
      try {
        process.kill(-Number(cancelled[1]), 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    };
    await waitFor(groupGone, 3000, 'the command to be gone');
    for (const line of errorLines(result.stderr)) expect(line).toMatch(/^ferry: [A-Z]+: /);
  });

  it('during a large put: exits 130 at once and the server stops receiving (partial kept)', async () => {
    const local = path.join(work, 'ctrl-c.bin');
    await randomFile(local, 64 * MiB);
    const proxy = await Proxy.start(plain.port);
    proxy.rate = 16 * MiB; // ~4 s for the whole file: it is surely still running
    const before = countLines(plain.log(), /put user=alice interrupted \(partial kept\)/);
    const run = viaProxy(plain, proxy).start(alice, ['put', local, '/']);
    await waitFor(async () => (await partialSize(plain, alice)) > 0, 20_000, 'a partial upload');
    const sent = Date.now();
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    expect(Date.now() - sent).toBeLessThan(3000);
    await waitFor(() => countLines(plain.log(), /put user=alice interrupted \(partial kept\)/) > before, 10_000, 'the server to stop the upload');
    expect(await exists(path.join(plain.root, 'homes', alice.name, 'ctrl-c.bin'))).toBe(false);
    for (const line of errorLines(result.stderr)) expect(line).toMatch(/^ferry: [A-Z]+: /);
    await proxy.close();
  });
});
