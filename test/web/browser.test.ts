/**
 * Browser mode end to end in a real Chromium: the renderer's transport
 * (renderer/src/transport/api.ts, bundled by vite) on a page served by the web host, so
 * signing in with a one-time address, the session cookie, the CSP, the Origin check, File
 * slicing and the WebSocket are the browser's own, in the browser
 * scripts/find-browser.mjs finds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { startWebHost, type WebHost } from '../../web/index.js';
import { REPO, cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { sha256 } from '../helpers/files.js';
import { launchChromium } from '../helpers/chromium.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let server: Ferryd;
let web: WebHost;
let browser: Browser;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  const www = await tempDir('ferry-www-');
  await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      lib: { entry: path.join(REPO, 'renderer/src/transport/api.ts'), formats: ['iife'], name: 'FerryTransport', fileName: () => 'transport.js' },
      outDir: www,
      emptyOutDir: false,
      minify: false,
    },
  });
  // External scripts only: the host's CSP forbids inline ones.
  await writeFile(
    path.join(www, 'boot.js'),
    `try { window.api = FerryTransport.getApi(); } catch (err) { window.apiError = String(err && err.message); }\n`,
  );
  await writeFile(path.join(www, 'index.html'), '<!doctype html><title>t</title><script src="./transport.js"></script><script src="./boot.js"></script>');
  web = await startWebHost({ staticDir: www, configDir: await tempDir('ferry-config-'), spoolDir: await tempDir('ferry-spool-') });
  onCleanup(() => web.close());
  browser = await launchChromium();
  onCleanup(() => browser.close());
});
afterAll(cleanupAll);

/** A browser profile of its own (its own cookies), as another browser or another person would be. */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  onCleanup(() => context.close());
  return context;
}

async function open(url: string, context?: BrowserContext): Promise<Page> {
  const page = await (context ?? (await newContext())).newPage();
  await page.goto(url);
  return page;
}

type CallingApi = { call(name: string, ...args: unknown[]): Promise<unknown> };
const callFrom = (page: Page, name: string): Promise<unknown> =>
  page.evaluate((n) => (globalThis as unknown as { api: CallingApi }).api.call(n), name);

describe('browser mode in Chromium', () => {
  it('connects, lists and uploads dropped files through the page', async () => {
    const page = await open(web.oneTimeUrl());
    expect(await page.evaluate(() => (globalThis as unknown as { api: { platform: string } }).api.platform)).toBe('browser');
    const connected = await page.evaluate(
      async ({ port, user, password }) => {
        type Api = { call(name: string, ...args: unknown[]): Promise<{ ok: boolean; value?: any; error?: unknown }> };
        const api = (globalThis as unknown as { api: Api }).api;
        const input = { host: '127.0.0.1', port, user, password };
        const first = await api.call('session:connect', input);
        if (!first.ok || first.value.kind !== 'hostkey-new') return first;
        await api.call('hosts:trust', first.value.hostPort, first.value.fingerprint);
        return api.call('session:connect', input);
      },
      { port: server.port, user: alice.name, password: alice.password },
    );
    expect(connected).toMatchObject({ ok: true, value: { kind: 'connected' } });

    const result = await page.evaluate(async () => {
      type Api = {
        on(event: string, listener: (payload: any) => void): () => void;
        uploadFiles(files: File[], relativePaths: string[], remoteDir: string): Promise<{ ok: boolean; value?: Array<{ id: string }>; error?: unknown }>;
      };
      const api = (globalThis as unknown as { api: Api }).api;
      const done = new Set<string>();
      api.on('transfers:event', (e: { kind: string; transfers?: Array<{ id: string; state: string }> }) => {
        for (const t of e.transfers ?? []) if (t.state === 'done') done.add(t.id);
      });
      const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
      const files = [new File([big], 'big.bin'), new File(['hello\n'], 'hello.txt')];
      const r = await api.uploadFiles(files, ['dropped/big.bin', 'dropped/deeper/hello.txt'], '/from-chromium');
      if (!r.ok) return r;
      const ids = r.value!.map((t) => t.id);
      for (let i = 0; i < 400 && !ids.every((id) => done.has(id)); i++) await new Promise((res) => setTimeout(res, 50));
      return { ok: ids.every((id) => done.has(id)), count: ids.length };
    });
    expect(result).toEqual({ ok: true, count: 2 });
    const home = path.join(server.root, 'homes', 'alice', 'from-chromium', 'dropped');
    const expected = Buffer.from(new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251));
    expect(sha256(await readFile(path.join(home, 'big.bin')))).toBe(sha256(expected));
    expect(await readFile(path.join(home, 'deeper', 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  it('signs the browser in once with the address: an HttpOnly, SameSite=Strict cookie, and the code gone from the address bar', async () => {
    const url = web.oneTimeUrl();
    const context = await newContext();
    const page = await open(url, context);
    expect(page.url()).toBe(`${web.origin}/`);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: web.cookieName, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict', secure: false, expires: -1 });
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('');
    expect(await callFrom(page, 'session:state')).toEqual({ ok: true, value: { state: 'disconnected' } });
    // A reload, or another tab of this browser, needs no new address.
    await page.reload();
    expect(await callFrom(page, 'session:state')).toMatchObject({ ok: true });
    expect(await callFrom(await open(`${web.origin}/`, context), 'session:state')).toMatchObject({ ok: true });

    // Another browser with the same address (say, another local user who read it in ps): refused.
    const other = await newContext();
    const refused = await other.newPage();
    const response = await refused.goto(url);
    expect(response?.status()).toBe(403);
    expect(await refused.getByRole('heading').textContent()).toBe('This address has been used');
    expect(await other.cookies()).toEqual([]);
    await refused.goto(`${web.origin}/`);
    expect(await callFrom(refused, 'profiles:list')).toMatchObject({ ok: false, error: { code: 'EAUTH', message: expect.stringContaining('?code=') } });

    // Nor does an address work after it expires.
    const late = web.oneTimeUrl({ ttlMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    expect((await (await newContext()).newPage().then((p) => p.goto(late)))?.status()).toBe(403);
  });

  it('refuses pages from another origin, even in the signed-in browser', async () => {
    // Any other page on loopback (another port is another origin), with no CSP in the way.
    // The browser sends it our cookie too (cookies are not kept apart by port): the Origin check stops it.
    const stranger = http.createServer((_req, res) => res.end('<!doctype html><title>stranger</title>'));
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => stranger.close(() => resolve())));
    const context = await newContext();
    await open(web.oneTimeUrl(), context);
    expect(await context.cookies()).toHaveLength(1);
    const page = await open(`http://127.0.0.1:${(stranger.address() as AddressInfo).port}/`, context);
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onclose = () => resolve('closed');
        }),
      `ws://127.0.0.1:${web.port}/api`,
    );
    expect(outcome).toBe('closed');
  });
});
