/**
 * End-to-end helpers: a real ferryd with users, the browser-mode web host serving the
 * built renderer (dist/renderer, from `npm run build`), and Debian's Chromium driven by
 * playwright-core. Tests select elements only through the accessibility contract of
 * docs/UI.md (roles, labels and exact names), so the contract is tested as well.
 *
 * One server, one web host and one browser context per test file; pages are tabs.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, JSHandle, Locator, Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';
import { startWebHost, type WebHost, type WebHostOptions } from '../../web/index.js';
import { REPO, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { launchChromium } from '../helpers/chromium.js';
import { Proxy } from '../helpers/proxy.js';

export const SCREENSHOTS = path.join(REPO, 'test-results', 'screenshots');
const RENDERER = path.join(REPO, 'dist', 'renderer', 'index.html');

export interface E2E {
  readonly server: Ferryd;
  readonly web: WebHost;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly downloadDir: string;
  readonly configDir: string;
  /** Uncaught exceptions and console errors of any page: each test checks it stays empty. */
  readonly pageErrors: string[];
  /** A new tab with the Ferry page open and its connect form ready (named `formName`, in the page's language). */
  openTab(formName?: string): Promise<Page>;
  /** Where a user's files are on the server's disk. */
  home(user: TestUser | string): string;
}

/**
 * Start ferryd with `users`, the web host and Chromium (stopped by cleanupAll). `backend`
 * adds backend options (the SFTP tests point its ~/.ssh at a throwaway folder).
 */
export async function setupE2E(users: readonly TestUser[], options: { backend?: WebHostOptions['backend']; locale?: string } = {}): Promise<E2E> {
  if (!existsSync(RENDERER)) throw new Error(`${RENDERER} is missing: run \`npm run build\` first`);
  const [server, configDir, downloadDir, spoolDir] = await Promise.all([
    startFerryd({ users }),
    tempDir('ferry-e2e-config-'),
    tempDir('ferry-e2e-downloads-'),
    tempDir('ferry-e2e-spool-'),
  ]);
  const web = await startWebHost({ configDir, downloadDir, spoolDir, backend: { fsChangedDelayMs: 50, ...options.backend } });
  onCleanup(() => web.close());
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: false, ...(options.locale ? { locale: options.locale } : {}) });
  onCleanup(() => context.close());
  await mkdir(SCREENSHOTS, { recursive: true });
  const pageErrors: string[] = [];

  return {
    server,
    web,
    browser,
    context,
    downloadDir,
    configDir,
    pageErrors,
    async openTab(formName = 'Connect to a server') {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
      // console.error too (React, CSP violations, failed listeners): none is expected.
      page.on('console', (msg) => {
        if (msg.type() === 'error') pageErrors.push(`console.error: ${msg.text()}`);
      });
      // As a browser does: a one-time address, swapped for the session cookie (then at /).
      await page.goto(web.oneTimeUrl());
      await page.getByRole('form', { name: formName }).waitFor();
      return page;
    },
    home: (user) => path.join(server.root, 'homes', typeof user === 'string' ? user : user.name),
  };
}

export const connectForm = (page: Page): Locator => page.getByRole('form', { name: 'Connect to a server' });
export const tree = (page: Page): Locator => page.getByRole('tree');
export const treeItem = (page: Page, name: string): Locator => page.getByRole('treeitem', { name, exact: true });
/** The connection state in the status bar ("Connected", "Disconnected", …). */
export const connectionState = (page: Page, state: string): Locator => page.getByRole('contentinfo').getByText(state, { exact: true });

/** Fill the connect form and press Connect (nothing more). */
export async function submitLogin(page: Page, server: Ferryd, user: Pick<TestUser, 'name'>, password: string): Promise<void> {
  const form = connectForm(page);
  await form.getByLabel('Host', { exact: true }).fill(server.host);
  await form.getByLabel('Port', { exact: true }).fill(String(server.port));
  await form.getByLabel('User', { exact: true }).fill(user.name);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await form.getByRole('button', { name: 'Connect', exact: true }).click();
}

/**
 * Log in through the form; trusts the host key if asked (checking the fingerprint is the
 * server's). Resolves once the home folder's tree is shown.
 */
export async function logIn(page: Page, server: Ferryd, user: TestUser): Promise<void> {
  // The tab a person works in is the one in front (Chromium throttles background tabs).
  await page.bringToFront();
  await submitLogin(page, server, user, user.password);
  const dialog = page.getByRole('dialog', { name: 'Trust this server?' });
  const home = page.getByRole('tree', { name: 'Home', exact: true });
  await dialog.or(home).first().waitFor();
  if (await dialog.isVisible()) {
    expect(await dialog.getByText(/^SHA256:/).textContent()).toBe(server.fingerprint);
    await dialog.getByRole('button', { name: 'Trust', exact: true }).click();
  }
  await home.waitFor();
  await connectionState(page, 'Connected').waitFor();
}

