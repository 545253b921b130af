/**
 * Browser mode: the Ferry UI in an ordinary browser tab, driven by the same engine as the
 * desktop app. One HTTP server on loopback serves the built renderer and, at /api, the UI
 * contract over a WebSocket. Only the page opened with the secret token (printed on
 * stdout) may use the API: the upgrade is refused without it, from another origin, or for
 * another Host (DNS rebinding). Each WebSocket (each tab) gets its own backend, so several
 * tabs are several sessions.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import http, { STATUS_CODES } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { callBackend, createBackend, type Backend, type BackendOptions } from '../engine/app/backend.js';
import type { LocalServerHandle } from '../engine/app/local-server/local-server.js';
import type { Result } from '../shared/common/contract.js';
import { defaultConfigDir } from '../engine/app/stores/known-hosts.js';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { describeIssues } from '../shared/common/messages.js';
import { formatBytes } from '../shared/common/size.js';
import { contentSecurityPolicy, serveStatic } from './static-files.js';
import { UploadSpool } from './upload-spool.js';
import { WS_MAX_CHUNK, WS_MAX_MESSAGE } from '../shared/common/ws-limits.js';
import { WsClientMessage, type UploadItem, type WsHostMessage } from '../shared/common/ws-messages.js';

export interface WebHostOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. Wildcards are refused: the Origin check needs one definite address. */
  readonly host?: string;
  readonly configDir?: string;
  readonly downloadDir?: string;
  /** The built renderer (default: dist/renderer of this package). */
  readonly staticDir?: string;
  /** Where dropped files are spooled (default: the OS temporary folder). */
  readonly spoolDir?: string;
  readonly log?: (line: string) => void;
  /** The local server every tab lists as "Local server" (the caller starts and stops it). */
  readonly localServer?: LocalServerHandle;
  /** More backend options (tests tune reconnects and batching with these). */
  readonly backend?: Partial<Omit<BackendOptions, 'configDir' | 'downloadDir' | 'secretStore' | 'log'>>;
}

