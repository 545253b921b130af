/**
 * `ferry --limit-rate RATE` (curl's spelling) against a real ferryd: a put and a get take
 * as long as the limit says, and a rate that is not one is refused as a usage error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { randomFile, sha256File } from '../helpers/files.js';
import { cliFor, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const MiB = 1024 * 1024;

let server: Ferryd;
let cli: Cli;
let work: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  cli = cliFor(server, await tempDir('ferry-config-'));
  work = await tempDir('ferry-work-');
  expectOk(await cli.run(alice, ['ls']));
});

afterAll(cleanupAll);

describe('--limit-rate', () => {
  it('slows a put and a get to the rate (1M: 6 MiB take about 6 s, never under 5)', async () => {
    const file = path.join(work, 'six.bin');
    await randomFile(file, 6 * MiB);
    let started = performance.now();
    expectOk(await cli.run(alice, ['put', '--limit-rate', '1M', file, '/']));
    const put = performance.now() - started;
    expect(put).toBeGreaterThan(5000);
    expect(put).toBeLessThan(12_000);

    const into = await tempDir('ferry-got-');
    started = performance.now();
    expectOk(await cli.run(alice, ['get', '--limit-rate=1024K', '/six.bin', into]));
    const get = performance.now() - started;
    expect(get).toBeGreaterThan(5000);
    expect(get).toBeLessThan(12_000);
    expect(await sha256File(path.join(into, 'six.bin'))).toBe(await sha256File(file));

    // Without the flag the same put is quick (so the time above was the limit's).
    started = performance.now();
    expectOk(await cli.run(alice, ['put', file, '/again']));
    expect(performance.now() - started).toBeLessThan(4000);
  }, 60_000);

  it('refuses a rate that is not one, with the usage exit code', async () => {
    for (const bad of ['fast', '10KB', '-5', '']) {
      const result = await cli.run(alice, ['put', `--limit-rate=${bad}`, path.join(work, 'six.bin')]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^ferry: --limit-rate: ".*" is not a rate/);
      expect(result.stderr).toContain('--limit-rate RATE');
    }
  });

  it('is documented in the usage text', async () => {
    const result = expectOk(await cli.run(alice, ['--help']));
    expect(result.stdout).toMatch(/--limit-rate RATE.*\n.*K, M or G/);
  });
});
