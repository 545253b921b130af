/**
 * Host keys pinned on first use, through the CLI: the first connection records the key and
 * says so once; a server whose key changed is refused with EHOSTKEY (before the login, so
 * no password proof is sent) until `ferry known-hosts forget HOST:PORT`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { FERRY, cleanupAll, run, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice pass' };

let server: Ferryd;
let configDir: string;
let cli: Cli;
let hostPort: string;

function knownHosts(args: string[]): ReturnType<typeof run> {
  return run(FERRY, ['known-hosts', ...args], { env: { FERRY_CONFIG_DIR: configDir } });
}

/** Replace the server's key: stop it, delete ROOT/tls, start it again on the same root and port. */
async function restartWithNewKey(): Promise<void> {
  const old = server;
  await old.stop();
  await rm(path.join(old.root, 'tls'), { recursive: true, force: true });
  server = await startFerryd({ root: old.root, port: old.port });
  expect(server.port).toBe(old.port);
  expect(server.fingerprint).not.toBe(old.fingerprint);
}

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  configDir = await tempDir('ferry-config-');
  cli = cliFor(server, configDir);
  hostPort = `127.0.0.1:${server.port}`;
});

afterAll(cleanupAll);

describe('host keys', () => {
  it('the first connection records the key and says so in one line on stderr', async () => {
    const result = expectOk(await cli.run(alice, ['ls']));
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`new host ${hostPort}`);
    expect(lines[0]).toContain(server.fingerprint!);
    const file = await readFile(path.join(configDir, 'known_hosts'), 'utf8');
    expect(file).toBe(`${hostPort} ${server.fingerprint}\n`);
  });

  it('later connections are silent', async () => {
    const result = expectOk(await cli.run(alice, ['ls']));
    expect(result.stderr).toBe('');
  });

  it('known-hosts list shows the pinned key', async () => {
    const result = expectOk(await knownHosts(['list']));
    expect(result.stdout).toBe(`${hostPort} ${server.fingerprint}\n`);
  });

  it('a changed key is refused with EHOSTKEY, names the fix, and sends no login', async () => {
    const pinned = server.fingerprint;
    await restartWithNewKey();
    const result = await cli.run(alice, ['ls']);
    const line = expectError(result, 'EHOSTKEY');
    expect(line).toContain(`ferry known-hosts forget ${hostPort}`);
    expect(line).toContain(pinned!);
    expect(line).toContain(server.fingerprint!);
    expect(result.stdout).toBe('');
    // Refused right after the TLS handshake: the server never saw a hello or a login.
    expect(server.log()).not.toMatch(/auth .* user=alice/);
    // The pin is unchanged: refusing must not trust the new key.
    expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toBe(`${hostPort} ${pinned}\n`);
    // Every command is refused alike, transfers too.
    expectError(await cli.run(alice, ['get', '/x', configDir]), 'EHOSTKEY');
  });

  it('known-hosts forget HOST:PORT then allows connecting again (and pins the new key)', async () => {
    const forgot = expectOk(await knownHosts(['forget', hostPort]));
    expect(forgot.stderr).toContain(`forgot the key of ${hostPort}`);
    const result = expectOk(await cli.run(alice, ['ls']));
    expect(result.stderr).toContain(`new host ${hostPort}`);
    expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toBe(`${hostPort} ${server.fingerprint}\n`);
    expectOk(await cli.run(alice, ['ls']));
  });

  it('forgetting a host that is not known exits 1', async () => {
    const result = await knownHosts(['forget', '127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no key recorded for 127.0.0.1:1');
  });
});
