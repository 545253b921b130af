/**
 * One connection from the engine to a ferryd: TLS with the pinned host key (or plain
 * TCP), the hello, the login or a data-connection attach, then requests matched to their
 * replies by id. Replies and streamed bodies are read by one loop; a body is handed to the
 * request that owns it and read at the pace its consumer sets (backpressure end to end).
 */
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { FerryError, isErrorCode, toFerryError, type ErrorInfo } from '../../shared/common/errors.js';
import type { FrameHeader } from '../../shared/common/frame.js';
import {
  AuthOk,
  ExecExit,
  GetData,
  PROTOCOL_VERSION,
  SHA256_HEX,
  ServerHello,
  describeIssues,
  type ExecStream,
  type ExistsPolicy,
  type PutResult,
  type UserInfo,
} from '../../shared/common/messages.js';
import { FrameReader, FrameWriter } from '../../shared/node/frame-stream.js';
import type { StreamHash } from '../../shared/node/hash-worker.js';
import { ScramClient, tlsExporterBinding, type ClientCredential, type ScramClientKeys } from '../../shared/node/scram.js';
import { peerFingerprint } from '../../shared/node/tls-identity.js';
import { TLS13_CIPHERSUITES } from '../../shared/node/tls-tuning.js';
import type { z } from 'zod';
import { sleep } from '../sleep.js';

export const CLIENT_AGENT = 'ferry/0.1.0';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Plain TCP: only for benchmarks and trusted loopback. */
  readonly plain?: boolean;
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

