/**
 * Failed-login throttle. Only a wrong proof counts (an abandoned login costs the server
 * nothing and proves nothing). Failures lock a (user, address range) pair, and an address
 * range that guesses at many users; for a user as a whole, failures from anywhere only
 * slow logins down (a bounded delay), so nobody can lock someone else out from elsewhere.
 *
 * Memory is bounded without forgetting anyone in force: a key is dropped only once its
 * failures have left the window; when a table is full of keys in force, new ones are not
 * tracked (and the caller is told). IPv6 ranges that misbehave are tracked as one
 * (/64, then /56, then /48), so one client cannot fill the table by rotating addresses.
 */
import { isIPv6 } from 'node:net';

export interface AuthThrottleOptions {
  /** Clock in ms (injectable for tests). */
  now?: () => number;
  /** Delay after the first recent failure from a range (ms). Default 250. */
  baseDelayMs?: number;
  /** Cap on that delay (ms). Default 4000. */
  maxDelayMs?: number;
  /** Failures within the window that lock one user out from one address range. Default 10. */
  lockoutAfter?: number;
  /** Failures within the window (for any users) that lock an address range out. Default 20. */
  addressLockoutAfter?: number;
  /** Cap on the slow-down of every login of a user who failed recently, from anywhere (ms). Default 2000. */
  userMaxDelayMs?: number;
  /** Sliding window (ms). Default 15 minutes. */
  windowMs?: number;
  /** Keys kept per table (address ranges, users). Default 10,000. */
  maxKeys?: number;
}

export interface ThrottleDecision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise how long until a login will be accepted again. */
  readonly retryAfterMs: number;
}

/** A /56 with this many tracked ranges below it is tracked as one from then on. */
const GROUP_56_AFTER = 4;
/** A /48 with this many tracked ranges below it is tracked as one from then on. */
const GROUP_48_AFTER = 16;
/** Failures kept per user: enough for the slow-down to reach its cap. */
const USER_FAILURES_KEPT = 16;

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail fills two). */
function ipv6Groups(bare: string): number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = bare.toLowerCase().split('::');
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * The ranges an address belongs to, finest first: an IPv4 address alone (IPv4-mapped
 * IPv6 counts as IPv4); an IPv6 address's /64 (clients usually control a whole one),
 * /56 and /48.
 */
export function addressRanges(address: string): readonly string[] {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return [mapped[1]!];
  const bare = address.replace(/%.*$/, ''); // drop a zone id ('fe80::1%eth0')
  if (!isIPv6(bare)) return [address];
  const [a, b, c, d] = ipv6Groups(bare).map((g) => g.toString(16));
  return [`${a}:${b}:${c}:${d}::/64`, `${a}:${b}:${c}:${(parseInt(d!, 16) & 0xff00).toString(16)}::/56`, `${a}:${b}:${c}::/48`];
}

/** The finest range of an address (the key of the per-address connection limits). */
export function addressKey(address: string): string {
  return addressRanges(address)[0]!;
}

interface Failure {
  readonly at: number;
  /** Ranges table: the user name. Users table: the range. */
  readonly tag: string;
}

/**
 * Failures per key within the window, at most `keep` per key. Map order is by last
 * failure, so keys whose failures all left the window are at the front.
 */
class FailureTable {
  private readonly entries = new Map<string, Failure[]>();

  constructor(
    private readonly keep: number,
    private readonly maxKeys: number,
    /** A key starts or stops being tracked. */
    private readonly onTracked: (key: string, step: 1 | -1) => void = () => undefined,
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Recent failures of `key` (pruned to the window), oldest first. */
  recent(key: string, since: number): readonly Failure[] {
    const failures = this.entries.get(key);
    if (failures === undefined) return [];
    while (failures.length > 0 && failures[0]!.at <= since) failures.shift();
    if (failures.length === 0) this.remove(key);
    return failures;
  }

  /** Record a failure; false when the table is full of keys in force (not tracked). */
  add(key: string, failure: Failure, since: number): boolean {
    const failures = [...this.recent(key, since), failure];
    if (failures.length > this.keep) failures.splice(0, failures.length - this.keep);
    const known = this.entries.delete(key);
    if (!known) {
      this.dropExpired(since);
      if (this.entries.size >= this.maxKeys) return false;
    }
    this.entries.set(key, failures);
    if (!known) this.onTracked(key, 1);
    return true;
  }

  /** Forget the key's failures whose tag is in `tags`. */
  clear(key: string, tags: ReadonlySet<string>): void {
    const failures = this.entries.get(key);
    if (failures === undefined) return;
    const left = failures.filter((f) => !tags.has(f.tag));
    if (left.length === 0) this.remove(key);
    else this.entries.set(key, left);
  }

  get size(): number {
    return this.entries.size;
  }

  private dropExpired(since: number): void {
    for (const [key, failures] of this.entries) {
      if (failures.length > 0 && failures[failures.length - 1]!.at > since) return;
      this.remove(key);
    }
  }

  private remove(key: string): void {
    if (this.entries.delete(key)) this.onTracked(key, -1);
  }
}

export class AuthThrottle {
  private readonly now: () => number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly userMaxDelayMs: number;
  private readonly lockoutAfter: number;
  private readonly addressLockoutAfter: number;
  private readonly windowMs: number;
  private readonly ranges: FailureTable;
  private readonly users: FailureTable;
  /** Tracked ranges below each /56 and /48 (what decides when they are grouped). */
  private readonly below = new Map<string, number>();