export interface WebHost {
  /** The page to open, token included. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

/** Bytes of dropped files waiting for the disk before the socket is paused, and resumed. */
const SPOOL_HIGH_WATER = 8 * 1024 * 1024;
const SPOOL_LOW_WATER = 2 * 1024 * 1024;

export async function startWebHost(options: WebHostOptions = {}): Promise<WebHost> {
  const bindHost = options.host ?? '127.0.0.1';
  if (bindHost === '' || bindHost === '0.0.0.0' || bindHost === '::') {
    throw new FerryError('EINVAL', `--host must be one address (like 127.0.0.1), not the wildcard "${bindHost}".`);
  }
  const log = options.log ?? (() => undefined);
  const token = randomBytes(24).toString('base64url');
  const staticDir = options.staticDir ?? defaultStaticDir();
  const configDir = options.configDir ?? defaultConfigDir();
  const spoolDir = options.spoolDir ?? os.tmpdir();

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const authority = `${net.isIPv6(bindHost) ? `[${bindHost}]` : bindHost}:${port}`;
  const origin = `http://${authority}`;
  const headers = {
    'Content-Security-Policy': contentSecurityPolicy(`ws://${authority}`),
    'X-Content-Type-Options': 'nosniff',
    // The token is in the page's URL: never send it anywhere as a referrer.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  const hostMatches = (req: http.IncomingMessage): boolean => (req.headers.host ?? '').toLowerCase() === authority.toLowerCase();

  server.on('request', (req, res) => {
    if (!hostMatches(req)) {
      // Another name for this address (or a DNS rebinding attempt): not ours to answer.
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(`Open the address printed by the Ferry web host (http://${authority}/…).\n`);
      return;
    }
    void serveStatic(req, res, { root: staticDir, headers }).catch((err) => {
      log(`web: static file error: ${(err as Error).message}`);
      res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_MESSAGE, perMessageDeflate: false });
  const clients = new Set<WebClient>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/api') return refuse(socket, 404, 'There is no WebSocket here: the API is at /api.');
    if (!hostMatches(req)) return refuse(socket, 421, 'Wrong Host for this server.');
    if (req.headers.origin !== origin) return refuse(socket, 403, `Only pages from ${origin} may use this API.`);
    if (!sameSecret(url.searchParams.get('token') ?? '', token)) {
      log('web: refused a WebSocket with a missing or wrong token');
      return refuse(socket, 401, 'Missing or wrong token: open the address printed by the Ferry web host.');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new WebClient(ws, {
        backend: {
          ...options.backend,
          configDir,
          log,
          ...(options.downloadDir !== undefined ? { downloadDir: options.downloadDir } : {}),
          ...(options.localServer !== undefined ? { localServer: options.localServer } : {}),
        },
        spoolDir,
        log,
      });
      clients.add(client);
      log(`web: tab connected (${clients.size} open)`);
      ws.once('close', () => {
        clients.delete(client);
        log(`web: tab closed (${clients.size} open)`);
      });
    });
  });

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: () =>
      (closing ??= (async () => {
        await Promise.all([...clients].map((c) => c.close(1001, 'the Ferry web host is shutting down')));
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })()),
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** dist/renderer of the package this file belongs to (from web/ in the sources or dist/web). */
function defaultStaticDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(dir, 'dist', 'renderer');
}

interface ClientOptions {
  readonly backend: BackendOptions;
  readonly spoolDir: string;
  readonly log: (line: string) => void;
}

type UploadState =
  | { readonly phase: 'preparing'; readonly id: number }
  | { readonly phase: 'receiving' | 'finishing'; readonly id: number; readonly remoteDir: string; readonly spool: UploadSpool }
  /** Failed while bytes were still coming: they are dropped until the client stops. */
  | { readonly phase: 'failed'; readonly id: number; readonly error: FerryError };

/** One tab: its WebSocket, its backend, and at most one upload at a time. */
class WebClient {
  private readonly backend: Backend;
  private upload: UploadState | undefined;
  private paused = false;
  private closed = false;
  private disposing: Promise<void> | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: ClientOptions,
  ) {
    this.backend = createBackend(options.backend);
    this.backend.on((name, payload) => this.send({ t: 'event', name, payload }));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', (err) => options.log(`web: socket error: ${err.message}`));
    ws.on('close', () => void this.dispose());
  }

  async close(code: number, reason: string): Promise<void> {
    this.ws.close(code, reason);
    await this.dispose();
  }

  private dispose(): Promise<void> {
    this.closed = true;
    this.disposing ??= (async () => {
      await this.dropUpload();
      await this.backend.dispose();
    })();
    return this.disposing;
  }

  private send(message: WsHostMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private reply(id: number, result: Result<unknown>): void {
    this.send({ t: 'result', id, result });
  }

  private replyError(id: number, err: unknown): void {
    this.reply(id, { ok: false, error: toFerryError(err).toInfo() });
  }

  /** The client broke the protocol: say why and close (1008, policy violation). */
  private protocolError(message: string): void {
    this.options.log(`web: closing a tab's socket: ${message}`);
    this.send({ t: 'error', error: { code: 'EPROTO', message } });
    this.ws.close(1008, message.slice(0, 120));
    void this.dispose();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) return this.onBytes(bytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.protocolError('a text message that is not JSON');
    }
    const message = WsClientMessage.safeParse(parsed);
    if (!message.success) return this.protocolError(`a malformed message: ${describeIssues(message.error)}`);
    const msg = message.data;
    switch (msg.t) {
      case 'call':
        void this.backend.call(msg.name, msg.args).then((result) => this.reply(msg.id, result));
        return;
      case 'upload-begin':
        void this.beginUpload(msg.id, msg.remoteDir, msg.files, msg.folders ?? []);
        return;
      case 'upload-end':
        void this.endUpload(msg.id);
        return;
      case 'upload-abort':
        void this.abortUpload(msg.id);
        return;
    }
  }

  // ---- uploads ---------------------------------------------------------------------------