export interface LoginResult {
  readonly user: UserInfo;
  readonly cwd: string;
  readonly session: string;
  readonly ticket: string;
  /** Keys a client may store instead of the password for the next login. */
  readonly keys: ScramClientKeys | undefined;
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

const MAX_REPLY_BODY = 512 * 1024 * 1024;

export function errorFromFrame(header: FrameHeader): FerryError {
  const code = isErrorCode(header.code) ? header.code : 'EPROTO';
  const message = typeof header.message === 'string' ? header.message : 'the server reported an error';
  const details = typeof header.details === 'object' && header.details !== null ? (header.details as Record<string, unknown>) : undefined;
  return new FerryError(code, message, details);
}

function parse<T extends z.ZodType>(schema: T, header: FrameHeader, what: string): z.infer<T> {
  const result = schema.safeParse(header);
  if (!result.success) throw new FerryError('EPROTO', `malformed ${what} from the server: ${describeIssues(result.error)}`);
  return result.data;
}

export class ClientConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: FerryError | undefined;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private helloNonce = '';
  private readonly closedPromise: Promise<void>;
  private readonly closeListeners = new Set<(err: FerryError | undefined) => void>();

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
  static async open(options: ConnectOptions): Promise<ClientConnection> {
    const attempts = Math.max(1, options.connectAttempts ?? CONNECT_ATTEMPTS);
    for (let attempt = 1; ; attempt++) {
      try {
        return await ClientConnection.openOnce(options);
      } catch (err) {
        const e = toFerryError(err);
        if (attempt >= attempts || !refusedAtConnect(e) || options.signal?.aborted) throw e;
        const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), options.signal);
      }
    }
  }

  private static async openOnce(options: ConnectOptions): Promise<ClientConnection> {
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
    try {
      await conn.hello();
    } catch (err) {
      conn.close();
      const e = toFerryError(err);
      // Closed before the hello was answered: how a TLS server without room says "busy".
      // (On plain TCP a busy server says EBUSY; a silent close there is a TLS server
      // hanging up on a plain client, which no retry will fix.)
      if (!options.plain && e.code === 'ECONN' && !(REFUSED in e)) throw Object.assign(e, { [REFUSED]: true });
      throw e;
    }
    return conn;
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
    return { user: ok.user, cwd: ok.cwd, session: ok.session, ticket: ok.ticket, keys: scram.keys };
  }

  /** Join an existing session as a data connection. */
  async attach(session: string, ticket: string): Promise<void> {
    const input = Buffer.concat([Buffer.from(`ferry-attach:${this.helloNonce}:`), this.binding ?? Buffer.alloc(0)]);
    const proof = createHmac('sha256', Buffer.from(ticket, 'base64')).update(input).digest('base64');
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
  async call(header: Omit<FrameHeader, 'id'>): Promise<FrameHeader> {
    let reply: FrameHeader | undefined;
    const { id, done, fail } = this.register((h) => {
      if (h.type === 'error') throw errorFromFrame(h);
      reply = h;
      return true;
    });
    this.writer.send({ ...header, id } as FrameHeader).catch((err) => fail(toFerryError(err)));
    await done;
    return reply!;
  }

  /** Like call(), for replies that carry a body (e.g. a listing): returns both. */
  async callWithBody(header: Omit<FrameHeader, 'id'>): Promise<{ header: FrameHeader; body: Buffer }> {
    let reply: FrameHeader | undefined;
    let body: Buffer = Buffer.alloc(0);
    const { id, done, fail } = this.register(async (h, access) => {
      if (h.type === 'error') throw errorFromFrame(h);
      reply = h;
      if (access) body = await access.read(MAX_REPLY_BODY);
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
  async get(
    path: string,
    offset: number,
    sink: { start(data: GetData): Promise<void> | void; chunk(bytes: Buffer): Promise<void> | void },
    hooks: { onWritten?: () => void } = {},
  ): Promise<{ data: GetData; sha256: string }> {
    let data: GetData | undefined;
    let sha256 = '';
    const { id, done, fail } = this.register(async (h, body) => {
      if (h.type === 'error') throw errorFromFrame(h);
      if (h.type === 'data' && data === undefined) {
        data = parse(GetData, h, 'download header');
        await sink.start(data);
        if (body) for await (const chunk of body.chunks()) await sink.chunk(chunk);
        return false;
      }
      if (h.type === 'ok' && data !== undefined && typeof h.sha256 === 'string' && SHA256_HEX.test(h.sha256)) {
        sha256 = h.sha256;
        return true;
      }
      throw new FerryError('EPROTO', `unexpected "${h.type}" during a download`);
    });
    this.writer
      .send({ type: 'get', id, path, offset })
      .catch((err) => fail(toFerryError(err)))
      .finally(() => hooks.onWritten?.());
    await done;
    return { data: data!, sha256 };
  }

  /**
   * Upload `total - offset` bytes from `source` to `path`. The SHA-256 of the whole file is
   * `hashPrefix` (the hash state of the bytes before offset, or a fresh hash) updated with
   * everything sent. Resolves with the server's result once the file is durable.
   * Several put()s may be outstanding: they are pipelined on the connection.
   */
  async put(
    request: { path: string; offset: number; total: number; exists: ExistsPolicy; mtime?: number },
    source: () => AsyncIterable<Buffer>,
    hash: StreamHash,
    hooks: { onSent?: (bytes: number) => void; onWritten?: () => void; onChunkDone?: (chunk: Buffer) => void } = {},
  ): Promise<PutResult> {
    let result: PutResult | undefined;
    const { id, done, fail } = this.register((h) => {
      if (h.type === 'error') throw errorFromFrame(h);
      if (h.type !== 'ok') throw new FerryError('EPROTO', `unexpected "${h.type}" after an upload`);
      // The file's size is `fileSize`: a top-level `size` would announce a body.
      const { path, fileSize, sha256, skipped } = h;
      result = { path: String(path), size: Number(fileSize), sha256: String(sha256 ?? ''), skipped: skipped === true };
      return true;
    });
    const size = request.total - request.offset;
    this.writer
      .exclusive(async () => {
        const head = { type: 'put', id, ...request, size };
        if (size === 0) {
          this.writer.writeFrame(head);
        } else {
          this.writer.writeFrame(head);
          let sent = 0;
          // Hashing (in the hash worker for big files) runs alongside the socket write of
          // the same buffer; a few buffers may be in flight, then we wait for the oldest hash.
          const hashing: Promise<void>[] = [];
          for await (const chunk of source()) {
            const room = size - sent;
            if (room === 0) break; // the file grew: send what was announced
            const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
            sent += piece.length;
            const hashed = hash.update(piece);
            let pending = 2;
            const settle = (): void => {
              if (--pending === 0) hooks.onChunkDone?.(chunk);
            };
            hashed.then(settle, () => undefined);
            const ok = this.socket.write(piece, settle);
            hooks.onSent?.(piece.length);
            hashing.push(hashed);
            if (hashing.length > 3) await hashing.shift();
            if (!ok) await this.writer.drained();
          }
          if (sent !== size) {
            // The local file shrank under us: the frame can't be completed honestly.
            this.destroy();
            throw new FerryError('EIO', `the local file changed during the upload (${sent} of ${size} bytes read)`);
          }
          await Promise.all(hashing);
        }
        this.writer.writeFrame({ type: 'put-end', id, sha256: await hash.digest() });
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

function dial(options: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
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
      fail(dropped ? Object.assign(e, { [REFUSED]: true }) : e);
    }
    function onReady(): void {
      cleanup();
      resolve(socket);
    }
    socket.once('error', onError);
    socket.once(ready, onReady);
  });
}

export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

export type { ErrorInfo };
