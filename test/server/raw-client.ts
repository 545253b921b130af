/**
 * A raw Ferry protocol client for hostile-network tests: a plain or TLS socket to a local
 * ferryd, frames encoded with the shared codec (or any bytes at all), and replies decoded
 * with FrameDecoder into a queue the test pulls from with timeouts. Every wait is bounded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { FrameDecoder, encodeFrame, type FrameHeader } from '../../shared/common/frame.js';
import { attachProof } from '../../shared/node/attach-proof.js';
import { ScramClient, tlsExporterBinding, type ScramClientKeys } from '../../shared/node/scram.js';
import { addUser, tempDir, type TestUser } from '../helpers/harness.js';

export interface Frame {
  readonly header: FrameHeader;
  readonly body: Buffer;
}

export class RawTimeout extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** Client keys per "user:password", so each test login costs no PBKDF2 after the first. */
const keyCache = new Map<string, ScramClientKeys>();

/** Every error message any raw client received (checked for server path leaks). */
export const receivedErrors: string[] = [];

export class RawClient {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();
  private current: { header: FrameHeader; parts: Buffer[] } | undefined;
  private readonly decoder: FrameDecoder;
  private nextIdValue = 1;
  /** Set once the socket has closed (either side). */
  closed = false;
  readonly closedAt: Promise<void>;
  decodeError: Error | undefined;
  nonce = '';

