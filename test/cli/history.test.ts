/**
 * `ferry history`: put and get record every finished file in the config folder's history
 * (the same file the app appends to), and `ferry history` prints it without a connection:
 * a table, --json, --csv (RFC 4180, parsed back), a search and a limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { TransferHistory } from '../../engine/history/transfer-history.js';
import type { TransferLogEntry } from '../../shared/common/transfer-log.js';
import { FERRY, cleanupAll, run, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { randomFile } from '../helpers/files.js';
import { hashLocalFile } from '../../shared/node/checksums.js';
import { parseCsv } from '../helpers/csv.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let server: Ferryd;
let cli: Cli;
let configDir: string;
let work: string;
const sums: Record<string, string> = {};
const xxhs: Record<string, string> = {};

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  configDir = await tempDir('ferry-config-');
  cli = cliFor(server, configDir);
  work = await tempDir('ferry-work-');
  await mkdir(path.join(work, 'photos'));
  sums['report.pdf'] = await randomFile(path.join(work, 'report.pdf'), 2 * 1024 * 1024);
  sums['a.jpg'] = await randomFile(path.join(work, 'photos', 'a.jpg'), 3000);
  expectOk(await cli.run(alice, ['put', path.join(work, 'report.pdf'), path.join(work, 'photos'), '/backup']));
  await mkdir(path.join(work, 'restore'));
  // The put makes the default check (XXH3-128); the get asks for SHA-256.
  const got = expectOk(await cli.run(alice, ['get', '/backup/report.pdf', path.join(work, 'restore'), '--check', 'sha256', '--json']));
  expect(JSON.parse(got.stdout)).toMatchObject({ remotePath: '/backup/report.pdf', state: 'done', check: 'sha256' });
  xxhs['a.jpg'] = (await hashLocalFile(path.join(work, 'photos', 'a.jpg'), 'xxh128')).hex;
  xxhs['report.pdf'] = (await hashLocalFile(path.join(work, 'report.pdf'), 'xxh128')).hex;
});
afterAll(cleanupAll);

/** `ferry history …` with no server options at all: it needs no connection. */
const history = (...args: string[]) => run(FERRY, ['history', ...args], { env: { FERRY_CONFIG_DIR: configDir, FERRY_PASSWORD: undefined } });

