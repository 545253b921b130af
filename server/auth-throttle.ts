/**
 * Failed-login throttle. Failures are counted per client address and per user name
 * separately, within a sliding window: one address guessing many users and many
 * addresses guessing one user are both caught. Each failure is answered after a delay
 * that doubles with recent failures; after `lockoutAfter` failures for the address or
 * the user, logins are refused until the window has moved past enough of them.
 *
 * Memory is bounded: each key keeps at most `lockoutAfter` timestamps (enough to decide
 * both the delay and the lockout), and each map keeps at most `maxKeys` keys, dropping
 * the least recently failed when full.
 */
import { isIPv6 } from 'node:net';

export interface AuthThrottleOptions {
  /** Clock in ms (injectable for tests). */
  now?: () => number;
  /** Delay after the first recent failure (ms). Default 250. */
  baseDelayMs?: number;
  /** Cap on the delay (ms). Default 4000. */
  maxDelayMs?: number;
  /** Failures within the window that lock the address or the user out. Default 10. */
  lockoutAfter?: number;
  /** Sliding window (ms). Default 15 minutes. */
  windowMs?: number;
  /** Keys kept per map (addresses, users). Default 10,000. */
  maxKeys?: number;
}

export interface ThrottleDecision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise how long until a login will be accepted again. */
  readonly retryAfterMs: number;
}

/**
 * The key for an address. IPv6 clients usually control a whole /64, so counting single
 * addresses there would let one client rotate through 2^64 of them; IPv4-mapped IPv6
 * addresses count as their IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, ''); // drop a zone id ('fe80::1%eth0')
  if (!isIPv6(bare)) return address;
  const [head = '', tail = ''] = bare.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (a.b.c.d) fills two groups; it only matters for the count.
  const width = (groups: string[]): number => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = bare.includes('::')
    ? [...headGroups, ...Array<string>(8 - width(headGroups) - width(tailGroups)).fill('0'), ...tailGroups]
    : headGroups;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

interface Failure {
  readonly at: number;
  /** The user name an address failure was for (so that user's success can take it back). */
  readonly tag: string;
}

class FailureLog {
  /** key -> failures, oldest first, at most `keep` of them. Map order = least recently failed first. */
  private readonly entries = new Map<string, Failure[]>();

  constructor(
    private readonly keep: number,
    private readonly maxKeys: number,
  ) {}

  /** Recent failure times of `key` (pruned to the window), oldest first. */
  recent(key: string, since: number): readonly number[] {
    const failures = this.entries.get(key);
    if (failures === undefined) return [];
    while (failures.length > 0 && failures[0]!.at <= since) failures.shift();
    if (failures.length === 0) this.entries.delete(key);
    return failures.map((f) => f.at);
  }

  add(key: string, at: number, since: number, tag = ''): void {
    this.recent(key, since);
    const failures = [...(this.entries.get(key) ?? []), { at, tag }];
    if (failures.length > this.keep) failures.splice(0, failures.length - this.keep);
    // Re-insert so the map's order is by last failure; evict the stalest when full.
    this.entries.delete(key);
    this.entries.set(key, failures);
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Forget the key's failures (only those with `tag`, when given). */
  clear(key: string, tag?: string): void {
    if (tag === undefined) {
      this.entries.delete(key);
      return;
    }
    const left = (this.entries.get(key) ?? []).filter((f) => f.tag !== tag);
    if (left.length === 0) this.entries.delete(key);
    else this.entries.set(key, left);
  }

  get size(): number {
    return this.entries.size;
  }
}

export class AuthThrottle {
  private readonly now: () => number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly lockoutAfter: number;
  private readonly windowMs: number;
  private readonly addresses: FailureLog;
  private readonly users: FailureLog;

  constructor(options: AuthThrottleOptions = {}) {
    this.now = options.now ?? Date.now;
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? 250);
    this.maxDelayMs = Math.max(this.baseDelayMs, options.maxDelayMs ?? 4000);
    this.lockoutAfter = Math.max(1, Math.floor(options.lockoutAfter ?? 10));
    this.windowMs = Math.max(1, options.windowMs ?? 15 * 60_000);
    const maxKeys = Math.max(1, Math.floor(options.maxKeys ?? 10_000));
    this.addresses = new FailureLog(this.lockoutAfter, maxKeys);
    this.users = new FailureLog(this.lockoutAfter, maxKeys);
  }

  /** Whether a login from `address` for `user` may proceed now. */
  check(address: string, user: string): ThrottleDecision {
    const now = this.now();
    const since = now - this.windowMs;
    let retryAfterMs = 0;
    for (const times of [this.addresses.recent(addressKey(address), since), this.users.recent(user, since)]) {
      if (times.length >= this.lockoutAfter) {
        // Allowed again once the oldest kept failure leaves the window (only the last
        // `lockoutAfter` are kept, so that drops the count below the limit).
        retryAfterMs = Math.max(retryAfterMs, times[times.length - this.lockoutAfter]! + this.windowMs - now);
      }
    }
    return retryAfterMs > 0 ? { allowed: false, retryAfterMs: Math.ceil(retryAfterMs) } : { allowed: true, retryAfterMs: 0 };
  }

  /**
   * How long to wait before answering a failure (call after failure()): baseDelayMs for
   * the first recent failure, doubling with each further one, up to maxDelayMs.
   */
  delayFor(address: string, user: string): number {
    const since = this.now() - this.windowMs;
    const count = Math.max(this.addresses.recent(addressKey(address), since).length, this.users.recent(user, since).length);
    const doublings = Math.min(Math.max(count - 1, 0), 30);
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** doublings);
  }

  failure(address: string, user: string): void {
    const now = this.now();
    const since = now - this.windowMs;
    this.addresses.add(addressKey(address), now, since, user);
    this.users.add(user, now, since);
  }

  success(address: string, user: string): void {
    // The address keeps its failures for other users: otherwise someone who owns one valid
    // account could reset their address's count between guesses at other accounts.
    this.addresses.clear(addressKey(address), user);
    this.users.clear(user);
  }

  /** Number of addresses and users currently tracked (for tests and diagnostics). */
  get tracked(): { addresses: number; users: number } {
    return { addresses: this.addresses.size, users: this.users.size };
  }
}
