/**
 * One connection from the engine to a ferryd: TLS with the pinned host key (or plain
 * TCP), the hello, the login or a data-connection attach, then requests matched to their
 * replies by id. Replies and streamed bodies are read by one loop; a body is handed to the
 * request that owns it and read at the pace its consumer sets (backpressure end to end).
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { CHECK_ALGORITHMS, CHECK_NAMES, checkField, digestField, type CheckAlgorithm, type Digest } from '../../shared/common/checks.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import {
  AuthOk,
  type Df,
  ExecExit,
  GetData,
  PROTOCOL_VERSION,
  READ_MAX,
  ServerHello,
  type ExecStream,
  type UserInfo,
} from '../../shared/common/messages.js';
import { attachProof } from '../../shared/node/attach-proof.js';
import { FrameReader, FrameWriter } from '../../shared/node/frame-stream.js';
import type { StreamHash } from '../../shared/node/hash-worker.js';
import { ScramClient, tlsExporterBinding, type ClientCredential, type ScramClientKeys } from '../../shared/node/scram.js';
import { peerFingerprint } from '../../shared/node/tls-identity.js';
import { dial, refused, withConnectRetries, type ConnectOptions } from './dial.js';
import { checkWholeReply, errorFromFrame, parse, replyDigest } from './replies.js';
import { sendHashed } from './upload-body.js';
import { NotWhole, type Lane, type ReadSink, type WriteHooks, type WriteRequest, type WriteResult } from '../remote/remote.js';

export const CLIENT_AGENT = 'ferry/0.1.0';

export interface LoginResult {
  readonly user: UserInfo;
  readonly cwd: string;
  readonly session: string;
  readonly ticket: string;
  /** Keys a client may store instead of the password for the next login. */
  readonly keys: ScramClientKeys | undefined;
  /** The account's usage at the login, when the server sent it. */
  readonly df: Df | undefined;
}

/** The current frame's body, for the handler that owns the frame. */
export interface BodyAccess {
  chunks(): AsyncIterable<Buffer>;
  read(max: number): Promise<Buffer>;
}

type FrameHandler = (header: FrameHeader, body: BodyAccess | null) => Promise<boolean> | boolean;

interface Pending {
  /** Returns true when the request is finished (its handler is then removed). */
  readonly onFrame: FrameHandler;
  readonly fail: (err: FerryError) => void;
}

