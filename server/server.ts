/**
 * The ferryd listener: TLS 1.3 (or plain TCP with --plain) on one port, connection limits,
 * and clean shutdown. Everything a connection does lives in connection.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { loadOrCreateIdentity } from '../shared/node/tls-identity.js';
import { AuthThrottle } from './auth-throttle.js';
import { Connection } from './connection.js';
import { LocalStorage } from './local-storage.js';
import { DEFAULT_LIMITS, type Limits, type ServerContext, type Session } from './server-context.js';
import { UserStore } from './user-store.js';
import { encodeFrame } from '../shared/common/frame.js';

export interface ServerOptions {
  readonly root: string;
  readonly host?: string;
  readonly port?: number;
  readonly plain?: boolean;
  readonly limits?: Partial<Limits>;
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
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, secret, { mode: 0o600 });
  await rename(tmp, file);
  return secret;
}

export class FerryServer {
  private readonly connections = new Set<Connection>();
  private readonly unauthByAddress = new Map<string, number>();
  /** Frees a connection's not-yet-authenticated slot, by "address:port". */
  private readonly releases = new Map<string, () => void>();
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
    const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
    const plain = options.plain ?? false;
    await mkdir(root, { recursive: true, mode: 0o700 });
    const [users, fakeSaltSecret] = await Promise.all([UserStore.open(root), loadSecret(root)]);
    const ctx: ServerContext = {
      storage: new LocalStorage({ root, log }),
      users,
      throttle: new AuthThrottle(),
      fakeSaltSecret,
      sessions: new Map<string, Session>(),
      limits,
      plain,
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
        handshakeTimeout: 10_000,
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
    const address = server.address() as net.AddressInfo;
    const instance = new FerryServer(server, ctx, host, address.port, fingerprint, createdKey);
    instance.accept(plain);
    return instance;
  }

  private accept(plain: boolean): void {
    // Limits are applied to the raw TCP connection, before any TLS work is spent on it.
    this.server.on('connection', (raw: net.Socket) => {
      const address = raw.remoteAddress ?? 'unknown';
      const unauth = this.unauthByAddress.get(address) ?? 0;
      if (this.closing || unauth >= this.ctx.limits.maxUnauthPerAddress) {
        this.ctx.log(`conn ${address} refused: too many unauthenticated connections`);
        if (plain) {
          const msg = 'too many connections from your address are still logging in; try again shortly';
          raw.end(encodeFrame({ type: 'error', code: 'EBUSY', message: msg }));
        } else {
          raw.destroy();
        }
        return;
      }
      this.unauthByAddress.set(address, unauth + 1);
      let counted = true;
      const release = (): void => {
        if (!counted) return;
        counted = false;
        const n = (this.unauthByAddress.get(address) ?? 1) - 1;
        if (n <= 0) this.unauthByAddress.delete(address);
        else this.unauthByAddress.set(address, n);
      };
      const key = `${address}:${raw.remotePort}`;
      this.releases.set(key, release);
      raw.once('close', () => {
        release();
        this.releases.delete(key);
      });
    });
    const onSocket = (socket: net.Socket): void => {
      // The TLS socket has the raw socket's address and port: find its pre-auth slot by them.
      const release = this.releases.get(`${socket.remoteAddress}:${socket.remotePort}`) ?? (() => undefined);
      socket.once('close', release);
      this.ctx.log(`conn ${socket.remoteAddress}:${socket.remotePort} open`);
      const conn = new Connection(socket, this.ctx, release);
      this.connections.add(conn);
      void conn.run().finally(() => this.connections.delete(conn));
    };
    this.server.on(plain ? 'connection' : 'secureConnection', onSocket);
    this.server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      this.ctx.log(`conn ${socket.remoteAddress ?? '?'} TLS handshake failed: ${err.message}`);
    });
  }

  get sessionCount(): number {
    return this.ctx.sessions.size;
  }

  /** Stop listening, close every connection (uploads keep their partials), flush commits. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.connections) conn.shutdown();
    await stopped;
    await this.ctx.storage.close();
  }
}
