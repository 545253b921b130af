import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, stat, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { loadOrCreateIdentity, spkiFingerprint, fingerprintOfCert, peerFingerprint } from '../../shared/node/tls-identity.js';
import { FerryError } from '../../shared/common/errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-tls-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadOrCreateIdentity', () => {
  it('creates a key and a self-signed certificate that verifies with its own key', async () => {
    const dir = join(root, 'tls');
    const { identity, created } = await loadOrCreateIdentity(dir);
    expect(created).toBe(true);
    const x509 = new X509Certificate(identity.cert);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkIssued(x509)).toBe(true);
    expect(x509.subject).toBe('CN=ferryd');
    expect(x509.issuer).toBe('CN=ferryd');
    expect(x509.ca).toBe(false);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.checkPrivateKey(createPrivateKey(identity.key))).toBe(true);
    // Valid from yesterday to about 20 years from now (GeneralizedTime past 2049).
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    expect(from).toBeLessThan(Date.now() - 23 * 3600_000);
    expect(new Date(to).getUTCFullYear()).toBe(new Date().getUTCFullYear() + 20);
    // A positive serial of 16 bytes.
    expect(x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(identity.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(identity.fingerprint).toBe(fingerprintOfCert(identity.cert));
  });

  it('writes validity dates past 2049 as GeneralizedTime', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2040, 5, 1) });
    try {
      const { identity } = await loadOrCreateIdentity(join(root, 'tls'));
      const x509 = new X509Certificate(identity.cert);
      expect(new Date(x509.validTo).getUTCFullYear()).toBe(2060);
      expect(new Date(x509.validFrom).toISOString()).toBe('2040-05-31T00:00:00.000Z');
      expect(x509.verify(x509.publicKey)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('uses the given common name', async () => {
    const { identity } = await loadOrCreateIdentity(join(root, 'tls'), 'files.example.com');
    expect(new X509Certificate(identity.cert).subject).toBe('CN=files.example.com');
  });

  it('keeps the key private and the folder closed', async () => {
    const dir = join(root, 'tls');
    await loadOrCreateIdentity(dir);
    expect((await stat(join(dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await readdir(dir)).sort()).toEqual(['cert.pem', 'key.pem']); // no temporary files left
  });

  it('reloads the same identity with a stable fingerprint', async () => {
    const dir = join(root, 'tls');
    const first = await loadOrCreateIdentity(dir);
    const second = await loadOrCreateIdentity(dir);
    expect(second.created).toBe(false);
    expect(second.identity).toEqual(first.identity);
  });

  it('re-issues a missing certificate for the same key, keeping the fingerprint', async () => {
    const dir = join(root, 'tls');
    const first = await loadOrCreateIdentity(dir);
    await unlink(join(dir, 'cert.pem'));
    const second = await loadOrCreateIdentity(dir);
    expect(second.created).toBe(false);
    expect(second.identity.cert).not.toBe(first.identity.cert);
    expect(second.identity.fingerprint).toBe(first.identity.fingerprint);
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe(second.identity.cert);
  });

  it('refuses a certificate that belongs to another key', async () => {
    const a = await loadOrCreateIdentity(join(root, 'a'));
    await loadOrCreateIdentity(join(root, 'b'));
    await writeFile(join(root, 'b', 'cert.pem'), a.identity.cert);
    await expect(loadOrCreateIdentity(join(root, 'b'))).rejects.toMatchObject({ code: 'EIO', message: /does not belong/ });
  });

  it('refuses a certificate without its key rather than silently changing identity', async () => {
    const dir = join(root, 'tls');
    await loadOrCreateIdentity(dir);
    await unlink(join(dir, 'key.pem'));
    const err = await loadOrCreateIdentity(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('EIO');
    expect((err as FerryError).message).toMatch(/key.*missing/);
  });
});

describe('fingerprints', () => {
  it('formats like OpenSSH: SHA256 and unpadded base64', () => {
    const der = Buffer.from('any public key bytes');
    const expected = createHash('sha256').update(der).digest('base64').replace(/=+$/, '');
    expect(spkiFingerprint(der)).toBe(`SHA256:${expected}`);
    expect(spkiFingerprint(der)).not.toContain('=');
  });

  it('rejects something that is not a certificate', () => {
    expect(() => fingerprintOfCert('not a cert')).toThrow(FerryError);
  });

  it('is what a TLS 1.3 client sees as the peer fingerprint', async () => {
    const { identity } = await loadOrCreateIdentity(join(root, 'tls'));
    const server = tls.createServer({ key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3' }, (socket) => {
      socket.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const { fingerprint, protocol, data } = await new Promise<{ fingerprint: string; protocol: string | null; data: string }>(
        (resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
            const fp = peerFingerprint(socket);
            let text = '';
            socket.setEncoding('utf8');
            socket.on('data', (chunk: string) => (text += chunk));
            socket.on('end', () => resolve({ fingerprint: fp, protocol: socket.getProtocol(), data: text }));
          });
          socket.on('error', reject);
        },
      );
      expect(protocol).toBe('TLSv1.3');
      expect(data).toBe('hello');
      expect(fingerprint).toBe(identity.fingerprint);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
