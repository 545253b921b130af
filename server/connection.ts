/**
 * One client connection: its socket's life and limits (login deadline, idle timeout,
 * shutdown), the request loop with its bounds (requests running, read replies held), and
 * the frames out. Login, requests, uploads and exec live in the connection-*.ts files.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FerryError, toFerryError, type ErrorInfo } from '../shared/common/errors.js';
import type { FrameHeader } from '../shared/common/frame.js';
import { REQUEST_TYPES, Request, describeIssues } from '../shared/common/messages.js';
import { DEFAULT_HIGH_WATER_MARK, FrameReader, FrameWriter } from '../shared/node/frame-stream.js';
import { tlsExporterBinding } from '../shared/node/scram.js';
import { ByteBudget } from './byte-budget.js';
import { ExecRequests } from './connection-exec.js';
import { handshake, type LoginScope } from './connection-login.js';
import { handleRequest } from './connection-requests.js';
import type { ConnectionScope } from './connection-scope.js';
import { UploadReceiver } from './connection-uploads.js';
import { ListCursors } from './list-cursors.js';
import { fastRequest } from './fast-requests.js';
import type { ServerContext } from './server-context.js';
import type { Session } from './sessions.js';

/** Replace the server's own folders in a message to a client (no server paths leak). */
export function scrubHostPaths(message: string, roots: readonly string[]): string {
  let out = message;
  for (const root of [...roots].sort((a, b) => b.length - a.length)) {
    if (root.length < 2 || !out.includes(root)) continue;
    // Node quotes the paths in its messages ("open '/srv/…'"): drop the whole quoted path.
    out = out.split("'").map((part, i) => (i % 2 === 1 && part.includes(root) ? '…' : part)).join("'");
    out = out.split(root).join('…');
  }
  return out;
}