/** Names of the tree's rows, in order (small folders are rendered whole). */
export async function treeNames(page: Page): Promise<string[]> {
  return tree(page)
    .getByRole('treeitem')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
}

/** The page's DataTransfer, as far as these helpers use it (tests type-check without the DOM library). */
export interface PageDataTransfer {
  readonly items: { add(file: File): unknown };
}
declare const DataTransfer: { new (): PageDataTransfer };

/** A DataTransfer in the page holding `files` (name → text content, or a byte count of a pattern). */
export function makeDataTransfer(page: Page, files: Record<string, string | number>): Promise<JSHandle<PageDataTransfer>> {
  return page.evaluateHandle((spec) => {
    const dt = new DataTransfer();
    for (const [name, content] of Object.entries(spec)) {
      const body = typeof content === 'string' ? content : patternBytes(content);
      dt.items.add(new File([body], name));
    }
    return dt;
    function patternBytes(n: number): Uint8Array<ArrayBuffer> {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) % 251;
      return out;
    }
  }, files);
}

/** The bytes makeDataTransfer puts in a file given a byte count. */
export function patternBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) % 251;
  return out;
}

/** Drag files from "the OS" over `target` and drop them there (dragenter, dragover, drop). */
export async function dropFiles(target: Locator, dataTransfer: JSHandle<PageDataTransfer>, options: { beforeDrop?: () => Promise<void> } = {}): Promise<void> {
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  await options.beforeDrop?.();
  await target.dispatchEvent('drop', { dataTransfer });
}

/** The transfer row (listitem) of a file, and its progress bar. */
export function transferRow(page: Page, name: string): Locator {
  return page
    .getByRole('list', { name: 'Transfers', exact: true })
    .getByRole('listitem')
    .filter({ has: page.getByRole('progressbar', { name: `${name} progress`, exact: true }) });
}

/**
 * Wait until a file's transfer is done: progress 100 and its check in its row, "XXH3-128
 * checked" (a ferryd's default) unless told ("SHA-256 verified" over SFTP or with SHA-256
 * asked for, "size checked" where the remote has no hash) (`row` picks one when the name
 * has several rows, e.g. an upload and a download).
 */
export async function waitTransferDone(
  page: Page,
  name: string,
  row: Locator = transferRow(page, name),
  check: 'XXH3-128 checked' | 'SHA-256 verified' | 'size checked' = 'XXH3-128 checked',
): Promise<Locator> {
  const bar = row.getByRole('progressbar', { name: `${name} progress`, exact: true });
  await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
  await row.getByText(check).waitFor();
  return row;
}

/** The console's text on screen (xterm's DOM renderer rows), without blank rows at the ends. */
export function consoleText(page: Page): Promise<string> {
  return page
    .getByRole('region', { name: 'Console' })
    .locator('.xterm-rows')
    .evaluate((el) => [...el.children].map((row) => (row.textContent ?? '').trimEnd()).join('\n').trim());
}

/** Type a command into the console and press Enter. */
export async function runCommand(page: Page, command: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'Command', exact: true });
  await input.fill(command);
  await input.press('Enter');
}

/**
 * Clear the console, run a command and wait for the line that ends it; the console's text.
 * (The terminal's DOM holds only the rows on screen, so the output is cleared rather than counted.)
 */
export async function runAndWait(page: Page, line: string, end: RegExp): Promise<string> {
  const pane = page.getByRole('region', { name: 'Console' });
  await pane.getByRole('button', { name: 'Clear console', exact: true }).click();
  await expect.poll(() => consoleText(page)).toBe('');
  await runCommand(page, line);
  await expect.poll(() => consoleText(page)).toMatch(new RegExp(end.source, 'm'));
  // Idle again: Run is back.
  await pane.getByRole('button', { name: 'Run', exact: true }).waitFor();
  return consoleText(page);
}

/**
 * After each test: no page errors, and a picture of every open tab when the test failed
 * (test-results/screenshots/FAILED-…), to see what the person would have seen.
 */
export function checkAfterEach(e2e: () => E2E | undefined): void {
  afterEach(async (context) => {
    const env = e2e();
    if (!env) return;
    if (context.task.result?.state === 'fail') {
      const slug = context.task.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
      for (const [i, page] of env.context.pages().entries()) {
        await page.screenshot({ path: path.join(SCREENSHOTS, `FAILED-${slug}-${i}.png`) }).catch(() => undefined);
      }
    }
    expect(env.pageErrors.splice(0)).toEqual([]);
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  // Transitions are finished first, so the picture shows the state the DOM is in.
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), animations: 'disabled' });
}