describe('ferry history', () => {
  it('--json lists put and get, newest first, with the server, paths, size, time, speed and SHA-256', async () => {
    const result = expectOk(await history('--json'));
    const entries = JSON.parse(result.stdout) as Array<TransferLogEntry & { finished: string }>;
    // The get came last; the two files of the put finish in either order.
    expect([entries[0]!.direction, entries[0]!.remotePath]).toEqual(['download', '/backup/report.pdf']);
    expect(entries.slice(1).map((e) => `${e.direction} ${e.remotePath}`).sort()).toEqual(['upload /backup/photos/a.jpg', 'upload /backup/report.pdf']);
    const got = entries[0]!;
    expect(got).toMatchObject({
      protocol: 'ferry',
      server: `alice@${server.host}:${server.port}`,
      localPath: path.join(work, 'restore', 'report.pdf'),
      size: 2 * 1024 * 1024,
      check: 'sha256',
      sha256: sums['report.pdf'],
    });
    expect(got.speed).toBeGreaterThan(0);
    expect(got.durationMs).toBeGreaterThanOrEqual(0);
    expect(new Date(got.finished).getTime()).toBe(got.finishedAt);
    expect(entries.find((e) => e.remotePath === '/backup/photos/a.jpg')).toMatchObject({
      localPath: path.join(work, 'photos', 'a.jpg'),
      check: 'xxh128',
      xxh128: xxhs['a.jpg'],
      sha256: null,
    });
  });

  it('--csv is RFC 4180 with a header row; a search matches paths and the server; --limit keeps the newest', async () => {
    const rows = parseCsv(expectOk(await history('--csv')).stdout);
    expect(rows[0]).toEqual(['finished', 'direction', 'protocol', 'server', 'local_path', 'remote_path', 'size', 'duration_ms', 'speed_bytes_per_s', 'check', 'sha256', 'xxh128']);
    expect(rows).toHaveLength(4);
    expect(rows[1]!.slice(1, 7)).toEqual(['download', 'ferry', `alice@${server.host}:${server.port}`, path.join(work, 'restore', 'report.pdf'), '/backup/report.pdf', String(2 * 1024 * 1024)]);

    const search = JSON.parse(expectOk(await history('A.JPG', '--json')).stdout) as TransferLogEntry[];
    expect(search.map((e) => e.remotePath)).toEqual(['/backup/photos/a.jpg']);
    const byServer = JSON.parse(expectOk(await history(`${server.host}:${server.port}`, '--json', '--limit', '1')).stdout) as TransferLogEntry[];
    expect(byServer.map((e) => e.direction)).toEqual(['download']);
    expect(JSON.parse(expectOk(await history('nothing like it', '--json')).stdout)).toEqual([]);
  });

  it('prints a table by default, and shows what the app recorded in the same file', async () => {
    // The app appends to the same file through the same class (app-stores.ts).
    await new TransferHistory(configDir).append([
      {
        finishedAt: Date.now(),
        direction: 'upload',
        protocol: 'sftp',
        server: 'bob@files.example:22',
        localPath: '/home/bob/from-the-app.txt',
        remotePath: '/home/bob/from-the-app.txt',
        size: 12,
        durationMs: 4,
        speed: 3000,
        check: 'size',
        sha256: null,
      },
    ]);
    const lines = expectOk(await history()).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FINISHED\s+DIR\s+SIZE\s+TIME\s+SPEED\s+CHECK\s+SERVER\s+FROM -> TO$/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/put .* size .* sftp:\/\/bob@files\.example:22 .*\/home\/bob\/from-the-app\.txt -> \/home\/bob\/from-the-app\.txt$/);
    expect(lines[2]).toMatch(new RegExp(`get .* sha256:${sums['report.pdf']!.slice(0, 12)} .*alice@`));
    expect(lines.find((l) => l.includes('report.pdf -> /backup'))).toMatch(new RegExp(`put .* xxh128:${xxhs['report.pdf']!.slice(0, 12)} .*alice@`));
  });

  it('records a path typed relative to the folder ferry ran in as the full path', async () => {
    expectOk(await cli.run(alice, ['put', 'report.pdf', '/relative'], { cwd: work }));
    const entries = JSON.parse(expectOk(await history('--json', '/relative/')).stdout) as TransferLogEntry[];
    expect(entries.map((e) => e.localPath)).toEqual([path.join(work, 'report.pdf')]);
  });

  it('takes the records of several ferry processes at once, none lost or torn', async () => {
    const config = await tempDir('ferry-config-');
    const several = cliFor(server, config);
    expectOk(await several.run(alice, ['ls'])); // the host key, recorded once
    const runs = [];
    for (let p = 0; p < 3; p++) {
      const dir = path.join(work, `batch-${p}`);
      await mkdir(dir);
      for (let i = 0; i < 20; i++) await randomFile(path.join(dir, `f${i}.bin`), 1000 + i);
      runs.push(several.run(alice, ['put', dir, `/many-${p}`]));
    }
    for (const r of await Promise.all(runs)) expectOk(r);
    const out = await run(FERRY, ['history', '--json', '--limit', '10000'], { env: { FERRY_CONFIG_DIR: config } });
    const entries = JSON.parse(expectOk(out).stdout) as TransferLogEntry[];
    expect(new Set(entries.map((e) => e.remotePath)).size).toBe(60);
    expect(entries).toHaveLength(60);
  });

  it('refuses --json with --csv, and a bad --limit', async () => {
    expect((await history('--json', '--csv')).code).toBe(2);
    expectError(await history('--limit', 'lots'), 'EINVAL');
  });
});
