/** What every connection of one running server shares. */
import { SEARCH_RESULTS_MAX, SEARCH_TIME_MAX_MS, SEARCH_VISITED_MAX } from '../shared/common/search-model.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { ExecHost } from './exec-host.js';
import type { Sessions } from './sessions.js';
import type { Storage } from './storage.js';
import type { UserStore } from './user-store.js';

export interface Limits {
  readonly maxHeader: number;
  /**
   * Before the login completes: the header cap (hello, auth, auth-final and attach are a
   * few hundred bytes), and the bytes received and not yet asked for that a connection
   * may hold before its socket is paused. Headers are parsed only when asked for.
   */
  readonly preAuthMaxHeader: number;
  readonly preAuthMaxQueuedBytes: number;
  /**
   * After the login: the bytes of headers received and not yet handled (requests
   * pipelined behind the running ones) a connection may hold before its socket is paused.
   */
  readonly maxQueuedHeaderBytes: number;
  /** A frame header must be complete within this long of its first byte. */
  readonly frameDeadlineMs: number;
  /** hello + login must complete within this long. */
  readonly preAuthTimeoutMs: number;
  /** A logged-in connection with no traffic is closed after this long. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Not-yet-authenticated connections per remote address (like sshd's MaxStartups). */
  readonly maxUnauthPerAddress: number;
  /**
   * Requests one connection may have running at once (bounds pipelining). Beyond them, and
   * while the socket does not take the replies already written, no request is read.
   */
  readonly maxInFlight: number;
  /**
   * Small puts (stored whole) one connection may have waiting for their durable commit,
   * and the bytes of their bodies held meanwhile (a body that does not fit stays unread
   * until earlier ones are committed). Counted apart from maxInFlight: the deeper this
   * pipeline, the more files share each group commit's fsync rounds.
   */
  readonly maxCommitting: number;
  readonly maxCommittingBytes: number;
  /**
   * Bytes of `read` replies one connection may hold (read from the disk, not yet taken by
   * the socket). A client that pipelines reads and does not take the answers waits here,
   * instead of pinning 64 × READ_MAX in the server. One read bigger than this still runs, alone.
   */
  readonly maxReadingBytes: number;
  readonly maxExecsPerSession: number;
  /**
   * Files one session may be reading for `hash` requests at once (over all its
   * connections); further ones wait for a turn (a stored hash needs none).
   */
  readonly maxHashesPerSession: number;
  /**
   * `find` (connection-find.ts): searches one session may run at once (more are refused,
   * EBUSY), and each one's bounds: results, entries looked at, wall time.
   */
  readonly maxFindsPerSession: number;
  readonly findMaxResults: number;
  readonly findMaxVisited: number;
  readonly findMaxMs: number;
  readonly execTimeoutMs: number;
  readonly execMaxTimeoutMs: number;
  readonly execOutputCap: number;
  /**
   * How often users.json is checked for changes by `ferryd user …` (one stat): a deleted
   * account or a new password ends its sessions within this long even if they are idle.
   * Attach, exec and writes check it anyway, at once.
   */
  readonly usersPollMs: number;
  /** Logged-in sessions one user may have at once, and connections (control and data) across them. */
  readonly maxSessionsPerUser: number;
  readonly maxConnectionsPerUser: number;
  /**
   * Failed-login throttle (see auth-throttle.ts): the first delay of a failure's answer and
   * its cap; wrong proofs that lock one user out from one address (range), and that lock
   * the range out for everyone; the cap on the slow-down of every login of a user who
   * failed recently (from anywhere); the window.
   */
  readonly authDelayMs: number;
  readonly authMaxDelayMs: number;
  readonly authLockoutAfter: number;
  readonly authAddressLockoutAfter: number;
  readonly authUserMaxDelayMs: number;
  readonly authWindowMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeader: 64 * 1024,
  preAuthMaxHeader: 4 * 1024,
  preAuthMaxQueuedBytes: 8 * 1024,
  maxQueuedHeaderBytes: 64 * 1024,
  frameDeadlineMs: 30_000,
  preAuthTimeoutMs: 20_000,
  idleTimeoutMs: 30 * 60_000,
  maxConnections: 4096,
  maxUnauthPerAddress: 64,
  maxInFlight: 64,
  maxCommitting: 1024,
  maxCommittingBytes: 16 * 1024 * 1024,
  maxReadingBytes: 16 * 1024 * 1024,
  maxExecsPerSession: 8,
  maxHashesPerSession: 2,
  maxFindsPerSession: 2,
  findMaxResults: SEARCH_RESULTS_MAX,
  findMaxVisited: SEARCH_VISITED_MAX,
  findMaxMs: SEARCH_TIME_MAX_MS,
  execTimeoutMs: 10 * 60_000,
  execMaxTimeoutMs: 24 * 60 * 60_000,
  execOutputCap: 256 * 1024 * 1024,
  usersPollMs: 1000,
  maxSessionsPerUser: 64,
  maxConnectionsPerUser: 256,
  authDelayMs: 250,
  authMaxDelayMs: 4000,
  authLockoutAfter: 10,
  authAddressLockoutAfter: 20,
  authUserMaxDelayMs: 2000,
  authWindowMs: 15 * 60_000,
};

/**
 * Parse a JSON object of limit overrides (ferryd's FERRYD_LIMITS, meant for tests and
 * tuning): only known names, each a non-negative finite number. Throws a plain Error.
 */
export function parseLimits(json: string): Partial<Limits> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('FERRYD_LIMITS is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('FERRYD_LIMITS must be a JSON object such as {"preAuthTimeoutMs": 5000}');
  }
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) throw new Error(`FERRYD_LIMITS: unknown limit "${name}"`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`FERRYD_LIMITS: "${name}" must be a non-negative number`);
    }
    out[name] = v;
  }
  return out as Partial<Limits>;
}

export interface ServerContext {
  readonly storage: Storage;
  /** The real folders commands run in (the same local disk as `storage`). */
  readonly execHost: ExecHost;
  readonly users: UserStore;
  readonly throttle: AuthThrottle;
  readonly fakeSaltSecret: Buffer;
  readonly sessions: Sessions;
  readonly limits: Limits;
  readonly plain: boolean;
  /** The server root as given and as resolved: scrubbed from anything sent to a client. */
  readonly hostRoots: readonly string[];
  log(line: string): void;
}
