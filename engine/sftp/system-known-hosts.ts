/**
 * OpenSSH's own ~/.ssh/known_hosts, read only: a host key the person already trusts with
 * `ssh` is trusted by Ferry too. Understands what `ssh` writes and reads: plain and
 * hashed (`|1|salt|hmac`) host names, `[host]:port` for ports other than 22, comma lists,
 * `*`/`?` patterns and `!` negations, and the `@revoked` marker (a revoked key is refused;
 * `@cert-authority` lines are not used, so a certified key is asked about instead).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export type SystemKeyCheck =
  /** An entry for this host holds exactly this key. */
  | { readonly kind: 'known' }
  /** Entries for this host of the same key type hold another key: what a man in the middle looks like. */
  | { readonly kind: 'changed'; readonly expected: string }
  /** The key is marked @revoked. */
  | { readonly kind: 'revoked' }
  /** No entry decides (the file, the host or this key type is not there). */
  | { readonly kind: 'unknown' };

/** The SSH fingerprint of a public key blob, as `ssh-keygen -l` prints it. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name a public key blob starts with (`ssh-ed25519`, …). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return length > 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString('latin1') : '';
}

/** How known_hosts names a host: the bare name on port 22, else `[name]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(name);
}

function hashedMatch(entry: string, name: string): boolean {
  const [, magic, salt, hmac] = entry.split('|');
  if (magic !== '1' || salt === undefined || hmac === undefined) return false;
  const expected = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return expected === hmac;
}

/** Whether a known_hosts host field names `name` (one of the comma list, negations win). */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatch(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Check `blob` for `host`:`port` against known_hosts `text`. */
export function checkKnownHosts(text: string, host: string, port: number, blob: Buffer): SystemKeyCheck {
  const name = knownHostsName(host, port);
  const type = keyType(blob);
  const ours = blob.toString('base64');
  let sameTypeOther: string | undefined;
  let known = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    const [hosts, entryType, key] = fields;
    if (hosts === undefined || entryType === undefined || key === undefined) continue;
    if (marker === '@cert-authority') continue;
    if (!hostFieldMatches(hosts, name)) continue;
    if (marker === '@revoked') {
      if (key === ours) return { kind: 'revoked' };
      continue;
    }
    if (marker !== undefined) continue;
    if (key === ours) known = true;
    else if (entryType === type) sameTypeOther ??= keyFingerprintOf(key);
  }
  if (known) return { kind: 'known' };
  if (sameTypeOther !== undefined) return { kind: 'changed', expected: sameTypeOther };
  return { kind: 'unknown' };
}

function keyFingerprintOf(base64: string): string {
  return keyFingerprint(Buffer.from(base64, 'base64'));
}

/** checkKnownHosts() on a file; a missing or unreadable file decides nothing. */
export async function checkKnownHostsFile(file: string, host: string, port: number, blob: Buffer): Promise<SystemKeyCheck> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { kind: 'unknown' };
  }
  return checkKnownHosts(text, host, port, blob);
}