export class ClientConnection implements Lane {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: FerryError | undefined;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private helloNonce = '';
  /** The transfer checks the server offered in its hello (an older server: SHA-256 only). */
  serverChecks: readonly CheckAlgorithm[] = ['sha256'];
  private readonly closedPromise: Promise<void>;
  private readonly closeListeners = new Set<(err: FerryError | undefined) => void>();
  /** Called when the server does not know `read` (an older ferryd): its files are then streamed. */
  onWholeUnsupported: (() => void) | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly fingerprint: string | null,
    private readonly binding: Buffer | null,
  ) {
    this.reader = new FrameReader(socket);
    this.writer = new FrameWriter(socket);
    socket.on('error', () => {
      /* surfaces through the reader */
    });
    this.closedPromise = this.readLoop();
  }

  /**
   * Open a connection and do the hello. Log in with login() or attach().
   *
   * A busy server refuses connections it has no room for before the hello (EBUSY on plain
   * TCP; on TLS the socket is closed before or right after the handshake). That is worth
   * a polite retry: a few attempts with exponential backoff and jitter, so many clients
   * starting at once spread out instead of all returning together. Then the honest error.
   */
  static open(options: ConnectOptions): Promise<ClientConnection> {
    return withConnectRetries(options, async () => (await ClientConnection.openOnce(options, undefined)).conn);
  }

  /**
   * Open a connection and log in, the login's first message sent right behind the hello
   * (it needs nothing from the hello's reply): one round trip less than open() then login().
   */
  static openAndLogin(options: ConnectOptions, user: string, credential: ClientCredential): Promise<{ conn: ClientConnection; login: LoginResult }> {
    return withConnectRetries(options, async () => {
      const { conn, next } = await ClientConnection.openOnce(options, (c) => c.login(user, credential));
      try {
        return { conn, login: await next! };
      } catch (err) {
        conn.close();
        throw err;
      }
    });
  }

  /** Dial, check the key, say hello, and send `behindHello`'s first frames without waiting for the hello's reply. */
  private static async openOnce<T>(
    options: ConnectOptions,
    behindHello: ((conn: ClientConnection) => Promise<T>) | undefined,
  ): Promise<{ conn: ClientConnection; next: Promise<T> | undefined }> {
    const socket = await dial(options);
    let fingerprint: string | null = null;
    let binding: Buffer | null = null;
    try {
      if (!options.plain) {
        const tlsSocket = socket as tls.TLSSocket;
        fingerprint = peerFingerprint(tlsSocket);
        await options.verifyHostKey?.(fingerprint);
        binding = tlsExporterBinding(tlsSocket);
      }
    } catch (err) {
      socket.destroy();
      throw err;
    }
    const conn = new ClientConnection(socket, fingerprint, binding);
    // The hello and what follows it leave in one write: a peer that hangs up at once (not a
    // ferryd) then answers both, rather than resetting a second write after its close.
    socket.cork();
    const hello = conn.hello();
    const next = behindHello?.(conn);
    setImmediate(() => socket.uncork());
    // Its failure is the hello's when the hello fails (awaited below), else the caller's.
    next?.catch(() => undefined);
    try {
      await hello;
    } catch (err) {
      conn.close();
      const e = toFerryError(err);
      // Closed before the hello was answered: how a TLS server without room says "busy".
      // (On plain TCP a busy server says EBUSY; a silent close there is a TLS server
      // hanging up on a plain client, which no retry will fix.)
      throw options.plain || e.code !== 'ECONN' ? e : refused(e);
    }
    return { conn, next };
  }

  get closed(): boolean {
    return this.failure !== undefined || this.socket.destroyed;
  }

  /** Called once when the connection ends (with the reason, or undefined for a clean close). */
  onClose(listener: (err: FerryError | undefined) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async hello(): Promise<void> {
    const reply = await this.call({ type: 'hello', versions: [PROTOCOL_VERSION], agent: CLIENT_AGENT });
    const hello = parse(ServerHello, reply, 'hello');
    if (hello.version !== PROTOCOL_VERSION) {
      throw new FerryError('EPROTO', `the server chose protocol version ${hello.version}, which this client does not speak`);
    }
    this.helloNonce = hello.nonce;
    this.serverChecks = CHECK_ALGORITHMS.filter((c) => c === 'sha256' || hello.checks?.includes(c));
  }

  async login(user: string, credential: ClientCredential): Promise<LoginResult> {
    const scram = new ScramClient(user, credential, this.binding);
    const mechanism = this.binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
    const id = this.nextId++;
    let step = 0;
    let clientFinal: Promise<string> | undefined;
    const result = await new Promise<FrameHeader>((resolve, reject) => {
      this.pending.set(id, {
        fail: reject,
        onFrame: async (header) => {
          if (header.type === 'error') {
            reject(errorFromFrame(header));
            return true;
          }
          if (header.type === 'auth-continue' && step === 0 && typeof header.data === 'string') {
            step = 1;
            clientFinal = scram.finalMessage(header.data);
            clientFinal.then(
              (data) => this.writer.send({ type: 'auth-final', id, data }).catch(reject),
              (err) => {
                reject(err);
                this.destroy();
              },
            );
            return false;
          }
          if (header.type === 'ok' && step === 1) {
            resolve(header);
            return true;
          }
          reject(new FerryError('EPROTO', `unexpected "${header.type}" during login`));
          return true;
        },
      });
      this.writer.send({ type: 'auth', id, mechanism, data: scram.firstMessage() }).catch(reject);
    });
    const ok = parse(AuthOk, result, 'login reply');
    scram.verifyServerFinal(ok.data);
    return { user: ok.user, cwd: ok.cwd, session: ok.session, ticket: ok.ticket, keys: scram.keys, df: ok.df };
  }

  /** Join an existing session as a data connection. */
  async attach(session: string, ticket: string): Promise<void> {
    const proof = attachProof(Buffer.from(ticket, 'base64'), this.helloNonce, this.binding).toString('base64');
    await this.call({ type: 'attach', session, proof });
  }

  // ---- requests -----------------------------------------------------------------------

  private register(onFrame: FrameHandler): { id: number; done: Promise<void>; fail: (err: FerryError) => void } {
    const id = this.nextId++;
    let fail!: (err: FerryError) => void;
    const done = new Promise<void>((resolve, reject) => {
      fail = reject;
      this.pending.set(id, {
        fail: reject,
        onFrame: async (header, body) => {
          try {
            const finished = await onFrame(header, body);
            if (finished) resolve();
            return finished;
          } catch (err) {
            reject(toFerryError(err));
            return true;
          }
        },
      });
    });
    if (this.failure) {
      this.pending.delete(id);
      fail(this.failure);
    }
    return { id, done, fail };
  }

  /** Send a request and wait for its `ok` header (an `error` frame rejects). */
  call(header: Omit<FrameHeader, 'id'>): Promise<FrameHeader> {
    return this.callCancellable(header);
  }

  /**
   * Like call(), for a request the server can stop: when `signal` fires, a `cancel` for it
   * is sent (the request then ends with ECANCELED, or with its reply if that was quicker).
   */
  callCancellable(header: Omit<FrameHeader, 'id'>, signal?: AbortSignal): Promise<FrameHeader> {
    return this.request(header, signal, () => true);
  }

  /**
   * A request answered by frames before its final reply (a `find`'s `find-found`): each
   * goes to `onFrame` with its body, awaited (a slow consumer holds the socket), and the
   * final `ok` header is returned. When `signal` fires a `cancel` for it is sent.
   */
  callStreaming(
    header: Omit<FrameHeader, 'id'>,
    onFrame: (header: FrameHeader, body: BodyAccess | null) => Promise<void> | void,
    signal?: AbortSignal,
  ): Promise<FrameHeader> {
    return this.request(header, signal, async (h, body) => {
      if (h.type === 'ok') return true;
      await onFrame(h, body);
      return false;
    });
  }

  /**
   * Send a request and wait for the frame `isReply` says ends it (an `error` frame
   * rejects); a `cancel` for it is sent when `signal` fires.
   */
  private async request(
    header: Omit<FrameHeader, 'id'>,
    signal: AbortSignal | undefined,
    isReply: (header: FrameHeader, body: BodyAccess | null) => Promise<boolean> | boolean,
  ): Promise<FrameHeader> {
    if (signal?.aborted) throw new FerryError('ECANCELED', `the ${String(header.type)} was cancelled before it started`);
    let reply: FrameHeader | undefined;
    const { id, done, fail } = this.register(async (h, body) => {
      if (h.type === 'error') throw errorFromFrame(h);
      if (!(await isReply(h, body))) return false;
      reply = h;
      return true;
    });
    this.writer.send({ ...header, id } as FrameHeader).catch((err) => fail(toFerryError(err)));
    const onAbort = (): void => void this.call({ type: 'cancel', target: id }).catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return reply!;
  }

  /**
   * Like call(), for replies that carry a body (a listing page, a whole file): returns
   * both. A body bigger than `maxBody` (what the request allows) is a protocol violation:
   * EPROTO, and the connection is closed before any of it is read.
   */
  async callWithBody(header: Omit<FrameHeader, 'id'>, maxBody: number): Promise<{ header: FrameHeader; body: Buffer }> {
    let reply: FrameHeader | undefined;
    let body: Buffer = Buffer.alloc(0);
    const { id, done, fail } = this.register(async (h, access) => {
      if (h.type === 'error') throw errorFromFrame(h);
      reply = h;
      if ((h.size ?? 0) > maxBody) throw this.violation(`a "${String(header.type)}" reply of ${h.size} bytes, more than the ${maxBody} asked for`);
      if (access) body = await access.read(maxBody);
      return true;
    });
    this.writer.send({ ...header, id } as FrameHeader).catch((err) => fail(toFerryError(err)));
    await done;
    return { header: reply!, body };
  }

  /**
   * Download: `sink` gets the data header first, then every chunk (awaited, so a slow disk
   * slows the socket). Resolves with the server's SHA-256 of the whole file.
   */
  async get(path: string, offset: number, sink: ReadSink, hooks: { onWritten?: () => void } = {}, check: CheckAlgorithm = 'sha256'): Promise<{ data: GetData; digest: Digest }> {
    let data: GetData | undefined;
    let digest: Digest | null = null;
    const { id, done, fail } = this.register(async (h, body) => {
      if (h.type === 'error') throw errorFromFrame(h);
      if (h.type === 'data' && data === undefined) {
        data = parse(GetData, h, 'download header');
        // The body is bytes offset to total, exactly: checked before any of it is read.
        if (data.offset > data.total || (data.size ?? 0) !== data.total - data.offset) {
          throw this.violation(`a download header announcing bytes ${data.offset} to ${data.total} of ${path} with a body of ${data.size ?? 0}`);
        }
        await sink.start(data);
        if (body) for await (const chunk of body.chunks()) await sink.chunk(chunk);
        return false;
      }
      if (h.type === 'ok' && data !== undefined && (digest = replyDigest(h, check)) !== null) return true;
      throw new FerryError('EPROTO', `unexpected "${h.type}" during a download`);
    });
    this.writer
      .send({ type: 'get', id, path, offset, ...checkField(check) })
      .catch((err) => fail(toFerryError(err)))
      .finally(() => hooks.onWritten?.());
    await done;
    return { data: data!, digest: digest! };
  }

  /**
   * Upload `total - offset` bytes from `source` to `path`. The SHA-256 of the whole file is
   * `hashPrefix` (the hash state of the bytes before offset, or a fresh hash) updated with
   * everything sent. Resolves with the server's result once the file is durable.
   * Several put()s may be outstanding: they are pipelined on the connection.
   */
  async put(request: WriteRequest, source: () => AsyncIterable<Buffer>, hash: StreamHash, hooks: WriteHooks = {}): Promise<WriteResult> {
    let result: WriteResult | undefined;
    const { id, done, fail } = this.register((h) => {
      if (h.type === 'error') throw errorFromFrame(h);
      if (h.type !== 'ok') throw new FerryError('EPROTO', `unexpected "${h.type}" after an upload`);
      // The file's size is `fileSize`: a top-level `size` would announce a body.
      const { path, fileSize, skipped } = h;
      const digest = skipped === true ? null : replyDigest(h, hash.algorithm);
      if (skipped !== true && digest === null) throw new FerryError('EPROTO', `the server's reply to an upload lacks its ${CHECK_NAMES[hash.algorithm]}`);
      result = { path: String(path), size: Number(fileSize), digest, skipped: skipped === true };
      return true;
    });
    const size = request.total - request.offset;
    this.writer
      .exclusive(async () => {
        const { preserveMode, mode, ...wire } = request;
        // Only what the request sets: an old ferryd would refuse nothing, but a frame stays small.
        const head = { type: 'put', id, ...wire, ...(mode !== undefined ? { mode: mode & 0o777 } : {}), ...(preserveMode ? { preserveMode } : {}), ...checkField(hash.algorithm), size };
        this.writer.writeFrame(head);
        const sent = await sendHashed(this.writer, this.socket, size, source, hash, hooks);
        if (sent !== size) {
          // The local file shrank under us: the frame can't be completed honestly.
          this.destroy();
          throw new FerryError('EIO', `the local file changed during the upload (${sent} of ${size} bytes read)`);
        }
        this.writer.writeFrame({ type: 'put-end', id, ...digestField({ algorithm: hash.algorithm, hex: await hash.digest() }) });
        await this.writer.drained();
      })
      .catch((err) => {
        hash.dispose();
        fail(toFerryError(err));
      })
      .finally(() => hooks.onWritten?.());
    await done;
    return result!;
  }

  /**
   * A whole small file of at most `max` bytes in one `read`, checked against the server's
   * SHA-256 before it is returned. NotWhole when it must be streamed (too big, or a server
   * that does not know `read`).
   */
  async getWhole(remotePath: string, max: number, onSent: () => void, check: CheckAlgorithm = 'sha256'): Promise<{ data: Buffer; mtime: number; digest: Digest }> {
    const asked = Math.min(max, READ_MAX);
    const reply = this.callWithBody({ type: 'read', path: remotePath, max: asked, ...checkField(check) }, asked);
    onSent();
    let header: FrameHeader;
    let body: Buffer;
    try {
      ({ header, body } = await reply);
    } catch (err) {
      const e = err instanceof FerryError ? err : null;
      if (e?.code === 'ETOOBIG') throw new NotWhole('too big');
      // An older ferryd does not know the request (and closes the connection): stream instead.
      if (e?.code === 'EPROTO' && /unknown request type/.test(e.message)) {
        this.onWholeUnsupported?.();
        throw new NotWhole('not supported');
      }
      throw err;
    }
    const { mtime, digest } = await checkWholeReply(header, body, remotePath, check);
    return { data: body, mtime, digest };
  }

  /** Run a command; output arrives through onOutput as it is produced. */
  async exec(
    command: string,
    onOutput: (stream: ExecStream, chunk: Buffer) => Promise<void> | void,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ExecExit> {
    if (options.signal?.aborted) throw new FerryError('ECANCELED', 'the command was cancelled before it started');
    let exit: ExecExit | undefined;
    const { id, done, fail } = this.register(async (h, body) => {
      if (h.type === 'exec-output') {
        const stream: ExecStream = h.stream === 'stderr' ? 'stderr' : 'stdout';
        if (body) for await (const chunk of body.chunks()) await onOutput(stream, chunk);
        return false;
      }
      if (h.type === 'error') throw errorFromFrame(h);
      if (h.type === 'ok') {
        exit = parse(ExecExit, h, 'exit status');
        return true;
      }
      throw new FerryError('EPROTO', `unexpected "${h.type}" during a command`);
    });
    const header: FrameHeader = { type: 'exec', id, command, ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}) };
    this.writer.send(header).catch((err) => fail(toFerryError(err)));
    const onAbort = (): void => void this.call({ type: 'cancel', target: id }).catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await done;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return exit!;
  }

  /**
   * The server broke the protocol inside a reply: the connection is closed (nothing more
   * on it is trusted, and a body it announced is not read), and the request fails EPROTO.
   */
  private violation(what: string): FerryError {
    this.destroy();
    return new FerryError('EPROTO', `the server sent ${what}: the reply was discarded`);
  }

  /** Wait until the connection has closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  // ---- the read loop --------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    let reason: FerryError | undefined;
    try {
      for (;;) {
        const header = await this.reader.next();
        if (header === null) break;
        const hasBody = (header.size ?? 0) > 0;
        const body: BodyAccess | null = hasBody
          ? { chunks: () => this.reader.body(), read: (max) => this.reader.readBody(header.size!, max) }
          : null;
        const id = header.id;
        const pending = id === undefined ? undefined : this.pending.get(id);
        if (pending === undefined) {
          if (header.type === 'error' && id === undefined) {
            // An error about the connection itself: the server closes after it.
            reason = errorFromFrame(header);
          }
          if (hasBody) await this.reader.skipBody();
          continue;
        }
        let finished: boolean;
        try {
          finished = await pending.onFrame(header, body);
        } finally {
          // Whatever the handler did, leave the stream at the next frame.
          if (hasBody) await this.reader.skipBody().catch(() => undefined);
        }
        if (finished) this.pending.delete(id!);
      }
    } catch (err) {
      reason ??= toFerryError(err, 'ECONN');
    }
    this.failure = reason ?? new FerryError('ECONN', 'the server closed the connection');
    this.socket.destroy();
    for (const p of this.pending.values()) p.fail(this.failure);
    this.pending.clear();
    for (const listener of this.closeListeners) listener(reason);
  }
}
