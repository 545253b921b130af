/**
 * `ferry sync` through the real CLI and a real ferryd: the printed plan (text and JSON),
 * --dry-run changing nothing, --delete, and a sync killed mid-file that the next run
 * finishes by resuming the partial (bytes counted by a proxy in between).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { makeTree, randomFile, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { cliFor, expectOk, type Cli } from './cli-helpers.js';

const MiB = 1024 * 1024;
const alice: TestUser = { name: 'alice', password: 'alice pass', exec: true };
let server: Ferryd;
let cli: Cli;
let configDir: string;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  configDir = await tempDir('ferry-config-');
  cli = cliFor(server, configDir);
  home = path.join(server.root, 'homes', alice.name);
  expectOk(await cli.run(alice, ['ls']));
});

afterAll(cleanupAll);

interface JsonAction {
  action: string;
  path: string;
  side?: string;
  reason: string;
}

function jsonLines(stdout: string): Array<JsonAction & { result?: Record<string, number | string> }> {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as JsonAction);
}

describe('ferry sync', () => {
  let local: string;

  beforeAll(async () => {
    local = await tempDir('ferry-sync-cli-');
    await makeTree(local);
  });

  it('--dry-run prints the plan and changes nothing; then a sync makes the remote alike', async () => {
    const dry = expectOk(await cli.run(alice, ['sync', local, '/mirror', '--dry-run']));
    expect(dry.stdout).toMatch(/^sync up: .* compared by XXH3-128/m);
    expect(dry.stdout).toMatch(/^upload +readme\.txt +— not on the remote$/m);
    expect(dry.stdout).toMatch(/^mkdir +sub \(remote\)/m);
    expect(dry.stdout).toMatch(/6 to upload \(3\.1 MiB\)/);
    expect(await readdir(home)).not.toContain('mirror');

    const json = jsonLines(expectOk(await cli.run(alice, ['sync', local, '/mirror', '--dry-run', '--json'])).stdout);
    expect(json.find((a) => a.path === 'sub/deeper/big.bin')).toMatchObject({ action: 'upload', reason: 'not on the remote' });
    expect(await readdir(home)).not.toContain('mirror');

    const real = jsonLines(expectOk(await cli.run(alice, ['sync', local, '/mirror', '--json'])).stdout);
    expect(real.at(-1)!.result).toMatchObject({ compare: 'xxh128', upload: 6, done: 10, failed: 0 });
    // Asked for SHA-256, the plan says so (files stored with XXH3-128 still compare by it).
    const sha = expectOk(await cli.run(alice, ['sync', local, '/mirror', '--dry-run', '--check', 'sha256']));
    expect(sha.stdout).toMatch(/^sync up: .* compared by SHA-256/m);
    expect((await cli.run(alice, ['sync', local, '/mirror', '--check', 'md5'])).code).toBe(2);
    expect(await treeDigest(path.join(home, 'mirror'))).toEqual(await treeDigest(local));
  });

  it('deletes extras only with --delete, and downloads with --direction down', async () => {
    await writeFile(path.join(home, 'mirror', 'server-only.txt'), 'from the server\n');
    const kept = expectOk(await cli.run(alice, ['sync', local, '/mirror']));
    expect(kept.stdout).toMatch(/^keep +server-only\.txt \(remote\) +— not here \(deleting extras was not asked\)$/m);
    expect(await readFile(path.join(home, 'mirror', 'server-only.txt'), 'utf8')).toBe('from the server\n');

    const down = expectOk(await cli.run(alice, ['sync', local, '/mirror', '--direction', 'down']));
    expect(down.stdout).toMatch(/^download +server-only\.txt +— not here$/m);
    expect(await readFile(path.join(local, 'server-only.txt'), 'utf8')).toBe('from the server\n');

    await writeFile(path.join(local, 'local-only.txt'), 'mine\n');
    const deleted = expectOk(await cli.run(alice, ['sync', local, '/mirror', '--direction', 'down', '--delete']));
    expect(deleted.stdout).toMatch(/^delete +local-only\.txt \(local\)/m);
    await expect(stat(path.join(local, 'local-only.txt'))).rejects.toThrow();
  });

  it('a conflict in "both" is printed and both copies are left as they are', async () => {
    await writeFile(path.join(local, 'readme.txt'), 'local edit\n');
    await writeFile(path.join(home, 'mirror', 'readme.txt'), 'remote edit\n');
    const both = expectOk(await cli.run(alice, ['sync', local, '/mirror', '--direction', 'both']));
    expect(both.stdout).toMatch(/^CONFLICT +readme\.txt +— changed on both sides since the last sync$/m);
    expect(both.stderr).toMatch(/1 conflict left as they are/);
    expect(await readFile(path.join(local, 'readme.txt'), 'utf8')).toBe('local edit\n');
    expect(await readFile(path.join(home, 'mirror', 'readme.txt'), 'utf8')).toBe('remote edit\n');
  });

  it('a sync killed mid-file is finished by the next one, which sends only the rest', async () => {
    const big = path.join(local, 'big', 'video.bin');
    await mkdir(path.dirname(big), { recursive: true });
    const size = 48 * MiB;
    await randomFile(big, size);
    const proxy = await Proxy.start(server.port);
    const viaProxy = cliFor({ cliArgs: (user) => ['--host', '127.0.0.1', '--port', String(proxy.port), '--user', user] }, configDir);
    proxy.stallAfter = 20 * MiB;
    const first = viaProxy.start(alice, ['sync', local, '/mirror']);
    const partials = path.join(server.root, 'state', 'partials', alice.name);
    await waitFor(async () => proxy.upstreamBytes >= 20 * MiB && (await readdir(partials).catch(() => [])).length > 0, 60_000, 'a partial upload');
    first.child.kill('SIGKILL');
    await first.result;
    proxy.cut();
    await waitFor(() => /put user=alice interrupted \(partial kept\)/.test(server.log()), 10_000, 'the server to keep the partial');

    proxy.release();
    proxy.reset();
    const second = expectOk(await viaProxy.run(alice, ['sync', local, '/mirror', '--json']));
    expect(jsonLines(second.stdout).find((a) => a.path === 'big/video.bin')).toMatchObject({ action: 'upload' });
    expect(proxy.upstreamBytes).toBeLessThan(size - 10 * MiB);
    expect((await stat(path.join(home, 'mirror', 'big', 'video.bin'))).size).toBe(size);
    expect(await treeDigest(path.join(home, 'mirror', 'big'))).toEqual(await treeDigest(path.join(local, 'big')));
    await proxy.close();
  });
});