  private async beginUpload(id: number, remoteDir: string, files: readonly UploadItem[], folders: readonly string[]): Promise<void> {
    if (this.upload) return this.replyError(id, new FerryError('EBUSY', 'Another upload from this tab is still being received.'));
    this.upload = { phase: 'preparing', id };
    try {
      // Refuse up front what cannot fit, before a byte is sent.
      const need = files.reduce((n, f) => n + f.size, 0);
      const df = await callBackend(this.backend, 'fs:df');
      if (!df.ok) throw FerryError.fromInfo(df.error);
      if (need > df.value.free) {
        throw new FerryError(
          'EQUOTA',
          `This upload needs ${formatBytes(need)} but only ${formatBytes(df.value.free)} is left` +
            `${df.value.quota !== null ? ` of your ${formatBytes(df.value.quota)} quota` : ''}.`,
          { need, free: df.value.free },
        );
      }
      const spool = await UploadSpool.create(files, folders, {
        tmpRoot: this.options.spoolDir,
        onQueued: (queued) => this.onSpoolQueue(queued),
      });
      if (this.closed || this.upload?.id !== id || this.upload.phase !== 'preparing') {
        // Aborted (or the tab went away) while we were getting ready.
        await spool.discard();
        throw new FerryError('ECANCELED', 'The upload was cancelled.');
      }
      this.upload = { phase: 'receiving', id, remoteDir, spool };
      this.reply(id, { ok: true, value: null });
    } catch (err) {
      if (this.upload?.id === id && this.upload.phase === 'preparing') this.upload = undefined;
      this.replyError(id, err);
    }
  }

  private onBytes(bytes: Buffer): void {
    const upload = this.upload;
    if (upload?.phase === 'failed') return; // the client will learn at upload-end (or from upload-failed)
    if (upload?.phase !== 'receiving') return this.protocolError('file bytes outside an accepted upload');
    if (bytes.length > WS_MAX_CHUNK) return this.protocolError(`a chunk larger than ${WS_MAX_CHUNK} bytes`);
    try {
      upload.spool.push(bytes);
    } catch (err) {
      void this.failUpload(upload.id, upload.spool, toFerryError(err));
    }
  }

  /** Stop taking bytes for a broken upload and tell the client at once. */
  private async failUpload(id: number, spool: UploadSpool, error: FerryError): Promise<void> {
    this.upload = { phase: 'failed', id, error };
    this.setPaused(false);
    this.send({ t: 'upload-failed', id, error: error.toInfo() });
    await spool.discard().catch(() => undefined);
  }

  private onSpoolQueue(queued: number): void {
    if (queued >= SPOOL_HIGH_WATER) this.setPaused(true);
    else if (queued <= SPOOL_LOW_WATER) this.setPaused(false);
  }

  /** Backpressure: a paused socket is not read, so TCP slows the browser down. */
  private setPaused(paused: boolean): void {
    if (paused === this.paused || this.closed) return;
    this.paused = paused;
    if (paused) this.ws.pause();
    else this.ws.resume();
  }

  private async endUpload(id: number): Promise<void> {
    const upload = this.upload;
    if (upload === undefined || upload.id !== id || upload.phase === 'preparing' || upload.phase === 'finishing') {
      return this.replyError(id, new FerryError('EINVAL', `Upload ${id} is not being received.`));
    }
    if (upload.phase === 'failed') {
      this.upload = undefined;
      return this.replyError(id, upload.error);
    }
    this.upload = { ...upload, phase: 'finishing' };
    const { spool, remoteDir } = upload;
    try {
      await spool.finish();
    } catch (err) {
      this.upload = undefined;
      this.setPaused(false);
      await spool.discard().catch(() => undefined);
      return this.replyError(id, err);
    }
    this.upload = undefined;
    this.setPaused(false);
    // From here the backend owns the spool: it removes it when the transfers are over.
    const result = await this.backend.uploadSpooled(spool.topLevel(), remoteDir, () => spool.discard());
    this.reply(id, result);
  }

  private async abortUpload(id: number): Promise<void> {
    if (this.upload?.id === id) await this.dropUpload();
    this.reply(id, { ok: true, value: null });
  }

  private async dropUpload(): Promise<void> {
    const upload = this.upload;
    this.upload = undefined;
    this.setPaused(false);
    if (upload && (upload.phase === 'receiving' || upload.phase === 'finishing')) await upload.spool.discard().catch(() => undefined);
  }
}
