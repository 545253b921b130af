/**
 * The server's own TLS identity: an ECDSA P-256 key and a self-signed certificate, made
 * with nothing but node:crypto. Clients pin the SHA-256 of the public key (SPKI), like
 * SSH, so a certificate can be re-issued for the same key without tripping the pin.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { FerryError } from '../common/errors.js';
import { writeFileAtomic } from './atomic-file.js';

export interface TlsIdentity {
  /** PEM (PKCS#8) private key. */
  readonly key: string;
  /** PEM self-signed certificate. */
  readonly cert: string;
  /** 'SHA256:' + unpadded base64 of the SHA-256 of the public key (SPKI DER). */
  readonly fingerprint: string;
}

const KEY_FILE = 'key.pem';
const CERT_FILE = 'cert.pem';
const DAY_MS = 24 * 60 * 60 * 1000;
const VALIDITY_YEARS = 20;

/**
 * Load dir/key.pem and dir/cert.pem, or create them. A missing or expired certificate
 * is re-issued for the existing key, so the fingerprint clients pinned stays valid.
 */
export async function loadOrCreateIdentity(
  dir: string,
  commonName = 'ferryd',
): Promise<{ identity: TlsIdentity; created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, KEY_FILE);
  const certPath = join(dir, CERT_FILE);
  const keyPem = await readIfExists(keyPath);
  const certPem = await readIfExists(certPath);

  if (keyPem === undefined) {
    if (certPem !== undefined) {
      throw new FerryError(
        'EIO',
        `${certPath} exists but its private key ${keyPath} is missing. Restore the key, or delete ` +
          `${certPath} to create a new identity (clients will then report a changed server key).`,
      );
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const cert = selfSignedCertificate(key, commonName);
    // Key first: a crash between the two writes leaves a key whose cert is re-issued next time.
    await writeAtomic(keyPath, key, 0o600);
    await writeAtomic(certPath, cert, 0o644);
    return { identity: { key, cert, fingerprint: fingerprintOfCert(cert) }, created: true };
  }

  let privateKey;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    throw new FerryError('EIO', `${keyPath} is not a readable PEM private key (${(err as Error).message}).`);
  }
  const keySpki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });

  let cert = certPem;
  if (cert !== undefined) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch (err) {
      throw new FerryError(
        'EIO',
        `${certPath} is not a readable PEM certificate (${(err as Error).message}). Delete it to re-issue one for the existing key.`,
      );
    }
    const certSpki = x509.publicKey.export({ type: 'spki', format: 'der' });
    if (!certSpki.equals(keySpki)) {
      throw new FerryError(
        'EIO',
        `${certPath} does not belong to the key in ${keyPath}. Delete ${certPath} to re-issue one for the existing key.`,
      );
    }
    if (Date.parse(x509.validTo) <= Date.now()) cert = undefined; // expired: re-issue
  }
  if (cert === undefined) {
    cert = selfSignedCertificate(keyPem, commonName);
    await writeAtomic(certPath, cert, 0o644);
  }
  return { identity: { key: keyPem, cert, fingerprint: spkiFingerprint(keySpki) }, created: false };
}

/** OpenSSH-style fingerprint of a DER SubjectPublicKeyInfo. */
export function spkiFingerprint(publicKeyDer: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyDer).digest('base64').replace(/=+$/, '');
}

export function fingerprintOfCert(certPem: string | Buffer): string {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new FerryError('EINVAL', `Not a readable X.509 certificate (${(err as Error).message}).`);
  }
  return spkiFingerprint(x509.publicKey.export({ type: 'spki', format: 'der' }));
}

/** The fingerprint of the certificate the other end of a TLS connection presented. */
export function peerFingerprint(socket: TLSSocket): string {
  const x509 = socket.getPeerX509Certificate();
  if (x509 === undefined) {
    throw new FerryError('EPROTO', 'The peer did not present a TLS certificate, so its identity cannot be checked.');
  }
  return spkiFingerprint(x509.publicKey.export({ type: 'spki', format: 'der' }));
}

