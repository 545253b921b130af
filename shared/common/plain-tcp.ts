/**
 * Plain TCP (no TLS) is for loopback: on a network anyone on the path reads every file and
 * command, and can take over the login (nothing binds it to a channel). Both ends refuse
 * it on a non-loopback address unless told so explicitly, by the same-named option.
 */
import { FerryError } from './errors.js';

/** The flag (ferryd serve, ferry) and, without its dashes in camel case, the option that allows it. */
export const PLAIN_ON_NETWORK_FLAG = '--insecure-plain-on-network';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Octets(text: string): number[] | null {
  const m = IPV4.exec(text);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail allowed), or null. */
function ipv6Groups(text: string): number[] | null {
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // "::ffff:127.0.0.1" is "::ffff:7f00:1".
    const v4 = ipv4Octets(text.slice(lastColon + 1));
    if (v4 === null) return null;
    hex = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map((g) => parseInt(g, 16)) : null;
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (left === null || right === null) return null;
  const known = left.length + right.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return null;
  return [...left, ...new Array<number>(8 - known).fill(0), ...right];
}

/**
 * True for a host that is this machine by its spelling alone, without resolving anything:
 * 127.0.0.0/8, ::1 (also bracketed, or as ::ffff:127.x.y.z) and "localhost". A name that
 * only resolves to loopback (an /etc/hosts entry) does not count.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  const v4 = ipv4Octets(h);
  if (v4 !== null) return v4[0] === 127;
  if (!h.includes(':')) return false;
  const g = ipv6Groups(h);
  if (g === null) return false;
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true;
  // ::ffff:127.x.y.z, an IPv4 loopback address in IPv6 form.
  return g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff && g[6]! >> 8 === 127;
}

/**
 * Throw EINVAL when plain TCP would go to (or listen on) a non-loopback `host` and the
 * person did not allow it explicitly. `side` words the one-line error for who asked.
 */
export function assertPlainAllowed(options: { readonly host: string; readonly plain: boolean; readonly insecurePlainOnNetwork?: boolean }, side: 'server' | 'client'): void {
  if (!options.plain || options.insecurePlainOnNetwork === true || isLoopbackHost(options.host)) return;
  const what = side === 'server' ? `to serve --plain on ${options.host}` : `to connect without encryption to ${options.host}`;
  throw new FerryError(
    'EINVAL',
    `refusing ${what}: plain TCP is for loopback only (127.0.0.1, ::1, localhost), since anyone on the network could read the files and take over the session. Use TLS, or ${PLAIN_ON_NETWORK_FLAG} if this network is trusted.`,
  );
}