  constructor(options: AuthThrottleOptions = {}) {
    this.now = options.now ?? Date.now;
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? 250);
    this.maxDelayMs = Math.max(this.baseDelayMs, options.maxDelayMs ?? 4000);
    this.userMaxDelayMs = Math.max(0, options.userMaxDelayMs ?? 2000);
    this.lockoutAfter = Math.max(1, Math.floor(options.lockoutAfter ?? 10));
    // A range keeps as many failures as the larger lock needs (the pair's are among them).
    this.addressLockoutAfter = Math.max(this.lockoutAfter, Math.floor(options.addressLockoutAfter ?? 20));
    this.windowMs = Math.max(1, options.windowMs ?? 15 * 60_000);
    const maxKeys = Math.max(1, Math.floor(options.maxKeys ?? 10_000));
    this.ranges = new FailureTable(this.addressLockoutAfter, maxKeys, (key, step) => this.countBelow(key, step));
    this.users = new FailureTable(USER_FAILURES_KEPT, maxKeys);
  }

  /**
   * Whether a login from `address` for `user` may be checked now: refused while this
   * user is locked out from this address's range, or the range is locked out for all.
   */
  check(address: string, user: string): ThrottleDecision {
    const now = this.now();
    let until = 0;
    for (const failures of this.trackedRanges(address, now)) {
      const mine = failures.filter((f) => f.tag === user);
      until = Math.max(until, this.lockedUntil(mine, this.lockoutAfter), this.lockedUntil(failures, this.addressLockoutAfter));
    }
    const retryAfterMs = Math.ceil(until - now);
    return retryAfterMs > 0 ? { allowed: false, retryAfterMs } : { allowed: true, retryAfterMs: 0 };
  }

  /**
   * How long to hold any login of `user` before its proof is checked: 0 without recent
   * failures, else baseDelayMs doubling with each, up to userMaxDelayMs. Failures from
   * anywhere count, so guessing at one account from many addresses is slowed down,
   * without ever refusing the right password from an address that did not fail.
   */
  userDelay(user: string): number {
    const count = this.users.recent(user, this.now() - this.windowMs).length;
    return count === 0 ? 0 : Math.min(this.userMaxDelayMs, this.doubling(count));
  }

  /**
   * How long to wait before answering a failure (call after failure()): baseDelayMs for
   * the range's first recent failure, doubling with each further one, up to maxDelayMs.
   */
  delayFor(address: string): number {
    const count = Math.max(0, ...this.trackedRanges(address, this.now()).map((f) => f.length));
    return Math.min(this.maxDelayMs, this.doubling(count));
  }

  /** Count a wrong proof. False when a table was full and the failure could not be kept. */
  failure(address: string, user: string): boolean {
    const now = this.now();
    const since = now - this.windowMs;
    const range = this.rangeFor(address);
    const byRange = this.ranges.add(range, { at: now, tag: user }, since);
    const byUser = this.users.add(user, { at: now, tag: range }, since);
    return byRange && byUser;
  }

  /**
   * A right proof: forget this user's failures from this address's ranges. The range keeps
   * its failures for other users: otherwise someone who owns one valid account could reset
   * their range's count between guesses at other accounts.
   */
  success(address: string, user: string): void {
    const mine = new Set(addressRanges(address));
    for (const range of mine) this.ranges.clear(range, new Set([user]));
    this.users.clear(user, mine);
  }

  /** Number of ranges and users currently tracked (for tests and diagnostics). */
  get tracked(): { addresses: number; users: number } {
    return { addresses: this.ranges.size, users: this.users.size };
  }

  private doubling(count: number): number {
    return this.baseDelayMs * 2 ** Math.min(Math.max(count - 1, 0), 30);
  }

  /** When the newest `limit` failures leave the window (0 when there are fewer). */
  private lockedUntil(failures: readonly Failure[], limit: number): number {
    return failures.length >= limit ? failures[failures.length - limit]!.at + this.windowMs : 0;
  }

  /** The recent failures of each tracked range that contains `address`. */
  private trackedRanges(address: string, now: number): Array<readonly Failure[]> {
    return addressRanges(address).map((range) => this.ranges.recent(range, now - this.windowMs));
  }

  /**
   * Where a failure from `address` is counted: a range already tracked as a group, or its
   * own range, unless the /56 (or /48) around it already holds enough tracked ranges: then
   * that wider range, as one.
   */
  private rangeFor(address: string): string {
    const [own, r56, r48] = addressRanges(address) as [string, string?, string?];
    if (r48 !== undefined && this.ranges.has(r48)) return r48;
    if (r56 !== undefined && this.ranges.has(r56)) return r56;
    if (this.ranges.has(own)) return own;
    if (r48 !== undefined && (this.below.get(r48) ?? 0) >= GROUP_48_AFTER) return r48;
    if (r56 !== undefined && (this.below.get(r56) ?? 0) >= GROUP_56_AFTER) return r56;
    return own;
  }

  /** Keep the counts of tracked ranges below each wider range of `range`. */
  private countBelow(range: string, step: 1 | -1): void {
    const match = /^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):([0-9a-f]+)::\/(64|56)$/.exec(range);
    if (!match) return;
    const [, head, fourth, bits] = match;
    const wider = [`${head}::/48`];
    if (bits === '64') wider.push(`${head}:${(parseInt(fourth!, 16) & 0xff00).toString(16)}::/56`);
    for (const key of wider) {
      const n = (this.below.get(key) ?? 0) + step;
      if (n <= 0) this.below.delete(key);
      else this.below.set(key, n);
    }
  }
}
