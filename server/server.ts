/**
 * The ferryd listener: TLS 1.3 (or plain TCP with --plain) on one port, connection limits,
 * and clean shutdown. Everything a connection does lives in connection.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { writeFileAtomic } from '../shared/node/atomic-file.js';
import { loadOrCreateIdentity } from '../shared/node/tls-identity.js';
import { TLS13_CIPHERSUITES } from '../shared/node/tls-tuning.js';
import { AuthThrottle, addressKey } from './auth-throttle.js';
import { Connection } from './connection.js';
import { LocalStorage } from './local-storage.js';
import { DEFAULT_LIMITS, type Limits, type ServerContext } from './server-context.js';
import { Sessions } from './sessions.js';
import { UserStore } from './user-store.js';
import { encodeFrame } from '../shared/common/frame.js';
import { assertPlainAllowed } from '../shared/common/plain-tcp.js';
import { flushLog, logLine } from './log.js';

export interface ServerOptions {
  readonly root: string;
  readonly host?: string;
  readonly port?: number;
  readonly plain?: boolean;
  /** Allow `plain` on a non-loopback address (--insecure-plain-on-network). */
  readonly insecurePlainOnNetwork?: boolean;
  readonly limits?: Partial<Limits>;
  /** Bits taken from the mode of every file and folder a client creates (--umask; default 022). */
  readonly umask?: number;
  readonly log?: (line: string) => void;
}