export class Connection implements ConnectionScope, LoginScope {
  readonly reader: FrameReader;
  readonly writer: FrameWriter;
  readonly binding: Buffer | null;
  readonly label: string;
  readonly address: string;
  /** Requests still running, by id, with a way to stop each. */
  readonly running = new Map<number, () => void>();
  readonly readBudget: ByteBudget;
  readonly listings = new ListCursors();
  private joined: Session | undefined;
  /**
   * Ids of every request not answered yet (a reused id would make replies ambiguous),
   * each with a token naming the request that holds it.
   */
  private readonly ids = new Map<number, object>();
  private inFlight = 0;
  private slotWaiter: (() => void) | undefined;
  private readonly uploads: UploadReceiver;
  private readonly execs: ExecRequests;
  private isClosed = false;
  /** send() has corked the socket until the end of this turn (see coalesce()). */
  private corked = false;
  /** A connection-level error was sent (or is being sent): never send a second one. */
  private errorSent = false;
  /** Set by shutdown(): an upload body being read stops at the next chunk (partial kept). */
  private isStopping = false;
  private preAuthTimer: NodeJS.Timeout | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket | TLSSocket,
    readonly ctx: ServerContext,
    private readonly onAuthenticated: () => void,
    acceptedAt: number = Date.now(),
  ) {
    this.address = socket.remoteAddress ?? 'unknown';
    this.label = `${this.address}:${socket.remotePort ?? 0}`;
    this.binding = ctx.plain ? null : tlsExporterBinding(socket as TLSSocket);
    this.readBudget = new ByteBudget(ctx.limits.maxReadingBytes);
    this.uploads = new UploadReceiver(this);
    this.execs = new ExecRequests(this);
    socket.setNoDelay(true);
    // Until the login, a few KiB: a peer that has not logged in cannot make us hold more.
    this.reader = new FrameReader(socket, {
      maxHeader: ctx.limits.preAuthMaxHeader,
      highWaterMark: ctx.limits.preAuthMaxQueuedBytes,
      headerWaterMark: ctx.limits.preAuthMaxQueuedBytes,
      headerDeadline: ctx.limits.frameDeadlineMs,
      // Answer with ETIMEDOUT, then close (the default would just drop the socket).
      onDeadline: (err) => {
        this.ctx.log(`conn ${this.label} timed out: ${err.message}`);
        this.closeWith(err);
      },
    });
    this.writer = new FrameWriter(socket, ctx.limits.maxHeader);
    // hello + login must finish within preAuthTimeoutMs of the TCP accept, however the
    // peer paces its bytes (an idle timer would let a trickle keep the slot forever).
    const left = Math.max(0, acceptedAt + ctx.limits.preAuthTimeoutMs - Date.now());
    this.preAuthTimer = setTimeout(() => this.timeout('the login did not complete in time'), left);
    this.preAuthTimer.unref();
    socket.on('error', () => {
      /* reported through the reader; never crash the server */
    });
    // A loop waiting for the peer to take our replies reads on once it does.
    socket.on('drain', () => this.wake());
    socket.once('close', () => this.cleanup());
  }

  get user(): string | undefined {
    return this.joined?.account.name;
  }

  get session(): Session {
    return this.joined!;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get stopping(): boolean {
    return this.isStopping;
  }

  /** Serve until the connection ends. Never throws. */
  run(): Promise<void> {
    this.done = this.serve();
    return this.done;
  }

  private async serve(): Promise<void> {
    try {
      if (!(await handshake(this))) return;
      this.startIdleTimer();
      await this.loop();
    } catch (err) {
      const e = toFerryError(err);
      if (e.code !== 'ECONN') {
        if (e.code === 'EPROTO' || e.code === 'ETOOBIG') this.ctx.log(`conn ${this.label} protocol error ${e.code}: ${e.message}`);
        await this.fatal(undefined, e);
      }
    } finally {
      this.end();
    }
  }

  /**
   * Close now (server shutdown): running commands are killed, an upload keeps its partial.
   * Resolves when this connection has finished (its upload aborted, its partial kept).
   */
  shutdown(): Promise<void> {
    this.isStopping = true;
    for (const stop of this.running.values()) stop();
    this.closeWith(new FerryError('ECONN', 'the server is shutting down'), 500);
    return this.done;
  }

  /** Logged in or attached: the pre-auth slot and deadline no longer apply. */
  join(session: Session): void {
    this.joined = session;
    this.reader.setLimits({
      maxHeader: this.ctx.limits.maxHeader,
      highWaterMark: DEFAULT_HIGH_WATER_MARK,
      headerWaterMark: this.ctx.limits.maxQueuedHeaderBytes,
    });
    clearTimeout(this.preAuthTimer);
    this.preAuthTimer = undefined;
    this.onAuthenticated();
  }

  /** The session ended (its account deleted, its password changed): say why and close. */
  endSession(err: FerryError): void {
    for (const stop of this.running.values()) stop();
    this.closeWith(err);
  }

  private startIdleTimer(): void {
    const idle = this.ctx.limits.idleTimeoutMs;
    this.socket.on('timeout', () => {
      // A command that prints nothing for a while is not an idle connection, as long as
      // the peer takes what we send (a peer that stops reading is still timed out).
      if (this.execs.active > 0 && this.socket.writableLength === 0) {
        this.socket.setTimeout(idle);
        return;
      }
      this.timeout('the connection was idle too long');
    });
    this.socket.setTimeout(idle);
  }

  private timeout(why: string): void {
    this.ctx.log(`conn ${this.label} timed out: ${why}`);
    this.closeWith(new FerryError('ETIMEDOUT', why));
  }

  /** Send a connection-level error, then close; destroyed anyway after `graceMs`. */
  private closeWith(err: FerryError, graceMs = 2000): void {
    void this.fatal(undefined, err, graceMs).finally(() => this.end());
  }

  private end(): void {
    clearTimeout(this.preAuthTimer);
    if (!this.socket.destroyed) this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private cleanup(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.preAuthTimer);
    for (const stop of this.running.values()) stop();
    this.running.clear();
    this.readBudget.close();
    this.listings.close();
    this.uploads.close();
    this.wake();
    if (this.joined) this.ctx.sessions.leave(this.joined, this);
    this.ctx.log(`conn ${this.label} closed${this.user ? ` user=${this.user}` : ''}`);
  }

  /**
   * Send an error frame; if `id` is undefined the error is about the connection itself
   * (sent once): the connection is over, so nothing more it sent is read, and the socket
   * is destroyed after `graceMs` even if the peer never takes the error (behind a stalled
   * reply it would otherwise wait for the idle timeout).
   */
  private async fatal(id: number | undefined, err: FerryError, graceMs = 2000): Promise<void> {
    if (id === undefined) {
      setTimeout(() => this.socket.destroy(), graceMs).unref();
      if (this.errorSent) return;
      this.errorSent = true;
      this.reader.stop();
    }
    await this.sendError(id, err).catch(() => undefined);
  }

  sendError(id: number | undefined, err: FerryError): Promise<void> {
    const info: ErrorInfo = err.toInfo();
    const message = scrubHostPaths(info.message, this.ctx.hostRoots);
    const scrubbed: ErrorInfo = message === info.message ? info : { ...info, message };
    return this.send(id === undefined ? { type: 'error', ...scrubbed } : { type: 'error', id, ...scrubbed });
  }

  /**
   * Send a frame. A final reply (ok or error with an id) frees its id when it is written,
   * so a client may reuse the id as soon as it has the reply.
   */
  send(header: FrameHeader, body?: Uint8Array, coalesce = false): Promise<void> {
    if (coalesce) this.coalesce();
    const id = header.id;
    if (id === undefined || (header.type !== 'ok' && header.type !== 'error')) return this.writer.send(header, body);
    return this.writer.exclusive(async () => {
      this.ids.delete(id);
      this.writer.writeFrame(header, body);
      await this.writer.drained();
    });
  }

  /**
   * The replies to small files sent in one turn of the event loop leave in one socket
   * write (one TLS record when they fit): a folder fsync answers dozens of puts at once,
   * and a write (and a TLS record) per reply would cost more than the replies themselves.
   * Other replies are written at once, as before.
   */
  private coalesce(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  /** Read the next request, validated. Closes (by throwing) on anything malformed. */
  async nextRequest(): Promise<Request | null> {
    const header = await this.reader.next();
    if (header === null) return null;
    const req = fastRequest(header) ?? this.parseRequest(header);
    // Only an upload carries a body.
    if ((header.size ?? 0) > 0 && req.type !== 'put') throw new FerryError('EPROTO', `a "${header.type}" request has no body`);
    return req;
  }

  private parseRequest(header: FrameHeader): Request {
    if (!REQUEST_TYPES.has(header.type)) {
      throw new FerryError('EPROTO', `unknown request type "${header.type.slice(0, 40)}"`);
    }
    const parsed = Request.safeParse(header);
    if (!parsed.success) {
      throw new FerryError('EPROTO', `malformed "${header.type}" request: ${describeIssues(parsed.error)}`);
    }
    return parsed.data;
  }

  // ---- the request loop ---------------------------------------------------------------

  private async loop(): Promise<void> {
    for (;;) {
      await this.slot();
      const req = await this.nextRequest();
      if (req === null) return;
      if (req.type === 'put-end') throw new FerryError('EPROTO', '"put-end" without a "put"');
      // Every request still unanswered holds its id (not only the ones that can be
      // cancelled): two replies with one id would be ambiguous to the client.
      if (this.ids.has(req.id)) throw new FerryError('EPROTO', `request id ${req.id} is already in use`);
      const token = {};
      this.ids.set(req.id, token);
      if (req.type === 'put') {
        // Upload bodies are read in line: the socket is the upload's flow control.
        await this.uploads.put(req);
        continue;
      }
      this.holdSlot(
        this.dispatch(req).finally(() => {
          // Unless the reply freed it already and a new request took the id since.
          if (this.ids.get(req.id) === token) this.ids.delete(req.id);
        }),
      );
    }
  }

  holdSlot(work: Promise<unknown>): void {
    this.inFlight++;
    const done = (): void => {
      this.inFlight--;
      this.wake();
    };
    work.then(done, done);
  }

  wake(): void {
    this.slotWaiter?.();
  }

  /**
   * Wait while too many requests are running (pipelining is bounded), or while the peer
   * does not take the replies already written: a client that stops reading stops being
   * read, instead of piling up replies (and their requests) in the server.
   */
  private async slot(): Promise<void> {
    while (!this.isClosed && (this.inFlight >= this.ctx.limits.maxInFlight || this.uploads.full || this.writer.backedUp)) {
      await new Promise<void>((resolve) => (this.slotWaiter = resolve));
      this.slotWaiter = undefined;
    }
  }

  private async dispatch(req: Request): Promise<void> {
    try {
      await (req.type === 'exec' ? this.execs.run(req) : handleRequest(this, req));
    } catch (err) {
      const e = toFerryError(err);
      if (!this.closed) await this.sendError(req.id, e).catch(() => undefined);
    }
  }
}
