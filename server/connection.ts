/**
 * One client connection: the hello, the login (SCRAM, or attaching to an existing
 * session with its ticket), then requests until the peer leaves. Requests are read in
 * order; upload bodies are consumed in line (so the socket pauses when the disk is slow),
 * everything else runs concurrently and answers by id.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FerryError, toFerryError, type ErrorInfo } from '../shared/common/errors.js';
import type { FrameHeader } from '../shared/common/frame.js';
import {
  PROTOCOL_VERSION,
  REQUEST_TYPES,
  Request,
  SUPPORTED_VERSIONS,
  READ_MAX,
  WHOLE_PUT_MAX,
  describeIssues,
} from '../shared/common/messages.js';
import { attachProof } from '../shared/node/attach-proof.js';
import { FrameReader, FrameWriter } from '../shared/node/frame-stream.js';
import { ScramServer, tlsExporterBinding } from '../shared/node/scram.js';
import { addressKey } from './auth-throttle.js';
import { startExec, type RunningExec } from './exec-runner.js';
import type { ServerContext, Session } from './server-context.js';
import type { Account, Upload } from './storage.js';
import { fastRequest } from './fast-requests.js';
import { smallBuffer } from './small-buffers.js';

type Req<T extends Request['type']> = Extract<Request, { type: T }>;

const AGENT = 'ferryd/0.1.0';

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

export class Connection {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly nonce = randomBytes(24).toString('base64');
  private readonly binding: Buffer | null;
  private session: Session | undefined;
  /** Requests still running, by id, with a way to stop each. */
  private readonly running = new Map<number, () => void>();
  /**
   * Ids of every request not answered yet (a reused id would make replies ambiguous),
   * each with a token naming the request that holds it.
   */
  private readonly ids = new Map<number, object>();
  private inFlight = 0;
  /** Bytes reserved by running `read`s (see Limits.maxReadingBytes), and who waits for some. */
  private readingBytes = 0;
  private readingWaiters: Array<() => void> = [];
  /** Small puts read whole and waiting for their commit, and their body bytes. */
  private committing = 0;
  private committingBytes = 0;
  /** The admission of the last small put (the next one waits for it). */
  private admitting: Promise<void> = Promise.resolve();
  private execsRunning = 0;
  private slotWaiter: (() => void) | undefined;
  private closed = false;
  /** send() has corked the socket until the end of this turn (see coalesce()). */
  private corked = false;
  /** A connection-level error was sent (or is being sent): never send a second one. */
  private errorSent = false;
  /** Set by shutdown(): an upload body being read stops at the next chunk (partial kept). */
  private stopping = false;
  private preAuthTimer: NodeJS.Timeout | undefined;
  private done: Promise<void> = Promise.resolve();
  private readonly label: string;
  private readonly address: string;

  constructor(
    private readonly socket: Socket | TLSSocket,
    private readonly ctx: ServerContext,
    private readonly onAuthenticated: () => void,
    acceptedAt: number = Date.now(),
  ) {
    this.address = socket.remoteAddress ?? 'unknown';
    this.label = `${this.address}:${socket.remotePort ?? 0}`;
    this.binding = ctx.plain ? null : tlsExporterBinding(socket as TLSSocket);
    socket.setNoDelay(true);
    this.reader = new FrameReader(socket, {
      maxHeader: ctx.limits.maxHeader,
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
    socket.once('close', () => this.cleanup());
  }

  get user(): string | undefined {
    return this.session?.account.name;
  }

  /** Serve until the connection ends. Never throws. */
  run(): Promise<void> {
    this.done = this.serve();
    return this.done;
  }

  private async serve(): Promise<void> {
    try {
      if (!(await this.handshake())) return;
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
    this.stopping = true;
    for (const stop of this.running.values()) stop();
    this.closeWith(new FerryError('ECONN', 'the server is shutting down'), 500);
    return this.done;
  }

  private startIdleTimer(): void {
    const idle = this.ctx.limits.idleTimeoutMs;
    this.socket.on('timeout', () => {
      // A command that prints nothing for a while is not an idle connection, as long as
      // the peer takes what we send (a peer that stops reading is still timed out).
      if (this.execsRunning > 0 && this.socket.writableLength === 0) {
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
    setTimeout(() => this.socket.destroy(), graceMs).unref();
    void this.fatal(undefined, err).finally(() => this.end());
  }

  private end(): void {
    clearTimeout(this.preAuthTimer);
    if (!this.socket.destroyed) this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.preAuthTimer);
    for (const stop of this.running.values()) stop();
    this.running.clear();
    for (const wake of this.readingWaiters.splice(0)) wake();
    if (this.session) {
      this.session.connections.delete(this);
      if (this.session.connections.size === 0) this.ctx.sessions.delete(this.session.id);
    }
    this.ctx.log(`conn ${this.label} closed${this.user ? ` user=${this.user}` : ''}`);
  }

  /** Send an error frame; if `id` is undefined the error is about the connection itself (sent once). */
  private async fatal(id: number | undefined, err: FerryError): Promise<void> {
    if (id === undefined) {
      if (this.errorSent) return;
      this.errorSent = true;
    }
    await this.sendError(id, err).catch(() => undefined);
  }

  private sendError(id: number | undefined, err: FerryError): Promise<void> {
    const info: ErrorInfo = err.toInfo();
    const message = scrubHostPaths(info.message, this.ctx.hostRoots);
    const scrubbed: ErrorInfo = message === info.message ? info : { ...info, message };
    return this.send(id === undefined ? { type: 'error', ...scrubbed } : { type: 'error', id, ...scrubbed });
  }

  /**
   * Send a frame. A final reply (ok or error with an id) frees its id when it is written,
   * so a client may reuse the id as soon as it has the reply.
   */
  private send(header: FrameHeader, body?: Uint8Array, coalesce = false): Promise<void> {
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
  private async nextRequest(): Promise<Request | null> {
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

  // ---- handshake and login ------------------------------------------------------------

  private async handshake(): Promise<boolean> {
    const hello = await this.nextRequest();
    if (hello === null) return false;
    if (hello.type !== 'hello') throw new FerryError('EPROTO', 'the first frame must be "hello"');
    const common = hello.versions.filter((v) => SUPPORTED_VERSIONS.includes(v));
    if (common.length === 0) {
      throw new FerryError('EPROTO', `no common protocol version (this server speaks ${SUPPORTED_VERSIONS.join(', ')})`, {
        supported: SUPPORTED_VERSIONS,
      });
    }
    await this.send({
      type: 'hello',
      id: hello.id,
      version: Math.max(...common),
      agent: AGENT,
      nonce: this.nonce,
      mechanisms: [this.binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256'],
    });
    const first = await this.nextRequest();
    if (first === null) return false;
    if (first.type === 'attach') return this.attach(first);
    if (first.type !== 'auth') throw new FerryError('EAUTH', 'log in first');
    return this.login(first);
  }

  private async login(req: Req<'auth'>): Promise<boolean> {
    const expected = this.binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
    if (req.mechanism !== expected) {
      throw new FerryError('EAUTH', `this server requires ${expected}`);
    }
    const scram = new ScramServer({
      lookup: (name) => this.ctx.users.get(name)?.scram ?? null,
      fakeSaltSecret: this.ctx.fakeSaltSecret,
      channelBinding: this.binding,
    });
    await this.ctx.users.reload().catch(() => undefined);
    const { user, serverFirst } = await scram.start(req.data);
    const { throttle, pendingLogins } = this.ctx;
    const keys = [`a:${addressKey(this.address)}`, `u:${user}`];
    let gate = throttle.check(this.address, user);
    // Locked out, but attempts still in flight may yet succeed (and clear the count):
    // wait for them rather than refuse, so that many honest logins at once all get in.
    const until = Date.now() + this.ctx.limits.preAuthTimeoutMs;
    while (!gate.allowed && pendingLogins.any(keys) && !this.closed && Date.now() < until) {
      await pendingLogins.changed(until - Date.now());
      gate = throttle.check(this.address, user);
    }
    if (this.closed) return false;
    if (!gate.allowed) {
      this.ctx.log(`auth ${this.label} user=${user} refused: rate limited`);
      throw new FerryError('ERATELIMIT', `too many failed logins: try again in ${Math.ceil(gate.retryAfterMs / 1000)} s`, {
        retryAfterMs: gate.retryAfterMs,
      });
    }
    // The attempt counts as a failure from now on, before its proof is checked: otherwise
    // many attempts started in parallel would all pass check() before any of them failed.
    // A success clears it; an attempt abandoned halfway stays counted.
    throttle.failure(this.address, user);
    const endAttempt = pendingLogins.begin(keys);
    let serverFinal: string;
    try {
      await this.send({ type: 'auth-continue', id: req.id, data: serverFirst });
      const final = await this.nextRequest();
      if (final === null) return false;
      if (final.type !== 'auth-final' || final.id !== req.id) throw new FerryError('EPROTO', 'expected "auth-final"');
      try {
        serverFinal = await scram.finish(final.data);
      } catch (err) {
        endAttempt();
        const e = toFerryError(err, 'EAUTH');
        if (e.code === 'EAUTH') {
          const delay = throttle.delayFor(this.address, user);
          this.ctx.log(`auth ${this.label} user=${user} failed`);
          await new Promise((r) => setTimeout(r, delay));
          throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
        }
        throw e;
      }
      if (this.ctx.users.get(user) !== undefined) throttle.success(this.address, user);
    } finally {
      endAttempt();
    }
    const record = this.ctx.users.get(user);
    if (record === undefined) throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
    const account: Account = { name: record.name, quota: record.quota };
    await this.ctx.storage.ensureHome(account);
    const session: Session = {
      id: randomBytes(16).toString('base64url'),
      ticket: randomBytes(32),
      account,
      exec: record.exec,
      cwd: '/',
      connections: new Set([this]),
      execs: 0,
    };
    this.ctx.sessions.set(session.id, session);
    this.session = session;
    this.authenticated();
    this.ctx.log(`auth ${this.label} user=${user} ok`);
    await this.send({
      type: 'ok',
      id: req.id,
      data: serverFinal,
      user: { name: record.name, exec: record.exec, quota: record.quota },
      cwd: session.cwd,
      session: session.id,
      ticket: session.ticket.toString('base64'),
    });
    return true;
  }

  /** Logged in: the pre-auth slot and deadline no longer apply. */
  private authenticated(): void {
    clearTimeout(this.preAuthTimer);
    this.preAuthTimer = undefined;
    this.onAuthenticated();
  }

  private async attach(req: Req<'attach'>): Promise<boolean> {
    const session = this.ctx.sessions.get(req.session);
    const proof = Buffer.from(req.proof, 'base64');
    const expected = session ? attachProof(session.ticket, this.nonce, this.binding) : randomBytes(32);
    if (!session || proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
      this.ctx.log(`auth ${this.label} attach refused`);
      throw new FerryError('EAUTH', 'this session has ended: log in again');
    }
    session.connections.add(this);
    this.session = session;
    this.authenticated();
    await this.send({ type: 'ok', id: req.id, cwd: session.cwd });
    return true;
  }

  // ---- requests -----------------------------------------------------------------------

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
        await this.put(req);
        continue;
      }
      this.inFlight++;
      void this.dispatch(req).finally(() => {
        // Unless the reply freed it already and a new request took the id since.
        if (this.ids.get(req.id) === token) this.ids.delete(req.id);
        this.inFlight--;
        this.slotWaiter?.();
      });
    }
  }

  /** Wait while too many requests are running (pipelining is bounded). */
  private async slot(): Promise<void> {
    const { maxInFlight, maxCommitting, maxCommittingBytes } = this.ctx.limits;
    while (this.inFlight >= maxInFlight || this.committing >= maxCommitting || this.committingBytes >= maxCommittingBytes) {
      await new Promise<void>((resolve) => (this.slotWaiter = resolve));
      this.slotWaiter = undefined;
    }
  }

  private get ses(): Session {
    return this.session!;
  }

  private async dispatch(req: Request): Promise<void> {
    try {
      await this.handle(req);
    } catch (err) {
      const e = toFerryError(err);
      if (!this.closed) await this.sendError(req.id, e).catch(() => undefined);
    }
  }

  private async handle(req: Request): Promise<void> {
    const { storage } = this.ctx;
    const { account } = this.ses;
    const cwd = this.ses.cwd;
    switch (req.type) {
      case 'ping':
        return this.send({ type: 'ok', id: req.id });
      case 'pwd':
        return this.send({ type: 'ok', id: req.id, cwd });
      case 'cd':
        this.ses.cwd = await storage.chdir(account, cwd, req.path);
        return this.send({ type: 'ok', id: req.id, cwd: this.ses.cwd });
      case 'list': {
        const { path, entries } = await storage.list(account, cwd, req.path ?? '.');
        const body = Buffer.from(JSON.stringify(entries));
        return this.send({ type: 'ok', id: req.id, path, count: entries.length }, body);
      }
      case 'stat':
        return this.send({ type: 'ok', id: req.id, entry: await storage.stat(account, cwd, req.path) });
      case 'mkdir':
        return this.send({ type: 'ok', id: req.id, path: await storage.mkdir(account, cwd, req.path, req.parents ?? false) });
      case 'rename': {
        const path = await storage.rename(account, cwd, req.from, req.to, req.overwrite ?? false);
        return this.send({ type: 'ok', id: req.id, path });
      }
      case 'delete':
        await storage.remove(account, cwd, req.path, req.recursive ?? false);
        return this.send({ type: 'ok', id: req.id });
      case 'df':
        return this.send({ type: 'ok', id: req.id, ...(await storage.df(account)) });
      case 'upload-info':
        return this.send({ type: 'ok', id: req.id, ...(await storage.uploadInfo(account, cwd, req.path)) });
      case 'get':
        return this.get(req);
      case 'read':
        return this.read(req);
      case 'exec':
        return this.exec(req);
      case 'cancel': {
        const stop = this.running.get(req.target);
        stop?.();
        return this.send({ type: 'ok', id: req.id, found: stop !== undefined });
      }
      case 'hello':
      case 'auth':
      case 'auth-final':
      case 'attach':
        throw new FerryError('EPROTO', `"${req.type}" is only valid at the start of a connection`);
      case 'put':
      case 'put-end':
        throw new FerryError('EPROTO', 'unreachable');
    }
  }

  private async put(req: Req<'put'>): Promise<void> {
    const size = req.size ?? 0;
    const { account } = this.ses;
    if (size !== req.total - req.offset) {
      throw new FerryError('EPROTO', `"put" body must be total - offset = ${req.total - req.offset} bytes, not ${size}`);
    }
    // A small file from its start: read it whole, then store it in the background.
    if (req.offset === 0 && size <= WHOLE_PUT_MAX) return this.putWhole(req, size);
    const started = Date.now();
    let upload: Upload;
    try {
      // After the small puts before it: uploads are admitted in the order they came.
      await this.admitting;
      upload = await this.ctx.storage.beginUpload(account, this.ses.cwd, req.path, {
        offset: req.offset,
        total: req.total,
        exists: req.exists ?? 'overwrite',
        mtime: req.mtime,
      });
    } catch (err) {
      // Refused before any byte was stored: skip the body and its "put-end", then answer.
      if (size > 0) await this.reader.skipBody();
      await this.expectPutEnd(req.id);
      const e = toFerryError(err);
      this.ctx.log(`put user=${account.name} refused ${e.code}`);
      void this.sendError(req.id, e).catch(() => undefined);
      return;
    }
    let ended = false;
    const abort = (keep: boolean): Promise<void> => {
      if (ended) return Promise.resolve();
      ended = true;
      return upload.abort(keep).catch(() => undefined);
    };
    // Stopped from outside (connection closing, server shutdown): the body loop below
    // stops and aborts keeping the bytes for a resume. Never abort from here directly: an
    // abort running while upload.write() is between disk writes can lose the partial.
    let interrupted = false;
    this.running.set(req.id, () => {
      interrupted = true;
    });
    let sha256: string;
    try {
      if (size > 0) {
        let storeError: FerryError | undefined;
        for await (const chunk of this.reader.body()) {
          if (storeError) continue; // drain the rest of the body so the stream stays in step
          try {
            await upload.write(chunk);
          } catch (err) {
            storeError = toFerryError(err);
            await abort(false);
          }
          if (interrupted || this.stopping) throw new FerryError('ECONN', 'the upload was interrupted');
        }
        if (storeError) {
          await this.expectPutEnd(req.id);
          this.ctx.log(`put user=${account.name} failed ${storeError.code}`);
          void this.sendError(req.id, storeError).catch(() => undefined);
          return;
        }
      }
      sha256 = await this.expectPutEnd(req.id);
    } catch (err) {
      // The connection broke mid-body: keep what arrived so the client can resume.
      await abort(true);
      this.ctx.log(`put user=${account.name} interrupted (partial kept)`);
      throw err;
    } finally {
      this.running.delete(req.id);
    }
    ended = true;
    // The commit (fsync, rename) is batched with other uploads: do not wait for it here.
    this.inFlight++;
    void upload
      .commit(sha256)
      .then(
        (result) => {
          const ms = Date.now() - started;
          this.ctx.log(`put user=${account.name} ${result.skipped ? 'skipped' : `${req.total} bytes ok`} ${ms} ms`);
          // Never a top-level "size": in a frame header that announces a body, and this
          // reply has none (a reader would swallow the next frames as its body).
          const { size: fileSize, ...rest } = result;
          return this.send({ type: 'ok', id: req.id, ...rest, fileSize });
        },
        (err) => {
          const e = toFerryError(err);
          this.ctx.log(`put user=${account.name} failed ${e.code}`);
          return this.sendError(req.id, e);
        },
      )
      .catch(() => undefined)
      .finally(() => {
        this.inFlight--;
        this.slotWaiter?.();
      });
  }

  /**
   * A small put: its body and put-end are read in line (the stream stays in step), then
   * it is checked and committed while the next requests are read, so the puts of a
   * pipeline are stored together (one group commit) instead of one after another.
   */
  private async putWhole(req: Req<'put'>, size: number): Promise<void> {
    const { account, cwd } = this.ses;
    const started = Date.now();
    const body = smallBuffer(size);
    let filled = 0;
    for await (const chunk of this.reader.body()) filled += chunk.copy(body, filled);
    if (filled !== size) throw new FerryError('EPROTO', `"put" body of ${filled} bytes, not ${size}`);
    const sha256 = await this.expectPutEnd(req.id);
    this.committing++;
    this.committingBytes += size;
    // Admitted in the order they came (as streamed puts are), committed together.
    const admitted = this.admitting.then(() =>
      this.ctx.storage.putWhole(account, cwd, req.path, { exists: req.exists ?? 'overwrite', mtime: req.mtime }, body, sha256),
    );
    this.admitting = admitted.then(
      () => undefined,
      () => undefined,
    );
    void admitted
      .then(({ committed }) => committed)
      .then(
        (result) => {
          this.ctx.log(`put user=${account.name} ${result.skipped ? 'skipped' : `${req.total} bytes ok`} ${Date.now() - started} ms`);
          const { size: fileSize, ...rest } = result;
          return this.send({ type: 'ok', id: req.id, ...rest, fileSize }, undefined, true);
        },
        (err) => {
          const e = toFerryError(err);
          const stored = e.code === 'ECHECKSUM' || e.code === 'EIO' || e.code === 'ENOSPC';
          this.ctx.log(`put user=${account.name} ${stored ? 'failed' : 'refused'} ${e.code}`);
          return this.sendError(req.id, e);
        },
      )
      .catch(() => undefined)
      .finally(() => {
        this.committing--;
        this.committingBytes -= size;
        this.slotWaiter?.();
      });
  }

  private async expectPutEnd(id: number): Promise<string> {
    const end = await this.nextRequest();
    if (end === null) throw new FerryError('ECONN', 'connection closed before "put-end"');
    if (end.type !== 'put-end' || end.id !== id) {
      throw new FerryError('EPROTO', `expected "put-end" for request ${id}`);
    }
    return end.sha256;
  }

  private async get(req: Req<'get'>): Promise<void> {
    const { account } = this.ses;
    const download = await this.ctx.storage.openDownload(account, this.ses.cwd, req.path, req.offset ?? 0);
    const started = Date.now();
    this.running.set(req.id, () => this.socket.destroy());
    try {
      await this.writer.sendStream(
        { type: 'data', id: req.id, offset: download.offset, total: download.total, mtime: download.mtime },
        download.total - download.offset,
        download.chunks(),
        (chunk) => download.release(chunk),
      );
      await this.send({ type: 'ok', id: req.id, sha256: download.sha256() });
      this.ctx.log(`get user=${account.name} ${download.total - download.offset} bytes ok ${Date.now() - started} ms`);
    } finally {
      this.running.delete(req.id);
      await download.close();
    }
  }

  /** A whole small file in one `ok` frame with its SHA-256 (ETOOBIG: use `get`). */
  private async read(req: Req<'read'>): Promise<void> {
    const { account } = this.ses;
    const started = Date.now();
    // Reserved before the disk read, given back once the socket took the reply: what a
    // client that does not read its socket can make the server hold is bounded.
    const reserved = Math.min(req.max, READ_MAX);
    await this.reserveReading(reserved);
    try {
      const file = await this.ctx.storage.readWhole(account, this.ses.cwd, req.path, req.max);
      this.ctx.log(`read user=${account.name} ${file.data.length} bytes ok ${Date.now() - started} ms`);
      await this.send(
        { type: 'ok', id: req.id, path: file.path, fileSize: file.data.length, mtime: file.mtime, sha256: file.sha256 },
        file.data,
        true,
      );
    } finally {
      this.readingBytes -= reserved;
      for (const wake of this.readingWaiters.splice(0)) wake();
    }
  }

  private async reserveReading(bytes: number): Promise<void> {
    while (this.readingBytes > 0 && this.readingBytes + bytes > this.ctx.limits.maxReadingBytes) {
      if (this.closed) throw new FerryError('ECONN', 'the connection closed');
      await new Promise<void>((resolve) => this.readingWaiters.push(resolve));
    }
    this.readingBytes += bytes;
  }

  private async exec(req: Req<'exec'>): Promise<void> {
    const ses = this.ses;
    if (!ses.exec) {
      this.ctx.log(`exec user=${ses.account.name} refused EPERM`);
      throw new FerryError('EPERM', 'this account may not run commands');
    }
    const { limits, execHost } = this.ctx;
    if (ses.execs >= limits.maxExecsPerSession) {
      this.ctx.log(`exec user=${ses.account.name} refused EBUSY`);
      throw new FerryError('EBUSY', `at most ${limits.maxExecsPerSession} commands may run at once`);
    }
    ses.execs++;
    this.execsRunning++;
    const started = Date.now();
    let run: RunningExec | undefined;
    // Cancellable from the start: a cancel (or a disconnect) that arrives while the
    // command is still being set up must stop it too, not find nothing to stop.
    let cancelled = false;
    this.running.set(req.id, () => {
      cancelled = true;
      run?.cancel();
    });
    try {
      const cwd = await execHost.hostPath(ses.account, ses.cwd);
      const home = await execHost.hostPath(ses.account, '/');
      if (this.closed || this.stopping) throw new FerryError('ECONN', 'the connection closed');
      if (cancelled) throw new FerryError('ECANCELED', 'the command was cancelled', { code: null, signal: null });
      run = startExec({
        command: req.command,
        cwd,
        home,
        user: ses.account.name,
        timeoutMs: Math.min(req.timeout ?? limits.execTimeoutMs, limits.execMaxTimeoutMs),
        outputCap: limits.execOutputCap,
        onOutput: (stream, chunk) => this.send({ type: 'exec-output', id: req.id, stream }, chunk),
      });
      const r = run;
      const result = await run.done.catch((err: unknown) => {
        const e = toFerryError(err);
        this.ctx.log(`exec user=${ses.account.name} pid=${r.pid ?? '-'} failed ${e.code} ${Date.now() - started} ms`);
        throw e;
      });
      this.ctx.log(
        `exec user=${ses.account.name} pid=${run.pid ?? '-'} ${result.reason} code=${result.code ?? '-'}${result.signal ? ` signal=${result.signal}` : ''} ${Date.now() - started} ms`,
      );
      const exit = { code: result.code, signal: result.signal };
      switch (result.reason) {
        case 'exit':
          return await this.send({ type: 'ok', id: req.id, ...exit });
        case 'cancelled':
          throw new FerryError('ECANCELED', 'the command was cancelled', exit);
        case 'timeout':
          throw new FerryError('ETIMEDOUT', 'the command ran longer than its time limit and was stopped', exit);
        case 'output-cap':
          throw new FerryError('ETOOBIG', 'the command printed more than the output limit and was stopped', exit);
      }
    } finally {
      ses.execs--;
      this.execsRunning--;
      this.running.delete(req.id);
      // The command may have created or deleted files behind the storage layer's back.
      execHost.invalidateUsage(ses.account);
    }
  }
}
