/**
 * The checks that prove a transfer arrived intact (PROTOCOL.md 6.1, 6.2, 6.6): the whole
 * file's SHA-256, or its XXH3-128 (a fast checksum that catches corruption, not an
 * attacker: TLS authenticates the channel). One definition for the protocol, the server,
 * the engine and the front ends.
 */

export const CHECK_ALGORITHMS = ['sha256', 'xxh128'] as const;
export type CheckAlgorithm = (typeof CHECK_ALGORITHMS)[number];

/** What a `put`, `get` or `read` without `check` uses: older clients speak only SHA-256. */
export const PROTOCOL_DEFAULT_CHECK: CheckAlgorithm = 'sha256';
/** What Ferry's own client asks for when the server offers it (a setting asks for SHA-256). */
export const ENGINE_DEFAULT_CHECK: CheckAlgorithm = 'xxh128';

/** A SHA-256 as the protocol writes it: 64 lowercase hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** An XXH3-128 (seed 0) as `xxhsum -H2` prints it: 32 lowercase hex digits, big-endian. */
export const XXH128_HEX = /^[0-9a-f]{32}$/;

export const CHECK_HEX: Readonly<Record<CheckAlgorithm, RegExp>> = { sha256: SHA256_HEX, xxh128: XXH128_HEX };

/** A file's digest with the algorithm that made it. */
export interface Digest {
  readonly algorithm: CheckAlgorithm;
  readonly hex: string;
}

/** The protocol field that carries a digest: `sha256` or `xxh128`, named after its algorithm. */
export type DigestField = { readonly sha256: string; readonly xxh128?: never } | { readonly xxh128: string; readonly sha256?: never };

export function digestField(digest: Digest): DigestField {
  return digest.algorithm === 'xxh128' ? { xxh128: digest.hex } : { sha256: digest.hex };
}

/** The digest a message carries in its `sha256` or `xxh128` field (null: neither, or not well formed). */
export function digestOf(fields: { readonly sha256?: string | undefined; readonly xxh128?: string | undefined }): Digest | null {
  if (fields.xxh128 !== undefined && XXH128_HEX.test(fields.xxh128)) return { algorithm: 'xxh128', hex: fields.xxh128 };
  if (fields.sha256 !== undefined && SHA256_HEX.test(fields.sha256)) return { algorithm: 'sha256', hex: fields.sha256 };
  return null;
}

/** The algorithm of a stored digest's hex, by its length (64: SHA-256, 32: XXH3-128). */
export function algorithmOfHex(hex: string): CheckAlgorithm | null {
  if (SHA256_HEX.test(hex)) return 'sha256';
  if (XXH128_HEX.test(hex)) return 'xxh128';
  return null;
}

export function isCheck(value: string): value is CheckAlgorithm {
  return (CHECK_ALGORITHMS as readonly string[]).includes(value);
}

/** How people read the algorithm's name. */
export const CHECK_NAMES: Readonly<Record<CheckAlgorithm, string>> = { sha256: 'SHA-256', xxh128: 'XXH3-128' };

/**
 * The `check` field of a put, get or read: nothing for SHA-256 (the protocol's default, so
 * an older server sees the request it always saw), `{check}` otherwise.
 */
export function checkField(check: CheckAlgorithm): { readonly check?: CheckAlgorithm } {
  return check === PROTOCOL_DEFAULT_CHECK ? {} : { check };
}

/** A digest given as a Digest, or as a bare hex string meaning SHA-256 (the protocol's default). */
export function asDigest(expected: Digest | string): Digest {
  return typeof expected === 'string' ? { algorithm: 'sha256', hex: expected } : expected;
}
