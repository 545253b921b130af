/**
 * Browser mode: the Ferry UI in an ordinary browser tab, driven by the same engine as the
 * desktop app. One HTTP server on loopback serves the built renderer and, at /api, the UI
 * contract over a WebSocket. A browser gets in with a one-time address (`/?code=…`), which
 * it swaps for a session cookie (page-access.ts); the upgrade is refused without that
 * cookie, from another origin, or for another Host (DNS rebinding). Each WebSocket (each
 * tab) gets its own backend (web-client.ts), so several tabs are several sessions.
 */
import { existsSync } from 'node:fs';
import http, { STATUS_CODES } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { BackendOptions } from '../engine/app/backend.js';
import { createAppStores } from '../engine/app/app-stores.js';
import type { LocalServerHandle } from '../engine/app/local-server/local-server.js';
import { defaultConfigDir } from '../engine/app/stores/known-hosts.js';
import { defaultDownloadDir } from '../engine/app/stores/settings-store.js';
import { FerryError } from '../shared/common/errors.js';
import { WS_MAX_MESSAGE } from '../shared/common/ws-limits.js';
import { PageAccess, type CodeOptions } from './page-access.js';
import { contentSecurityPolicy, serveStatic } from './static-files.js';
import { WebClient } from './web-client.js';

export interface WebHostOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. Wildcards are refused: the Origin check needs one definite address. */
  readonly host?: string;
  readonly configDir?: string;
  /**
   * The download folder until one is chosen in the settings (default ~/Downloads/Ferry).
   * A page may choose another folder only inside this one (page-policy.ts).
   */
  readonly downloadDir?: string;
  /** The built renderer (default: dist/renderer of this package). */
  readonly staticDir?: string;
  /** Where dropped files are spooled (default: the OS temporary folder). */
  readonly spoolDir?: string;
  readonly log?: (line: string) => void;
  /** The local server every tab lists as "Local server" (the caller starts and stops it). */
  readonly localServer?: LocalServerHandle;
  /** More backend options (tests tune reconnects and batching with these). */
  readonly backend?: Partial<Omit<BackendOptions, 'configDir' | 'downloadDir' | 'secretStore' | 'log' | 'app'>>;
}

export interface WebHost {
  readonly origin: string;
  readonly port: number;
  /** The name of the session cookie a redeemed address sets. */
  readonly cookieName: string;
  /**
   * A fresh one-time address (`ORIGIN/?code=…`): the first browser to open it gets a
   * session and lands on `/`; after that (or after `ttlMs`) it opens nothing.
   */
  oneTimeUrl(options?: CodeOptions): string;
  close(): Promise<void>;
}

export async function startWebHost(options: WebHostOptions = {}): Promise<WebHost> {
  const bindHost = options.host ?? '127.0.0.1';
  if (bindHost === '' || bindHost === '0.0.0.0' || bindHost === '::') {
    throw new FerryError('EINVAL', `--host must be one address (like 127.0.0.1), not the wildcard "${bindHost}".`);
  }
  const log = options.log ?? (() => undefined);
  const staticDir = options.staticDir ?? defaultStaticDir();
  const configDir = options.configDir ?? defaultConfigDir();
  const spoolDir = options.spoolDir ?? os.tmpdir();
  const downloadRoot = path.resolve(options.downloadDir ?? defaultDownloadDir());

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
  const access = new PageAccess(port);
  const headers = {
    'Content-Security-Policy': contentSecurityPolicy(`ws://${authority}`),
    'X-Content-Type-Options': 'nosniff',
    // A one-time code may be in the page's URL: never send it anywhere as a referrer.
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
    const code = new URL(req.url ?? '/', origin).searchParams.get('code');
    if (code !== null) return signIn(req, res, code);
    void serveStatic(req, res, { root: staticDir, headers }).catch((err) => {
      log(`web: static file error: ${(err as Error).message}`);
      res.destroy();
    });
  });

  /** Swap a one-time code for a session cookie, then drop the code from the address bar. */
  function signIn(req: http.IncomingMessage, res: http.ServerResponse, code: string): void {
    // Only a real visit uses a code up (not a HEAD from a link preview).
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end('Open this address in a browser.\n');
      return;
    }
    const cookie = access.redeem(code);
    if (cookie === null && !access.admits(req.headers)) {
      log('web: refused a used, expired or unknown one-time address');
      res.writeHead(403, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
      res.end(USED_CODE);
      return;
    }
    // (A browser that is signed in already just goes on to the page.)
    res.writeHead(303, { Location: '/', 'Cache-Control': 'no-store', ...(cookie !== null ? { 'Set-Cookie': cookie } : {}), ...headers });
    res.end();
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_MESSAGE, perMessageDeflate: false });
  const clients = new Set<WebClient>();
  // Every page of this host shares the config folder's stores (app-stores.ts).
  const app = createAppStores({ configDir, downloadDir: downloadRoot, log });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/api') return refuse(socket, 404, 'There is no WebSocket here: the API is at /api.');
    if (!hostMatches(req)) return refuse(socket, 421, 'Wrong Host for this server.');
    if (req.headers.origin !== origin) return refuse(socket, 403, `Only pages from ${origin} may use this API.`);
    if (!access.admits(req.headers)) {
      log('web: refused a WebSocket without a session');
      return refuse(socket, 401, 'Not signed in: open the address printed by the Ferry web host.');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new WebClient(ws, {
        backend: {
          ...options.backend,
          configDir,
          app,
          log,
          downloadDir: downloadRoot,
          // The local pane shows this folder only (page-policy.ts refuses the rest).
          localRoot: downloadRoot,
          ...(options.localServer !== undefined ? { localServer: options.localServer } : {}),
        },
        spoolDir,
        downloadRoot,
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
    origin,
    port,
    cookieName: access.cookieName,
    oneTimeUrl: (codeOptions) => `${origin}/?code=${access.issueCode(codeOptions)}`,
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

/** The answer to a one-time address that was used already or has expired (no scripts: the CSP allows none inline). */
const USED_CODE = `<!doctype html><meta charset="utf-8"><title>Ferry</title>
<h1>This address has been used</h1>
<p>Each address Ferry gives out signs in one browser, once (the one given to the browser Ferry opens works for a minute only).
Open the newest address in the terminal where Ferry runs (it prints a fresh one each time the last is used), or start Ferry again.</p>`;

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
