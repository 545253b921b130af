/** Reading OpenSSH's known_hosts: plain, hashed, bracketed ports, patterns, negations and markers. */
import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { checkKnownHosts, keyFingerprint, keyType, knownHostsName } from '../../engine/sftp/system-known-hosts.js';

/** A public key blob as SSH sends it: the algorithm name, then key bytes. */
function blob(type: string, seed: number): Buffer {
  const name = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(name.length);
  return Buffer.concat([head, name, Buffer.alloc(32, seed)]);
}

const ED_A = blob('ssh-ed25519', 1);
const ED_B = blob('ssh-ed25519', 2);
const RSA = blob('ssh-rsa', 3);
const b64 = (b: Buffer): string => b.toString('base64');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names hosts as ssh does: bare on port 22, bracketed otherwise', () => {
    expect(knownHostsName('Example.COM', 22)).toBe('example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(keyType(ED_A)).toBe('ssh-ed25519');
    expect(keyFingerprint(ED_A)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('finds a key by plain name, comma list, pattern and hashed name', () => {
    expect(checkKnownHosts(`example.com ssh-ed25519 ${b64(ED_A)}\n`, 'example.com', 22, ED_A)).toEqual({ kind: 'known' });
    expect(checkKnownHosts(`other,[10.0.0.5]:2200 ssh-ed25519 ${b64(ED_A)}\n`, '10.0.0.5', 2200, ED_A)).toEqual({ kind: 'known' });
    expect(checkKnownHosts(`*.example.com ssh-ed25519 ${b64(ED_A)}\n`, 'a.example.com', 22, ED_A)).toEqual({ kind: 'known' });
    expect(checkKnownHosts(`${hashed('[127.0.0.1]:2222')} ssh-ed25519 ${b64(ED_A)}\n`, '127.0.0.1', 2222, ED_A)).toEqual({ kind: 'known' });
    // The same name on another port is another host.
    expect(checkKnownHosts(`example.com ssh-ed25519 ${b64(ED_A)}\n`, 'example.com', 2222, ED_A)).toEqual({ kind: 'unknown' });
  });

  it('a different key of the same type is a change; another type alone decides nothing', () => {
    const text = `# comment\n\nexample.com ssh-ed25519 ${b64(ED_A)}\nexample.com ssh-rsa ${b64(RSA)}\n`;
    expect(checkKnownHosts(text, 'example.com', 22, ED_B)).toEqual({ kind: 'changed', expected: keyFingerprint(ED_A) });
    expect(checkKnownHosts(`example.com ssh-rsa ${b64(RSA)}\n`, 'example.com', 22, ED_B)).toEqual({ kind: 'unknown' });
  });

  it('negated patterns exclude, @revoked refuses, @cert-authority is not used as a host key', () => {
    expect(checkKnownHosts(`*.example.com,!bad.example.com ssh-ed25519 ${b64(ED_A)}\n`, 'bad.example.com', 22, ED_A)).toEqual({ kind: 'unknown' });
    expect(checkKnownHosts(`@revoked * ssh-ed25519 ${b64(ED_A)}\nexample.com ssh-ed25519 ${b64(ED_A)}\n`, 'example.com', 22, ED_A)).toEqual({ kind: 'revoked' });
    expect(checkKnownHosts(`@cert-authority example.com ssh-ed25519 ${b64(ED_A)}\n`, 'example.com', 22, ED_A)).toEqual({ kind: 'unknown' });
  });
});
