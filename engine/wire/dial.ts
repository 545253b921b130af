/**
 * Reaching a ferryd: the TCP or TLS connection (TLS 1.3, the key checked against the
 * pinned fingerprint by the caller, not against a CA), and polite retries when a busy
 * server refuses the connection before its hello.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import { assertPlainAllowed } from '../../shared/common/plain-tcp.js';
import { TLS13_CIPHERSUITES } from '../../shared/node/tls-tuning.js';
import { sleep } from '../sleep.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Plain TCP: only for benchmarks and trusted loopback. */
  readonly plain?: boolean;
  /** Allow `plain` to a non-loopback host (refused with EINVAL otherwise, before connecting). */
  readonly insecurePlainOnNetwork?: boolean;
  /**
   * Called with the server key's fingerprint before anything is sent over TLS. Throw
   * (EHOSTKEY) to refuse the server. Not called with plain.
   */
  readonly verifyHostKey?: (fingerprint: string) => Promise<void> | void;
  readonly connectTimeoutMs?: number;
  /** Abort the connection attempt. */
  readonly signal?: AbortSignal;
  /** Attempts when the server refuses the connection for lack of room (default 10). */
  readonly connectAttempts?: number;
}

const CONNECT_ATTEMPTS = 10;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 2000;
/** Marks an error as "the server dropped us before the hello" (a busy server). */
const REFUSED = Symbol('refused-at-connect');

function refusedAtConnect(e: FerryError): boolean {
  return e.code === 'EBUSY' || (e.code === 'ECONN' && REFUSED in e);
}

/** Marks `e` as "dropped before the hello", how a server without room says busy. */
export function refused(e: FerryError): FerryError {
  return REFUSED in e ? e : Object.assign(e, { [REFUSED]: true });
}

/**
 * `once()`, tried again when the server refused the connection for lack of room: a few
 * attempts with exponential backoff and jitter, so many clients starting at once spread
 * out instead of all returning together. Then the honest error.
 */
export async function withConnectRetries<T>(options: ConnectOptions, once: () => Promise<T>): Promise<T> {
  const attempts = Math.max(1, options.connectAttempts ?? CONNECT_ATTEMPTS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (err) {
      const e = toFerryError(err);
      if (attempt >= attempts || !refusedAtConnect(e) || options.signal?.aborted) throw e;
      const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2), options.signal);
    }
  }
}

export function dial(options: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Decided on the host's spelling, before any lookup or connection.
    assertPlainAllowed({ host: options.host, plain: options.plain ?? false, insecurePlainOnNetwork: options.insecurePlainOnNetwork ?? false }, 'client');
    const timeoutMs = options.connectTimeoutMs ?? 15_000;
    const common = { host: options.host, port: options.port, noDelay: true };
    const socket = options.plain
      ? net.connect(common)
      : tls.connect({
          ...common,
          // The key is checked against the pinned fingerprint (like SSH), not against a CA.
          rejectUnauthorized: false,
          minVersion: 'TLSv1.3',
          ciphers: TLS13_CIPHERSUITES,
          servername: net.isIP(options.host) ? undefined : options.host,
        } as tls.ConnectionOptions);
    const ready = options.plain ? 'connect' : 'secureConnect';
    const timer = setTimeout(() => fail(new FerryError('ETIMEDOUT', `no answer from ${options.host}:${options.port}`)), timeoutMs);
    const onAbort = (): void => fail(new FerryError('ECANCELED', 'connection cancelled'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(ready, onReady);
    }
    function fail(err: FerryError): void {
      cleanup();
      socket.destroy();
      reject(err);
    }
    function onError(err: Error & { code?: string }): void {
      const code = err.code;
      const what =
        code === 'ECONNREFUSED'
          ? `nothing is listening on ${options.host}:${options.port}`
          : code === 'ENOTFOUND'
            ? `unknown host ${options.host}`
            : `cannot reach ${options.host}:${options.port} (${err.message})`;
      const e = new FerryError(code === 'ETIMEDOUT' ? 'ETIMEDOUT' : 'ECONN', what);
      // Reset or closed by the server after the TCP connect (a full server), not "nobody there".
      const dropped = code === 'ECONNRESET' || code === 'EPIPE' || /disconnected before secure/i.test(err.message);
      fail(dropped ? refused(e) : e);
    }
    function onReady(): void {
      cleanup();
      resolve(socket);
    }
    socket.once('error', onError);
    socket.once(ready, onReady);
  });
}
