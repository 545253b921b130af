/**
 * `ferryd serve --plain` listens only on a loopback address unless
 * --insecure-plain-on-network is given: anywhere else it refuses to start, with one line,
 * before it listens. Network addresses here are ones this machine does not have
 * (192.0.2.1, TEST-NET-1), so even a server that wrongly went ahead could not listen on
 * the network: it would fail differently, and the test would say so.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FerryServer } from '../../server/server.js';
import { FerryError } from '../../shared/common/errors.js';
import { FERRYD, cleanupAll, run, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

async function serve(args: readonly string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return run(FERRYD, ['serve', '--root', await tempDir('ferryd-root-'), '--port', '0', ...args], { timeoutMs: 15_000 });
}

describe('ferryd serve --plain', () => {
  it('on a network address is refused with one EINVAL line naming the flag, and nothing listens', async () => {
    const result = await serve(['--host', '192.0.2.1', '--plain']);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('listening');
    const lines = result.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toEqual([expect.stringMatching(/^ferryd: EINVAL: refusing to serve --plain on 192\.0\.2\.1: .*--insecure-plain-on-network/)]);
  });

  it('is refused by FerryServer itself, before it binds, on any address that is not loopback', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'my-laptop']) {
      const err = await FerryServer.start({ root: await tempDir('ferryd-root-'), host, port: 0, plain: true }).catch((e: unknown) => e);
      expect(err, host).toBeInstanceOf(FerryError);
      expect((err as FerryError).code, host).toBe('EINVAL');
    }
  });

  it('with --insecure-plain-on-network gets past the check (here to the bind, which this machine cannot do)', async () => {
    const result = await serve(['--host', '192.0.2.1', '--plain', '--insecure-plain-on-network']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).not.toContain('refusing');
    // (ferryd words a failed bind as ECONN.)
    expect(result.stderr).toMatch(/^ferryd: ECONN: /);
  });

  it('on a loopback address serves, and the flag is in the usage text', async () => {
    const server = await FerryServer.start({ root: await tempDir('ferryd-root-'), host: '127.0.0.1', port: 0, plain: true });
    await server.close();
    const help = await run(FERRYD, ['--help']);
    expect(help.stdout).toContain('--insecure-plain-on-network');
  });
});