/** A stable per-server secret (fake salts for unknown users must not change on restart). */
async function loadSecret(root: string): Promise<Buffer> {
  const dir = path.join(root, 'state');
  const file = path.join(dir, 'secret');
  try {
    const data = await readFile(file);
    if (data.length === 32) return data;
  } catch {
    // created below
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  await writeFileAtomic(file, secret, { mode: 0o600 });
  return secret;
}

/** Control characters in a log line (e.g. a user name with a newline) would forge log entries. */
function logSafe(line: string): string {
  return line.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class FerryServer {
  private readonly connections = new Set<Connection>();
  /** Every raw socket still open, including ones still in the TLS handshake. */
  private readonly sockets = new Set<net.Socket>();
  private readonly unauthByAddress = new Map<string, number>();
  /** A TLS connection's pre-auth slot and accept time, by "address:port" (its raw socket's). */
  private readonly pending = new Map<string, { release: () => void; acceptedAt: number }>();
  private closing = false;

  private constructor(
    private readonly server: net.Server,
    private readonly ctx: ServerContext,
    readonly host: string,
    readonly port: number,
    /** `SHA256:…` of the server key, or null with --plain. */
    readonly fingerprint: string | null,
    /** True when this start created the key (first serve). */
    readonly createdKey: boolean,
  ) {}

  static async start(options: ServerOptions): Promise<FerryServer> {
    const root = path.resolve(options.root);
    const write = options.log ?? logLine;
    const log = (line: string): void => write(logSafe(line));
    const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
    const plain = options.plain ?? false;
    assertPlainAllowed({ host: options.host ?? '127.0.0.1', plain, insecurePlainOnNetwork: options.insecurePlainOnNetwork ?? false }, 'server');
    await mkdir(root, { recursive: true, mode: 0o700 });
    const [users, fakeSaltSecret, realRoot] = await Promise.all([UserStore.open(root), loadSecret(root), realpath(root)]);
    const storage = new LocalStorage({ root, log, ...(options.umask !== undefined ? { umask: options.umask } : {}) });
    const ctx: ServerContext = {
      storage,
      execHost: storage,
      users,
      throttle: new AuthThrottle({
        baseDelayMs: limits.authDelayMs,
        maxDelayMs: limits.authMaxDelayMs,
        lockoutAfter: limits.authLockoutAfter,
        addressLockoutAfter: limits.authAddressLockoutAfter,
        userMaxDelayMs: limits.authUserMaxDelayMs,
        windowMs: limits.authWindowMs,
      }),
      fakeSaltSecret,
      sessions: new Sessions(users, limits, log),
      limits,
      plain,
      hostRoots: [...new Set([root, realRoot])],
      log,
    };
    let fingerprint: string | null = null;
    let createdKey = false;
    let server: net.Server;
    if (plain) {
      server = net.createServer({ noDelay: true });
    } else {
      const { identity, created } = await loadOrCreateIdentity(path.join(root, 'tls'));
      fingerprint = identity.fingerprint;
      createdKey = created;
      server = tls.createServer({
        key: identity.key,
        cert: identity.cert,
        minVersion: 'TLSv1.3',
        // AES-128-GCM first: the fastest TLS 1.3 suite with AES-NI (all three stay allowed).
        ciphers: TLS13_CIPHERSUITES,
        honorCipherOrder: true,
        // The handshake is part of the login's time budget.
        handshakeTimeout: Math.max(1, Math.min(10_000, limits.preAuthTimeoutMs)),
        noDelay: true,
      });
    }
    server.maxConnections = limits.maxConnections;
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 7070, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After listening, errors (EMFILE on accept and the like) are logged: without a
    // listener the 'error' event would crash the whole server.
    server.on('error', (err) => log(`server error: ${err.message}`));
    const address = server.address() as net.AddressInfo;
    // `ferryd user …` rewrites users.json from another process: idle sessions must end too.
    ctx.sessions.watch(limits.usersPollMs);
    const instance = new FerryServer(server, ctx, host, address.port, fingerprint, createdKey);
    instance.accept(plain);
    return instance;
  }

  private accept(plain: boolean): void {
    // Limits are applied to the raw TCP connection, before any TLS work is spent on it.
    this.server.on('connection', (raw: net.Socket) => {
      // An error on a socket nobody listens to would crash the process (resets happen).
      raw.on('error', () => undefined);
      const address = raw.remoteAddress ?? 'unknown';
      const slotKey = addressKey(address);
      const unauth = this.unauthByAddress.get(slotKey) ?? 0;
      if (this.closing || unauth >= this.ctx.limits.maxUnauthPerAddress) {
        this.ctx.log(`conn ${address}:${raw.remotePort ?? 0} refused: ${this.closing ? 'shutting down' : 'too many unauthenticated connections'}`);
        if (plain) {
          const msg = this.closing
            ? 'the server is shutting down'
            : 'too many connections from your address are still logging in; try again shortly';
          raw.end(encodeFrame({ type: 'error', code: 'EBUSY', message: msg }));
          // A peer that never closes its side must not keep the socket (and a connection slot).
          setTimeout(() => raw.destroy(), 1000).unref();
        } else {
          raw.destroy();
        }
        return;
      }
      this.sockets.add(raw);
      this.unauthByAddress.set(slotKey, unauth + 1);
      let counted = true;
      const release = (): void => {
        if (!counted) return;
        counted = false;
        const n = (this.unauthByAddress.get(slotKey) ?? 1) - 1;
        if (n <= 0) this.unauthByAddress.delete(slotKey);
        else this.unauthByAddress.set(slotKey, n);
      };
      const acceptedAt = Date.now();
      const key = `${address}:${raw.remotePort}`;
      raw.once('close', () => {
        release();
        this.sockets.delete(raw);
        this.pending.delete(key);
      });
      if (plain) {
        this.serve(raw, release, acceptedAt);
      } else {
        this.pending.set(key, { release, acceptedAt });
      }
    });
    if (!plain) {
      this.server.on('secureConnection', (socket: tls.TLSSocket) => {
        // The TLS socket has the raw socket's address and port: find its pre-auth slot by them.
        const key = `${socket.remoteAddress}:${socket.remotePort}`;
        const slot = this.pending.get(key);
        this.pending.delete(key);
        if (slot === undefined || this.closing) {
          socket.destroy();
          return;
        }
        socket.once('close', slot.release);
        this.serve(socket, slot.release, slot.acceptedAt);
      });
      this.server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.ctx.log(`conn ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0} TLS handshake failed: ${err.message}`);
      });
    }
  }

  private serve(socket: net.Socket, release: () => void, acceptedAt: number): void {
    this.ctx.log(`conn ${socket.remoteAddress}:${socket.remotePort} open`);
    let conn: Connection;
    try {
      conn = new Connection(socket, this.ctx, release, acceptedAt);
    } catch (err) {
      // E.g. no channel binding available: refuse this one connection, never crash.
      this.ctx.log(`conn ${socket.remoteAddress}:${socket.remotePort} refused: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    this.connections.add(conn);
    void conn.run().finally(() => this.connections.delete(conn));
  }

  get sessionCount(): number {
    return this.ctx.sessions.size;
  }

  /**
   * Stop listening, close every connection (uploads keep their partials, commands are
   * killed), flush commits. Bounded: connections that do not finish in time are destroyed.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.ctx.sessions.close();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const finished = Promise.all([...this.connections].map((conn) => conn.shutdown()));
    await Promise.race([finished, delay(3000)]);
    // Whatever is left (handshakes, peers that hold on): cut it.
    for (const socket of this.sockets) socket.destroy();
    await Promise.race([stopped, delay(1000)]);
    await this.ctx.storage.close();
    flushLog();
  }
}
