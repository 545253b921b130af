/**
 * Plain TCP only to loopback, on the client side: the engine (dial, so every session and
 * reconnect) and the app's connections refuse plain to any other host unless
 * insecurePlainOnNetwork is set, and refuse it before any lookup or connection. The
 * network calls are spied on and stubbed, so no test here sends a packet anywhere.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { callBackend, createBackend } from '../../engine/app/backend.js';
import { RemoteSession } from '../../engine/wire/session.js';
import { FerryError } from '../../shared/common/errors.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';

/** Every way a connection could leave this process, stubbed to fail at once if reached. */
function spyNetwork(): { calls: () => number } {
  const reached = (): never => {
    throw Object.assign(new Error('the test reached the network'), { code: 'ENETUNREACH' });
  };
  const spies = [
    vi.spyOn(net, 'connect').mockImplementation(reached),
    vi.spyOn(net, 'createConnection').mockImplementation(reached),
    vi.spyOn(tls, 'connect').mockImplementation(reached),
    vi.spyOn(dns, 'lookup').mockImplementation(reached),
  ];
  return { calls: () => spies.reduce((n, s) => n + s.mock.calls.length, 0) };
}

afterEach(() => vi.restoreAllMocks());
afterEach(cleanupAll);

const NETWORK_HOSTS = ['10.255.255.1', 'example.invalid', '0.0.0.0', '::', 'fe80::1'];

async function connectError(host: string, extra: { insecurePlainOnNetwork?: boolean } = {}): Promise<FerryError> {
  try {
    await RemoteSession.connect({ host, port: 7070, plain: true, user: 'alice', credential: { password: 'x' }, connectAttempts: 1, ...extra });
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('it connected');
}

describe('the engine refuses plain TCP to a network host', () => {
  it('with EINVAL naming the flag, before any lookup or connection', async () => {
    const network = spyNetwork();
    for (const host of NETWORK_HOSTS) {
      const err = await connectError(host);
      expect(err.code, host).toBe('EINVAL');
      expect(err.message).toMatch(new RegExp(`^refusing to connect without encryption to ${host.replace(/\./g, '\\.')}: .*--insecure-plain-on-network`));
    }
    expect(network.calls()).toBe(0);
  });

  it('goes ahead with insecurePlainOnNetwork (reaching the stubbed network), and over TLS', async () => {
    const network = spyNetwork();
    expect((await connectError('10.255.255.1', { insecurePlainOnNetwork: true })).code).not.toBe('EINVAL');
    expect(network.calls()).toBe(1);
    const tlsErr = await RemoteSession.connect({ host: '10.255.255.1', port: 7070, user: 'a', credential: { password: 'x' }, connectAttempts: 1 }).catch((e: unknown) => e);
    expect((tlsErr as FerryError).code).not.toBe('EINVAL');
    expect(network.calls()).toBe(2);
  });
});

describe('the app refuses plain TCP to a network host', () => {
  it('session:connect fails EINVAL before connecting, unless the profile allows it; profiles keep the option', async () => {
    const backend = createBackend({ configDir: await tempDir('ferry-config-'), downloadDir: await tempDir('ferry-downloads-'), connectTimeoutMs: 1000 });
    try {
      const network = spyNetwork();
      const input = { host: '10.255.255.1', port: 7070, user: 'alice', password: 'x', plain: true };
      const refused = await callBackend(backend, 'session:connect', input);
      expect(refused).toMatchObject({ ok: false, error: { code: 'EINVAL', message: expect.stringContaining('--insecure-plain-on-network') } });
      expect(network.calls()).toBe(0);

      const allowed = await callBackend(backend, 'session:connect', { ...input, insecurePlainOnNetwork: true });
      expect(allowed.ok).toBe(false);
      expect(!allowed.ok && allowed.error.code).not.toBe('EINVAL');
      expect(network.calls()).toBeGreaterThan(0);

      const saved = await callBackend(backend, 'profiles:save', { name: 'lab', host: '10.255.255.1', port: 7070, user: 'alice', plain: true, insecurePlainOnNetwork: true });
      expect(saved).toMatchObject({ ok: true, value: { insecurePlainOnNetwork: true } });
      const listed = await callBackend(backend, 'profiles:list');
      expect(listed.ok && listed.value.find((p) => p.name === 'lab')).toMatchObject({ plain: true, insecurePlainOnNetwork: true });
    } finally {
      await backend.dispose();
    }
  });
});
