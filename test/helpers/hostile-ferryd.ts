/**
 * A scripted hostile server for engine tests: a fake ferryd on 127.0.0.1 (plain TCP) that
 * speaks just enough of the protocol (hello, a real SCRAM login, attach, stat, list, walk,
 * get, read) and answers browsing and downloads however the test's script says, lies included.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import type { Entry } from '../../shared/common/messages.js';
import { FrameReader, FrameWriter } from '../../shared/node/frame-stream.js';
import { MIN_ITERATIONS, ScramServer, createVerifier, type ScramVerifier } from '../../shared/node/scram.js';
import { RemoteSession } from '../../engine/wire/session.js';

/** Sends one reply frame (a body only where the header announces one by its `size`). */
export type Send = (header: FrameHeader, body?: Buffer) => Promise<void>;

export interface HostileScript {
  /** What `stat` and each folder's `list` answer; null is ENOENT. */
  entry(path: string): Entry | null;
  list(path: string): Entry[] | null;
  /** Answer a `get` (the default sends the file's announced size of zeros, honestly). */
  get?(request: { readonly id: number; readonly path: string; readonly offset: number }, send: Send): Promise<void>;
  /**
   * The pages of a `walk` of `path`, each a JSON value sent as the body (lies included); the
   * server gives cursors "1", "2", … Without it, `walk` is unknown, as to an older ferryd.
   */
  walk?(path: string): unknown[][] | null;
  /** Answer a `read` (the default says ETOOBIG, so the client streams the file). */
  read?(request: { readonly id: number; readonly path: string; readonly max: number }, send: Send): Promise<void>;
}

export const HOSTILE_USER = { name: 'eve', password: 'eve pass' };

export const fileEntry = (name: string, size: number): Entry => ({ name, type: 'file', size, mtime: 1_700_000_000_000, mode: 0o644 });
export const dirEntry = (name: string): Entry => ({ name, type: 'dir', size: 0, mtime: 1_700_000_000_000, mode: 0o755 });

export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** An honest `get` reply: a data header, the body (bytes offset to its end), and the hash of the whole file. */
export async function sendFile(send: Send, id: number, data: Buffer, offset = 0): Promise<void> {
  await send({ type: 'data', id, offset, total: data.length, mtime: 1_700_000_000_000 }, data.subarray(offset));
  await send({ type: 'ok', id, sha256: sha256Hex(data) });
}

export class HostileFerryd {
  /** Every request the clients sent, by type (to check how much the client asked for). */
  readonly requests: Array<{ readonly type: string; readonly path?: string }> = [];
  private readonly sockets = new Set<net.Socket>();
  /** The pages still to send of the walks in progress, by cursor. */
  private readonly walks = new Map<string, { path: string; pages: unknown[][] }>();
  private cursors = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly verifier: ScramVerifier,
    private readonly script: HostileScript,
  ) {}

  static async start(script: HostileScript): Promise<HostileFerryd> {
    const verifier = await createVerifier(HOSTILE_USER.password, MIN_ITERATIONS);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const fake = new HostileFerryd(server, port, verifier, script);
    server.on('connection', (socket) => fake.serve(socket));
    return fake;
  }

  /** A logged-in engine session with this server. */
  connect(): Promise<RemoteSession> {
    return RemoteSession.connect({ host: '127.0.0.1', port: this.port, plain: true, user: HOSTILE_USER.name, credential: { password: HOSTILE_USER.password } });
  }

  count(type: string): number {
    return this.requests.filter((r) => r.type === type).length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // the client hangs up on lies: that is the point
    const reader = new FrameReader(socket);
    const writer = new FrameWriter(socket);
    const send: Send = (header, body) => writer.send(header, body).catch(() => undefined);
    void this.converse(reader, send).catch(() => socket.destroy());
  }

  private async converse(reader: FrameReader, send: Send): Promise<void> {
    const scram = new ScramServer({ lookup: (n) => (n === HOSTILE_USER.name ? this.verifier : null), fakeSaltSecret: randomBytes(32), channelBinding: null });
    for (;;) {
      const h = await reader.next();
      if (h === null) return;
      await reader.skipBody();
      const id = h.id ?? 0;
      const path = typeof h.path === 'string' ? h.path : undefined;
      this.requests.push({ type: h.type, ...(path !== undefined ? { path } : {}) });
      try {
        await this.answer(h, id, path ?? '', scram, send);
      } catch (err) {
        await send({ type: 'error', id, ...toFerryError(err).toInfo() });
      }
    }
  }

  private async answer(h: FrameHeader, id: number, path: string, scram: ScramServer, send: Send): Promise<void> {
    switch (h.type) {
      case 'hello':
        return send({ type: 'hello', id, version: 1, agent: 'hostile/0', nonce: randomBytes(24).toString('base64'), mechanisms: ['SCRAM-SHA-256'] });
      case 'auth':
        return send({ type: 'auth-continue', id, data: (await scram.start(String(h.data))).serverFirst });
      case 'auth-final': {
        const data = await scram.finish(String(h.data));
        const user = { name: HOSTILE_USER.name, exec: false, quota: null };
        return send({ type: 'ok', id, data, user, cwd: '/', session: 'c2Vzc2lvbg==', ticket: randomBytes(32).toString('base64') });
      }
      case 'attach':
        return send({ type: 'ok', id, cwd: '/' });
      case 'stat': {
        const entry = this.script.entry(path);
        if (entry === null) throw new FerryError('ENOENT');
        return send({ type: 'ok', id, entry });
      }
      case 'list': {
        const entries = this.script.list(path);
        if (entries === null) throw new FerryError('ENOENT');
        return send({ type: 'ok', id, path, count: entries.length }, Buffer.from(JSON.stringify(entries)));
      }
      case 'walk': {
        if (!this.script.walk) throw new FerryError('EPROTO', 'unknown request type "walk"');
        const cursor = typeof h.cursor === 'string' ? h.cursor : undefined;
        const walk = cursor !== undefined ? this.walks.get(cursor) : { path, pages: this.script.walk(path) };
        if (!walk) throw new FerryError('EINVAL', 'unknown cursor');
        if (!walk.pages) throw new FerryError('ENOENT');
        const [page = [], ...rest] = walk.pages;
        let next: string | null = null;
        if (rest.length > 0) {
          next = String(++this.cursors);
          this.walks.set(next, { path: walk.path, pages: rest });
        }
        return send({ type: 'ok', id, path: walk.path, count: page.length, next }, Buffer.from(JSON.stringify(page)));
      }
      case 'get': {
        const offset = typeof h.offset === 'number' ? h.offset : 0;
        if (this.script.get) return this.script.get({ id, path, offset }, send);
        return sendFile(send, id, Buffer.alloc(this.script.entry(path)?.size ?? 0), offset);
      }
      case 'read':
        if (this.script.read) return this.script.read({ id, path, max: Number(h.max) }, send);
        throw new FerryError('ETOOBIG', 'stream it', { fileSize: this.script.entry(path)?.size ?? 0 });
      default:
        throw new FerryError('EPROTO', `unknown request type "${h.type}"`);
    }
  }
}