  private constructor(
    readonly socket: net.Socket,
    readonly binding: Buffer | null,
  ) {
    this.decoder = new FrameDecoder({
      header: (header) => {
        if ((header.size ?? 0) > 0) this.current = { header, parts: [] };
        else this.push({ header, body: Buffer.alloc(0) });
      },
      body: (chunk) => this.current!.parts.push(Buffer.from(chunk)),
      bodyEnd: () => {
        const c = this.current!;
        this.current = undefined;
        this.push({ header: c.header, body: Buffer.concat(c.parts) });
      },
    }, 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.decodeError = err as Error;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    this.closedAt = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /**
   * Connect to 127.0.0.1:port (plain TCP, or TLS 1.3 without key checks), from
   * `localAddress` if given (127.0.0.2, 127.0.0.3, … are loopback too on Linux).
   */
  static connect(port: number, options: { tls?: boolean; timeoutMs?: number; localAddress?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const from = options.localAddress ? { localAddress: options.localAddress } : {};
      const socket = options.tls
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ...from })
        : net.connect({ host: '127.0.0.1', port, ...from });
      const ready = options.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RawTimeout('connect timed out'));
      }, options.timeoutMs ?? 5000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        const binding = options.tls ? tlsExporterBinding(socket as tls.TLSSocket) : null;
        resolve(new RawClient(socket, binding));
      });
    });
  }

  private push(frame: Frame): void {
    if (frame.header.type === 'error' && typeof frame.header.message === 'string') receivedErrors.push(frame.header.message);
    this.frames.push(frame);
    this.wake();
  }

  private wake(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  /** Wait for a frame or the close, at most `ms`. */
  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  newId(): number {
    return this.nextIdValue++;
  }

  /** Write raw bytes. */
  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Send one frame (a body's size is set from the body). */
  send(header: FrameHeader, body?: Uint8Array): void {
    this.write(encodeFrame(header, body, 1024 * 1024));
  }

  /** The next frame; rejects on timeout or when the socket closed with nothing queued. */
  async next(timeoutMs = 5000): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.closed) throw new Error('connection closed');
      const left = until - Date.now();
      if (left <= 0) throw new RawTimeout(`no frame within ${timeoutMs} ms`);
      await this.wait(left);
    }
  }

  /**
   * The next frame with this id, or an error about the whole connection (no id), which
   * is how a failed login is answered. Frames of other ids are kept in order for later.
   */
  async nextFor(id: number, timeoutMs = 5000): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.header.id === id || (f.header.type === 'error' && f.header.id === undefined));
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`connection closed before a reply to ${id}`);
      const left = until - Date.now();
      if (left <= 0) throw new RawTimeout(`no reply to ${id} within ${timeoutMs} ms`);
      await this.wait(left);
    }
  }

  /** Send a request and return its final reply (ok or error), skipping intermediate frames. */
  async request(header: Omit<FrameHeader, 'id'>, body?: Uint8Array, timeoutMs = 5000): Promise<Frame> {
    const id = this.newId();
    this.send({ ...header, id } as FrameHeader, body);
    return this.reply(id, timeoutMs);
  }

  /** The final reply (ok or error) to `id`; data and exec-output frames are collected into `seen`. */
  async reply(id: number, timeoutMs = 5000, seen: Frame[] = []): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.nextFor(id, Math.max(1, until - Date.now()));
      if (frame.header.type === 'ok' || frame.header.type === 'error') return frame;
      seen.push(frame);
    }
  }

  /** Resolves true when the socket has closed within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const result = await Promise.race([this.closedAt.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Expect an `error` frame about the connection (no id) with `code`, then the close. */
  async expectFatal(code: string, timeoutMs = 5000): Promise<Frame> {
    let frame: Frame;
    for (;;) {
      frame = await this.next(timeoutMs);
      if (frame.header.type === 'error' && frame.header.id === undefined) break;
    }
    if (frame.header.code !== code) {
      throw new Error(`expected ${code}, got ${String(frame.header.code)}: ${String(frame.header.message)}`);
    }
    if (!(await this.waitClosed(timeoutMs))) throw new Error(`the server did not close after ${code}`);
    return frame;
  }

  async hello(): Promise<FrameHeader> {
    const id = this.newId();
    this.send({ type: 'hello', id, versions: [1], agent: 'raw-test' });
    const reply = await this.nextFor(id);
    if (reply.header.type !== 'hello') throw new Error(`hello failed: ${JSON.stringify(reply.header)}`);
    this.nonce = String(reply.header.nonce);
    return reply.header;
  }

  /**
   * hello (unless done) + a full SCRAM login. Returns the final frame (ok or error).
   * `mechanism` overrides the mechanism name, `bind: false` sends an unbound gs2 header on TLS.
   */
  async login(user: string, password: string, options: { mechanism?: string; bind?: boolean } = {}): Promise<Frame> {
    if (this.nonce === '') await this.hello();
    const binding = options.bind === false ? null : this.binding;
    const cacheKey = `${user}\0${password}`;
    const cached = keyCache.get(cacheKey);
    const scram = new ScramClient(user, cached ? { keys: cached } : { password }, binding);
    const id = this.newId();
    const mechanism = options.mechanism ?? (binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256');
    this.send({ type: 'auth', id, mechanism, data: scram.firstMessage() });
    const cont = await this.nextFor(id);
    if (cont.header.type !== 'auth-continue') return cont;
    let final: string;
    try {
      final = await scram.finalMessage(String(cont.header.data));
    } catch {
      // Salt changed since the keys were cached (another server root): derive again.
      keyCache.delete(cacheKey);
      throw new Error('stale cached keys');
    }
    this.send({ type: 'auth-final', id, data: final });
    const done = await this.nextFor(id, 15_000);
    if (done.header.type === 'ok') {
      scram.verifyServerFinal(String(done.header.data));
      if (scram.keys) keyCache.set(cacheKey, scram.keys);
    }
    return done;
  }

  /** Log in and throw unless it worked. */
  async mustLogin(user: string, password: string): Promise<FrameHeader> {
    const done = await this.login(user, password);
    if (done.header.type !== 'ok') throw new Error(`login failed: ${JSON.stringify(done.header)}`);
    return done.header;
  }

  /**
   * A login attempt with a well-formed but wrong proof: costs no PBKDF2 on either side.
   * Returns the server-first message (if any) and the final frame.
   */
  async badLogin(user: string): Promise<{ serverFirst: string | undefined; final: Frame }> {
    if (this.nonce === '') await this.hello();
    const cnonce = randomBytes(18).toString('base64');
    const id = this.newId();
    this.send({ type: 'auth', id, mechanism: 'SCRAM-SHA-256', data: `n,,n=${user},r=${cnonce}` });
    const cont = await this.nextFor(id);
    if (cont.header.type !== 'auth-continue') return { serverFirst: undefined, final: cont };
    const serverFirst = String(cont.header.data);
    const nonce = /^r=([^,]+),/.exec(serverFirst)![1]!;
    const proof = randomBytes(32).toString('base64');
    this.send({ type: 'auth-final', id, data: `c=biws,r=${nonce},p=${proof}` });
    return { serverFirst, final: await this.nextFor(id, 15_000) };
  }

  /** hello (unless done) + attach to a session with its ticket (from a login's `ok`). Returns the final frame. */
  async attach(session: string, ticket: string): Promise<Frame> {
    if (this.nonce === '') await this.hello();
    const id = this.newId();
    const proof = attachProof(Buffer.from(ticket, 'base64'), this.nonce, this.binding).toString('base64');
    this.send({ type: 'attach', id, session, proof });
    return this.nextFor(id);
  }

  /** Upload `data` to `path` in one put (optionally with offset/total overrides and a wrong hash). */
  async put(
    path: string,
    data: Buffer,
    options: { offset?: number; total?: number; sha256?: string; prefix?: Buffer; exists?: string; extra?: Record<string, unknown> } = {},
  ): Promise<Frame> {
    const id = this.newId();
    this.sendPut(id, path, data, options);
    return this.reply(id, 10_000);
  }

  sendPut(
    id: number,
    path: string,
    data: Buffer,
    options: { offset?: number; total?: number; sha256?: string; prefix?: Buffer; exists?: string; extra?: Record<string, unknown> } = {},
  ): void {
    const offset = options.offset ?? 0;
    const total = options.total ?? offset + data.length;
    const sha256 =
      options.sha256 ?? createHash('sha256').update(options.prefix ?? Buffer.alloc(0)).update(data).digest('hex');
    this.send({ type: 'put', id, path, offset, total, ...(options.exists ? { exists: options.exists } : {}), ...options.extra }, data);
    this.send({ type: 'put-end', id, sha256 });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connect and log in, ready for requests. */
export async function loggedIn(port: number, user: string, password: string, tlsOn = false): Promise<RawClient> {
  const c = await RawClient.connect(port, { tls: tlsOn });
  await c.mustLogin(user, password);
  return c;
}

/** Length-prefix arbitrary header bytes (for invalid JSON and the like). */
export function rawFrame(headerBytes: Buffer | string): Buffer {
  const body = Buffer.isBuffer(headerBytes) ? headerBytes : Buffer.from(headerBytes, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}

/**
 * A server root with these users. The users are added (PBKDF2, a child process each) once
 * per process into a template root; later roots copy its users.json.
 */
let template: { names: string; root: Promise<string> } | undefined;
export async function rootWithUsers(users: readonly TestUser[]): Promise<string> {
  const names = users.map((u) => `${u.name}:${u.password}:${u.exec ? 1 : 0}:${u.quota ?? ''}`).join(',');
  if (template === undefined || template.names !== names) {
    const made = (async () => {
      const dir = await tempDir('ferryd-template-');
      // One at a time: concurrent `ferryd user add` runs overwrite each other's users.json.
      for (const u of users) await addUser(dir, u);
      return dir;
    })();
    template = { names, root: made };
  }
  const source = await template.root;
  const root = await tempDir('ferryd-root-');
  await mkdir(root, { recursive: true });
  await cp(path.join(source, 'users.json'), path.join(root, 'users.json'));
  return root;
}

/** Is this pid still running (not a zombie)? Linux only. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

/** Poll `fn` until it is true or `ms` passes. */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 5000, step = 25): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await fn()) return true;
    await sleep(step);
  }
  return fn();
}
