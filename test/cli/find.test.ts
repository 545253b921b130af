/**
 * `ferry find PATH PATTERN` against a real ferryd: matches printed one a line (folders with
 * a trailing /), --json lines, the results bound reported on stderr with exit 0, and the
 * usual one-line errors and exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice find phrase' };

let server: Ferryd;
let cli: Cli;

beforeAll(async () => {
  server = await startFerryd({ users: [alice], plain: true });
  cli = cliFor(server, await tempDir('ferry-config-'));
  expectOk(await cli.run(alice, ['ls']));
  const root = path.join(server.root, 'homes', alice.name, 'docs');
  await mkdir(path.join(root, '2024', 'Reports'), { recursive: true });
  await writeFile(path.join(root, '2024', 'Reports', 'q1-report.pdf'), 'pdf!');
  await writeFile(path.join(root, '2024', 'notes.txt'), 'n');
  await writeFile(path.join(root, 'report.md'), 'md');
  await symlink('/etc', path.join(root, 'etc'));
});

afterAll(cleanupAll);

describe('ferry find', () => {
  it('prints every match below the folder, folders with a trailing /', async () => {
    const result = expectOk(await cli.run(alice, ['find', '/docs', 'report']));
    expect(result.stdout.trimEnd().split('\n').sort()).toEqual(['/docs/2024/Reports/', '/docs/2024/Reports/q1-report.pdf', '/docs/report.md']);
    expect(result.stderr).toBe('');
  });

  it('--json prints one object a line; globs match the whole name', async () => {
    const result = expectOk(await cli.run(alice, ['find', 'docs', '*.pdf', '--json']));
    const rows = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toEqual([{ path: '/docs/2024/Reports/q1-report.pdf', type: 'file', size: 4, mtime: expect.any(Number) }]);
    expect(expectOk(await cli.run(alice, ['find', 'docs', 'Report', '--case-sensitive'])).stdout.trimEnd().split('\n')).toEqual(['/docs/2024/Reports/']);
  });

  it('says on stderr when it stopped at --max, and exits 0', async () => {
    const result = expectOk(await cli.run(alice, ['find', '/docs', 'r', '--max', '1']));
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^ferry: stopped after the first 1 results/);
  });

  it('fails with the usual one-line errors', async () => {
    expectError(await cli.run(alice, ['find', '/nope', 'x']), 'ENOENT');
    expectError(await cli.run(alice, ['find', '/docs/etc', 'passwd']), 'EACCES');
    expectError(await cli.run(alice, ['find', '/docs', '[z-a]']), 'EINVAL');
    const usage = await cli.run(alice, ['find', '/docs']);
    expect(usage.code).toBe(2);
    expect((await cli.run(alice, ['find', '/docs', 'x', '--max', '0'])).code).toBe(2);
  });
});