// ---- helpers for transfer controls, tree operations and reconnects (additive) ----------

/** The same server reached through another port on 127.0.0.1 (e.g. a test/helpers/proxy.ts Proxy). */
export function throughPort(server: Ferryd, port: number): Ferryd {
  return { ...server, port, cliArgs: (user: string) => ['--host', server.host, '--port', String(port), '--user', user, ...(server.plain ? ['--plain'] : [])] };
}

/**
 * Log in through a new TCP proxy in front of `server` (test/helpers/proxy.ts: it can slow
 * the traffic down, cut it, stop listening for a while). When `previous` is given, the page
 * disconnects first and that proxy is closed: the transfers that follow use new
 * connections, whose kernel buffers are small again (a connection that once ran at full
 * speed can swallow a 12 MiB file before any throttle is felt).
 */
export async function logInThroughProxy(page: Page, server: Ferryd, user: TestUser, previous?: Proxy | null): Promise<Proxy> {
  if (previous) {
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await connectForm(page).waitFor();
    await previous.close();
  }
  const proxy = await Proxy.start(server.port);
  await logIn(page, throughPort(server, proxy.port), user);
  return proxy;
}

/** A file's row progress bar (`row` picks one when the name has several rows). */
export function transferBar(page: Page, name: string, row: Locator = transferRow(page, name)): Locator {
  return row.getByRole('progressbar', { name: `${name} progress`, exact: true });
}

/** What a row's progress bar says: its aria-valuenow and the state in its aria-valuetext ("42%, Paused"). */
export interface TransferStatus {
  readonly percent: number;
  readonly state: string;
}

/** The status of a file's row now, or null while there is no such row (for expect.poll). */
export async function transferStatus(page: Page, name: string, row: Locator = transferRow(page, name)): Promise<TransferStatus | null> {
  const bar = transferBar(page, name, row);
  if ((await bar.count()) !== 1) return null;
  const [now, text] = await Promise.all([bar.getAttribute('aria-valuenow', { timeout: 2000 }), bar.getAttribute('aria-valuetext', { timeout: 2000 })]).catch(
    () => [null, null] as const,
  );
  if (now === null || text === null) return null;
  return { percent: Number(now), state: text.replace(/^\d+%, /, '') };
}

/** Wait until a file's row shows `state` (the badge word: "Paused", "Cancelled", …). */
export async function waitTransferState(page: Page, name: string, state: string, row: Locator = transferRow(page, name), timeout = 20_000): Promise<void> {
  await expect.poll(async () => (await transferStatus(page, name, row))?.state ?? null, { timeout, interval: 50 }).toBe(state);
  await row.getByText(state, { exact: true }).first().waitFor();
}

/** The pane-wide queue buttons of the Transfers region ("Pause all", "Clear finished", …). */
export function transfersButton(page: Page, name: string): Locator {
  return page.getByRole('region', { name: 'Transfers' }).getByRole('button', { name, exact: true });
}

/** A row's own button ("Pause NAME", "Resume NAME", "Cancel NAME", "Retry NAME"). */
export function rowButton(page: Page, action: 'Pause' | 'Resume' | 'Cancel' | 'Retry', name: string, row: Locator = transferRow(page, name)): Locator {
  return row.getByRole('button', { name: `${action} ${name}`, exact: true });
}

/** The tree's filter box (type=search; Escape clears it). */
export const filterBox = (page: Page): Locator => page.getByRole('searchbox', { name: 'Filter', exact: true });

/**
 * Drag with the mouse, as a person does (the browser makes the real dragstart, dragenter,
 * dragover, drop and dragend events, with one DataTransfer): press on `source`, move over
 * `target` (at `position` inside it, default its middle), run `whileOver` there (e.g. to
 * take a picture of the highlight), release.
 */
export async function mouseDrag(
  source: Locator,
  target: Locator,
  options: { position?: { x: number; y: number }; whileOver?: () => Promise<void> } = {},
): Promise<void> {
  const page = source.page();
  await source.hover();
  await page.mouse.down();
  const box = await target.boundingBox();
  if (!box) throw new Error('the drop target is not visible');
  const at = options.position ?? { x: box.width / 2, y: box.height / 2 };
  // Chromium fires dragenter when the pointer reaches an element and dragover only as it
  // moves on inside it: arrive a little to the left, then move onto the point.
  await page.mouse.move(box.x + at.x - 4, box.y + at.y, { steps: 4 });
  await page.mouse.move(box.x + at.x, box.y + at.y, { steps: 2 });
  await options.whileOver?.();
  await page.mouse.up();
}
