/**
 * `ferry login` / `ferry logout`: a saved login keeps the SCRAM keys (never the password)
 * in a private file, later commands use it without any password, and a saved login the
 * server no longer takes is forgotten in favour of the password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FERRYD, cleanupAll, run, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice saved pass' };
const bob: TestUser = { name: 'bob', password: 'bob saved pass' };

let server: Ferryd;
let cli: Cli;
let configDir: string;
/** No password at all, and no terminal to ask on (the runner gives the CLI no TTY). */
const NO_PASSWORD = { env: { FERRY_PASSWORD: undefined } };

beforeAll(async () => {
  server = await startFerryd({ users: [alice, bob], plain: true });
  configDir = await tempDir('ferry-config-');
  cli = cliFor(server, configDir);
});

afterAll(cleanupAll);

describe('saved logins', () => {
  it('without one, a command with no password fails with EAUTH', async () => {
    expectError(await cli.run(alice, ['ls'], NO_PASSWORD), 'EAUTH');
  });

  it('ferry login saves keys, not the password, in a private file; later commands need no password', async () => {
    const saved = expectOk(await cli.run(alice, ['login']));
    expect(saved.stderr).toContain('saved the login of alice@127.0.0.1');
    const file = path.join(configDir, 'logins.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(alice.password);
    const entry = JSON.parse(text).logins[0];
    expect(entry).toMatchObject({ host: `127.0.0.1:${server.port}`, user: 'alice', keys: { iterations: 600_000 } });
    expect(Object.keys(entry.keys).sort()).toEqual(['clientKey', 'iterations', 'salt', 'serverKey']);

    expectOk(await cli.run(alice, ['mkdir', 'kept'], NO_PASSWORD));
    expect(expectOk(await cli.run(alice, ['ls'], NO_PASSWORD)).stdout).toContain('kept/');
    // Another account on the same server still needs its own password.
    expectError(await cli.run(bob, ['ls'], NO_PASSWORD), 'EAUTH');
    expectOk(await cli.run(bob, ['ls']));
  });

  it('a wrong FERRY_PASSWORD does not matter while the saved login works', async () => {
    expectOk(await cli.run(alice, ['ls'], { env: { FERRY_PASSWORD: 'not the password' } }));
  });

  it('after a password change the saved login is forgotten and the new password used', async () => {
    const changed = await run(FERRYD, ['user', 'passwd', 'alice', '--root', server.root], { env: { FERRY_PASSWORD: 'alice new pass' } });
    expect(changed.code, changed.stderr).toBe(0);
    const fallback = await cli.run(alice, ['ls'], { env: { FERRY_PASSWORD: 'alice new pass' } });
    expectOk(fallback);
    expect(fallback.stderr).toMatch(/saved login of alice@127\.0\.0\.1:\d+ no longer works .*forgotten/);
    expect(JSON.parse(await readFile(path.join(configDir, 'logins.json'), 'utf8')).logins).toEqual([]);
    expectError(await cli.run(alice, ['ls'], NO_PASSWORD), 'EAUTH');
  });

  it('ferry logout forgets it; a second logout says there was none', async () => {
    expectOk(await cli.run(alice, ['login'], { env: { FERRY_PASSWORD: 'alice new pass' } }));
    expectOk(await cli.run(alice, ['ls'], NO_PASSWORD));
    const out = expectOk(await cli.run(alice, ['logout'], NO_PASSWORD));
    expect(out.stderr).toContain('forgot the saved login of alice@');
    expectError(await cli.run(alice, ['ls'], NO_PASSWORD), 'EAUTH');
    const again = await cli.run(alice, ['logout'], NO_PASSWORD);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no saved login for alice@');
  });

  it('a damaged logins file is moved aside, said so, and the password used', async () => {
    await writeFile(path.join(configDir, 'logins.json'), '{ not json');
    const result = expectOk(await cli.run(alice, ['ls'], { env: { FERRY_PASSWORD: 'alice new pass' } }));
    expect(result.stderr).toMatch(/ferry: logins\.json was not valid and was moved to .*logins\.json\.damaged-\d+/);
    expect((await readdir(configDir)).some((name) => name.startsWith('logins.json.damaged-'))).toBe(true);
  });

  it('ferry login with a wrong password saves nothing', async () => {
    expectError(await cli.run(bob, ['login'], { env: { FERRY_PASSWORD: 'wrong' } }), 'EAUTH');
    // (No file at all is "nothing saved" too.)
    const text = await readFile(path.join(configDir, 'logins.json'), 'utf8').catch(() => '{"logins":[]}');
    const logins = JSON.parse(text).logins as { user: string }[];
    expect(logins.map((l) => l.user)).not.toContain('bob');
  });
});
