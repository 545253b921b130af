/** What every connection of one running server shares. */
import type { AuthThrottle } from './auth-throttle.js';
import type { Storage, Account } from './storage.js';
import type { UserStore } from './user-store.js';

export interface Limits {
  readonly maxHeader: number;
  /** A frame header must be complete within this long of its first byte. */
  readonly frameDeadlineMs: number;
  /** hello + login must complete within this long. */
  readonly preAuthTimeoutMs: number;
  /** A logged-in connection with no traffic is closed after this long. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Not-yet-authenticated connections per remote address (like sshd's MaxStartups). */
  readonly maxUnauthPerAddress: number;
  /** Requests one connection may have running at once (bounds pipelining). */
  readonly maxInFlight: number;
  readonly maxExecsPerSession: number;
  readonly execTimeoutMs: number;
  readonly execMaxTimeoutMs: number;
  readonly execOutputCap: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeader: 64 * 1024,
  frameDeadlineMs: 30_000,
  preAuthTimeoutMs: 20_000,
  idleTimeoutMs: 30 * 60_000,
  maxConnections: 4096,
  maxUnauthPerAddress: 64,
  maxInFlight: 64,
  maxExecsPerSession: 8,
  execTimeoutMs: 10 * 60_000,
  execMaxTimeoutMs: 24 * 60 * 60_000,
  execOutputCap: 256 * 1024 * 1024,
};

/** A login: one control connection plus the data connections attached with its ticket. */
export interface Session {
  readonly id: string;
  readonly ticket: Buffer;
  readonly account: Account;
  readonly exec: boolean;
  cwd: string;
  readonly connections: Set<unknown>;
  execs: number;
}

export interface ServerContext {
  readonly storage: Storage;
  readonly users: UserStore;
  readonly throttle: AuthThrottle;
  readonly fakeSaltSecret: Buffer;
  readonly sessions: Map<string, Session>;
  readonly limits: Limits;
  readonly plain: boolean;
  log(line: string): void;
}
