/** Which hosts count as loopback for plain TCP, by their spelling alone. */
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../shared/common/errors.js';
import { assertPlainAllowed, isLoopbackHost } from '../../shared/common/plain-tcp.js';

describe('isLoopbackHost', () => {
  it('accepts 127.0.0.0/8, ::1 in its spellings, ::ffff:127.x and localhost', () => {
    for (const host of ['127.0.0.1', '127.255.255.254', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '0::1', '::ffff:127.0.0.1', '[::FFFF:7f00:1]', 'localhost', 'LOCALHOST', 'localhost.']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('refuses every other address and every name, even one that may resolve to loopback', () => {
    const others = [
      '0.0.0.0',
      '::',
      '10.255.255.1',
      '192.168.1.10',
      '128.0.0.1',
      '126.255.255.255',
      '127.0.0.256',
      '127.1', // a shorthand the resolver would expand: not spelled as loopback
      '::2',
      '1::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1.5',
      'fe80::1%lo',
      'example.invalid',
      'localhost.example.com',
      'my-laptop',
      '',
    ];
    for (const host of others) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('assertPlainAllowed', () => {
  it('allows TLS anywhere, plain on loopback, and plain on a network only when asked explicitly', () => {
    expect(() => assertPlainAllowed({ host: '10.0.0.5', plain: false }, 'client')).not.toThrow();
    expect(() => assertPlainAllowed({ host: '127.0.0.1', plain: true }, 'client')).not.toThrow();
    expect(() => assertPlainAllowed({ host: '10.0.0.5', plain: true, insecurePlainOnNetwork: true }, 'client')).not.toThrow();
  });

  it('refuses plain on a network with one EINVAL line naming the flag', () => {
    for (const side of ['client', 'server'] as const) {
      let err: unknown;
      try {
        assertPlainAllowed({ host: '0.0.0.0', plain: true }, side);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('EINVAL');
      expect((err as FerryError).message).toContain('--insecure-plain-on-network');
      expect((err as FerryError).message).not.toContain('\n');
    }
  });
});
