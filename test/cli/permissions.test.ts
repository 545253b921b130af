/**
 * Permissions through `ferry`: put keeps a script's mode (less the server's umask), an
 * overwrite keeps the replaced file's mode unless `put -p`, and `chmod [-R] MODE PATH`
 * sets bits with the CLI's one-line error contract (EINVAL, EACCES, ENOENT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice perms phrase' };

let server: Ferryd;
let cli: Cli;
let work: string;
let home: string;
const bits = async (file: string): Promise<number> => (await lstat(file)).mode & 0o7777;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  cli = cliFor(server, await tempDir('ferry-config-'));
  work = await tempDir('ferry-perms-work-');
  home = path.join(server.root, 'homes', alice.name);
  expectOk(await cli.run(alice, ['ls']));
});

afterAll(cleanupAll);

describe('put and modes', () => {
  it('a new file keeps its mode; an overwrite keeps the remote mode unless -p', async () => {
    const script = path.join(work, 'deploy.sh');
    await writeFile(script, '#!/bin/sh\necho deploy\n');
    await chmod(script, 0o755);
    expectOk(await cli.run(alice, ['put', script, '/']));
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o755);

    await chmod(path.join(home, 'deploy.sh'), 0o700);
    await writeFile(script, '#!/bin/sh\necho deploy v2\n');
    expectOk(await cli.run(alice, ['put', script, '/']));
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o700);

    await chmod(script, 0o750);
    expectOk(await cli.run(alice, ['put', '-p', script, '/']));
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o750);
    await chmod(script, 0o744);
    expectOk(await cli.run(alice, ['put', '--preserve-mode', script, '/']));
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o744);
  });
});

describe('chmod', () => {
  it('sets octal bits on files, and on a tree with -R', async () => {
    expectOk(await cli.run(alice, ['chmod', '600', '/deploy.sh']));
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o600);
    await mkdir(path.join(home, 'site', 'css'), { recursive: true });
    await writeFile(path.join(home, 'site', 'css', 'a.css'), 'a{}');
    expectOk(await cli.run(alice, ['chmod', '-R', '0750', '/site']));
    for (const rel of ['site', 'site/css', 'site/css/a.css']) expect(await bits(path.join(home, rel)), rel).toBe(0o750);
    // Without -R, only the folder.
    expectOk(await cli.run(alice, ['chmod', '755', '/site']));
    expect(await bits(path.join(home, 'site'))).toBe(0o755);
    expect(await bits(path.join(home, 'site', 'css'))).toBe(0o750);
  });

  it('refuses bad modes, paths out of the home and missing paths with one error line', async () => {
    expectError(await cli.run(alice, ['chmod', '4755', '/deploy.sh']), 'EINVAL');
    expectError(await cli.run(alice, ['chmod', 'u+x', '/deploy.sh']), 'EINVAL');
    expectError(await cli.run(alice, ['chmod', '644', '/../other']), 'EACCES');
    expectError(await cli.run(alice, ['chmod', '644', '/nothing-here']), 'ENOENT');
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o600);
  });
});