// ---- The certificate -------------------------------------------------------------------

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** Build and sign a self-signed X.509 v3 certificate for `keyPem` (an EC P-256 key). */
function selfSignedCertificate(keyPem: string, commonName: string): string {
  const privateKey = createPrivateKey(keyPem);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });

  // Positive and minimal: clear the sign bit and set the next so the first byte is never 0.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;

  const now = Date.now();
  const notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);

  const algorithm = der.sequence(der.oid(OID_ECDSA_WITH_SHA256)); // parameters absent (RFC 5758)
  const name = der.sequence(der.set(der.sequence(der.oid(OID_COMMON_NAME), der.utf8(commonName))));
  const extensions = der.sequence(
    // basicConstraints, critical, cA FALSE (the default, so an empty SEQUENCE).
    der.sequence(der.oid(OID_BASIC_CONSTRAINTS), der.boolean(true), der.octetString(der.sequence())),
    der.sequence(
      der.oid(OID_SUBJECT_ALT_NAME),
      der.octetString(
        der.sequence(
          der.tagged(0x82, Buffer.from('localhost', 'ascii')), // [2] dNSName
          der.tagged(0x87, Buffer.from([127, 0, 0, 1])), // [7] iPAddress
        ),
      ),
    ),
  );
  const tbs = der.sequence(
    der.tagged(0xa0, der.integer(Buffer.from([2]))), // [0] EXPLICIT version v3
    der.integer(serial),
    algorithm,
    name,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name,
    spki,
    der.tagged(0xa3, extensions), // [3] EXPLICIT extensions
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const certificate = der.sequence(tbs, algorithm, der.bitString(signature));
  const body = certificate.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

/** Just enough DER to write a certificate. */
const der = {
  tagged(tag: number, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
  },
  sequence(...items: Buffer[]): Buffer {
    return der.tagged(0x30, Buffer.concat(items));
  },
  set(...items: Buffer[]): Buffer {
    // DER sorts SET OF members; every SET here has exactly one.
    return der.tagged(0x31, Buffer.concat(items));
  },
  boolean(value: boolean): Buffer {
    return der.tagged(0x01, Buffer.from([value ? 0xff : 0x00]));
  },
  /** `bytes` is a big-endian unsigned magnitude; a sign byte is added when needed. */
  integer(bytes: Buffer): Buffer {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let value = bytes.subarray(start);
    if (value.length === 0) value = Buffer.from([0]);
    if (value[0]! & 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return der.tagged(0x02, value);
  },
  oid(dotted: string): Buffer {
    const parts = dotted.split('.').map(Number);
    const bytes: number[] = [parts[0]! * 40 + parts[1]!];
    for (const part of parts.slice(2)) {
      const chunk: number[] = [part & 0x7f];
      for (let rest = Math.floor(part / 128); rest > 0; rest = Math.floor(rest / 128)) chunk.unshift((rest & 0x7f) | 0x80);
      bytes.push(...chunk);
    }
    return der.tagged(0x06, Buffer.from(bytes));
  },
  utf8(text: string): Buffer {
    return der.tagged(0x0c, Buffer.from(text, 'utf8'));
  },
  octetString(content: Buffer): Buffer {
    return der.tagged(0x04, content);
  },
  bitString(content: Buffer): Buffer {
    return der.tagged(0x03, Buffer.concat([Buffer.from([0]), content])); // 0 unused bits
  },
  /** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050. */
  time(date: Date): Buffer {
    const pad = (n: number): string => String(n).padStart(2, '0');
    const year = date.getUTCFullYear();
    const rest =
      pad(date.getUTCMonth() + 1) +
      pad(date.getUTCDate()) +
      pad(date.getUTCHours()) +
      pad(date.getUTCMinutes()) +
      pad(date.getUTCSeconds()) +
      'Z';
    return year >= 2050 || year < 1950
      ? der.tagged(0x18, Buffer.from(String(year).padStart(4, '0') + rest, 'ascii'))
      : der.tagged(0x17, Buffer.from(pad(year % 100) + rest, 'ascii'));
  },
};

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

// ---- Files -------------------------------------------------------------------------------

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FerryError('EIO', `Cannot read ${path} (${(err as Error).message}).`);
  }
}

/** Replace the file atomically and durably (atomic-file.ts), with exactly these permissions. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode });
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError('EIO', `Cannot write ${path} (${(err as Error).message}).`);
  }
}
