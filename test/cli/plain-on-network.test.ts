/**
 * `ferry --plain` to a host that is not loopback is refused with one EINVAL line, at once
 * and before a password is asked for, unless --insecure-plain-on-network is given. (That
 * the refusal comes before any lookup or connection is shown on the engine side, where
 * the network can be stubbed: test/engine/plain-on-network.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FERRY, cleanupAll, run, tempDir } from '../helpers/harness.js';
import { expectError } from './cli-helpers.js';

afterAll(cleanupAll);

describe('ferry --plain', () => {
  it('to a network host is refused with EINVAL naming the flag, without trying to connect', async () => {
    const configDir = await tempDir('ferry-config-');
    for (const host of ['10.255.255.1', 'example.invalid']) {
      const started = Date.now();
      // No FERRY_PASSWORD: a password prompt would wait for stdin instead of failing.
      const result = await run(FERRY, ['--host', host, '--port', '7070', '--user', 'alice', '--plain', 'ls'], {
        env: { FERRY_CONFIG_DIR: configDir, FERRY_PASSWORD: undefined, FERRY_HOST: undefined, FERRY_PORT: undefined },
        timeoutMs: 10_000,
      });
      const line = expectError(result, 'EINVAL');
      expect(line).toContain(`refusing to connect without encryption to ${host}`);
      expect(line).toContain('--insecure-plain-on-network');
      expect(result.stderr).not.toMatch(/password/i);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('is documented in the usage text', async () => {
    const result = await run(FERRY, ['--help']);
    expect(result.stdout).toContain('--insecure-plain-on-network');
  });
});
