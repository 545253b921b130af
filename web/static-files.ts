/**
 * The built renderer (dist/renderer), served read-only: GET and HEAD, no directory
 * listings, no dotfiles, nothing outside the folder (dot segments, encoded separators and
 * symlinks that lead out are refused), with a strict Content-Security-Policy.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Shown when the renderer has not been built, so the person knows what to run. */
const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Ferry</title>
<p>The Ferry UI has not been built yet: run <code>npm run build:renderer</code> (vite build), then reload.</p>`;

export function contentSecurityPolicy(wsOrigin: string): string {
  return [
    "default-src 'self'",
    `connect-src 'self' ${wsOrigin}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface StaticOptions {
  readonly root: string;
  /** Headers added to every response (the CSP and friends). */
  readonly headers: Readonly<Record<string, string>>;
}

export async function serveStatic(req: IncomingMessage, res: ServerResponse, options: StaticOptions): Promise<void> {
  for (const [name, value] of Object.entries(options.headers)) res.setHeader(name, value);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return plain(res, 405, 'Method not allowed');
  }
  const names = requestedNames(req.url ?? '/');
  if (names === null) return plain(res, 400, 'Bad path');
  const file = await resolveInside(options.root, names.length === 0 ? ['index.html'] : names);
  if (file === null) {
    if (names.length === 0) return send(res, req, 200, 'text/html; charset=utf-8', NOT_BUILT);
    return plain(res, 404, 'Not found');
  }
  const type = TYPES[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream';
  res.statusCode = 200;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', String(file.size));
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(file.path), res).catch(() => res.destroy());
}

/**
 * The URL path as a list of plain names, or null when it tries to leave the folder or is
 * malformed. Each segment is decoded on its own, so an encoded '/' or '\' cannot smuggle
 * in a separator.
 */
export function requestedNames(url: string): string[] | null {
  const pathname = url.split(/[?#]/, 1)[0] ?? '/';
  if (!pathname.startsWith('/')) return null;
  const names: string[] = [];
  for (const raw of pathname.split('/')) {
    if (raw === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (name === '.' || name === '..' || /[/\\\0]/.test(name) || /^[a-zA-Z]:/.test(name)) return null;
    // Dotfiles (.env, .DS_Store) are never part of the UI.
    if (name.startsWith('.')) return null;
    names.push(name);
  }
  return names;
}

async function resolveInside(root: string, names: readonly string[]): Promise<{ path: string; size: number } | null> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return null;
  }
  const candidate = path.join(realRoot, ...names);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return null;
  }
  const rel = path.relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const info = await stat(real).catch(() => null);
  return info?.isFile() ? { path: real, size: info.size } : null;
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${text}\n`);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.setHeader('Cache-Control', 'no-store');
  res.end(req.method === 'HEAD' ? undefined : body);
}
