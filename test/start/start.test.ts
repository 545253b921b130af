/**
 * `npm start` as a person runs it on a fresh machine: where Electron cannot run, it says
 * so in one line, starts browser mode with the local server and prints the address; the
 * page (a real Chromium) comes up connected to the local server with the welcome, takes an
 * upload and lists it; Ctrl+C (SIGINT to the whole process group, as a terminal sends it)
 * stops everything and exits 0; the local server's files are there on the next run.
 *
 * HOME, the XDG folders, FERRY_CONFIG_DIR and FERRY_DATA_DIR point into a temporary folder:
 * the real user's configuration is never touched. `pretest` has built everything, so
 * `npm start` finds dist/ up to date and does not rebuild under the other tests' feet.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO, cleanupAll, onCleanup, tempDir } from '../helpers/harness.js';
import { launchChromium } from '../helpers/chromium.js';

const NOTICE = 'Electron is not available on this machine (its binary could not be downloaded); starting Ferry in your browser instead.';

afterAll(cleanupAll);

function electronRuns(): boolean {
  try {
    const binary = createRequire(path.join(REPO, 'package.json'))('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) && Boolean(process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY']);
  } catch {
    return false;
  }
}

interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a command in its own process group (so a "Ctrl+C" can reach all of it). */
function launch(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exit;
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function waitForOutput(run: Running, pattern: RegExp, ms: number): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const match = pattern.exec(run.stdout());
    if (match) return match;
    if (run.child.exitCode !== null || Date.now() > end) {
      throw new Error(`no ${pattern} in the output of npm start\n--- stdout\n${run.stdout()}\n--- stderr\n${run.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function environment(): Promise<{ env: NodeJS.ProcessEnv; dataDir: string; configDir: string }> {
  const root = await tempDir('ferry-start-');
  const dirs = { home: path.join(root, 'home'), config: path.join(root, 'config'), data: path.join(root, 'data') };
  await mkdir(dirs.home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    FERRY_CONFIG_DIR: dirs.config,
    FERRY_DATA_DIR: dirs.data,
  };
  // No desktop: nothing may try to open a window or a browser.
  delete env['DISPLAY'];
  delete env['WAYLAND_DISPLAY'];
  return { env, dataDir: dirs.data, configDir: dirs.config };
}

let browser: Browser | undefined;
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  if (!browser) {
    const launched = await launchChromium();
    browser = launched;
    onCleanup(() => launched.close());
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  onCleanup(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, errors };
}

describe('npm start', () => {
  it.skipIf(electronRuns())(
    'starts browser mode with the local server where Electron cannot run, takes an upload, and stops cleanly on Ctrl+C',
    async () => {
      const { env, dataDir, configDir } = await environment();
      const npm = process.env['npm_execpath'];
      const [command, args] = npm?.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
      const run = launch(command, [...args, 'start', '--', '--port', '0', '--no-open'], env);

      const [, url] = await waitForOutput(run, /^Ferry web UI: (http:\/\/127\.0\.0\.1:\d+\/\?code=\S+)$/m, 120_000);
      const [, user, localPort] = await waitForOutput(run, /^Local server: ([a-z_][a-z0-9_.-]*)@127\.0\.0\.1:(\d+) /m, 1000);
      const lines = run.stdout().split('\n');
      // One clear line about Electron, before the address.
      expect(lines.filter((l) => l.includes('Electron'))).toEqual([NOTICE]);
      expect(lines.indexOf(NOTICE)).toBeLessThan(lines.findIndex((l) => l.startsWith('Ferry web UI: ')));
      expect(run.stderr()).not.toMatch(/^\s+at /m);

      const { page, errors } = await openPage(url!);
      // First run: connected to the local server, with the welcome.
      await page.getByRole('heading', { name: 'Welcome to Ferry' }).waitFor({ timeout: 30_000 });
      await page.getByRole('tree').waitFor();
      expect(await page.getByText(`${user}@127.0.0.1:${localPort}`).first().isVisible()).toBe(true);
      await expect.poll(() => page.getByText('Connected', { exact: true }).count()).toBeGreaterThan(0);
      expect(await page.getByText('npx ferryd serve', { exact: false }).count()).toBeGreaterThan(0);

      await page.getByTestId('upload-files-input').setInputFiles({
        name: 'hello-ferry.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('hello from npm start\n'),
      });
      await page.getByRole('treeitem', { name: 'hello-ferry.txt', exact: true }).waitFor({ timeout: 30_000 });
      const stored = path.join(dataDir, 'local-server', 'homes', user!, 'hello-ferry.txt');
      expect(await readFile(stored, 'utf8')).toBe('hello from npm start\n');
      // Its key was trusted from the server itself: no prompt was shown.
      expect(await page.getByRole('dialog').count()).toBe(0);
      expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toMatch(new RegExp(`^127\\.0\\.0\\.1:${localPort} SHA256:`, 'm'));
      expect(errors).toEqual([]);
      await page.close();

      // Ctrl+C in a terminal: SIGINT to npm, the shell and node alike. Ferry stops its web
      // host and local server and exits 0; npm waits for it, then reports the Ctrl+C as
      // npm always does (it re-raises SIGINT on itself).
      const webPort = Number(new URL(url!).port);
      process.kill(-run.child.pid!, 'SIGINT');
      const exit = await run.exit;
      expect([0, 130, 'SIGINT'], `stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`).toContain(exit.signal ?? exit.code);
      expect(run.stdout()).toMatch(/^Ferry stopped\.$/m);
      expect(run.stderr()).not.toMatch(/^\s+at |Error/m);
      expect(await listening(webPort)).toBe(false);
      expect(await listening(Number(localPort))).toBe(false);
      // The data stays for the next run.
      expect(await readFile(stored, 'utf8')).toBe('hello from npm start\n');

      // The next run (browser mode forced): the same local server, port and files.
      const again = launch(process.execPath, ['scripts/start.mjs', '--web', '--no-open'], env);
      const [, url2] = await waitForOutput(again, /^Ferry web UI: (\S+)$/m, 60_000);
      expect(again.stdout()).toMatch(new RegExp(`^Local server: ${user}@127\\.0\\.0\\.1:${localPort} `, 'm'));
      expect(again.stdout()).not.toContain('Electron');
      const second = await openPage(url2!);
      await second.page.getByRole('treeitem', { name: 'hello-ferry.txt', exact: true }).waitFor({ timeout: 30_000 });
      expect(second.errors).toEqual([]);
      // Without npm in between, Ctrl+C ends it with status 0.
      process.kill(-again.child.pid!, 'SIGINT');
      expect(await again.exit).toEqual({ code: 0, signal: null });
      expect(again.stdout()).toMatch(/^Ferry stopped\.$/m);
      expect(await listening(Number(localPort))).toBe(false);
    },
    240_000,
  );

  const electronPackage = existsSync(path.join(REPO, 'node_modules/electron/electron.d.ts'));
  it.skipIf(!electronPackage)('launches the desktop app where Electron can run (a stand-in binary here), and ends with it', async () => {
    const { env } = await environment();
    const fake = await tempDir('ferry-fake-electron-');
    // electron's index.js honours ELECTRON_OVERRIDE_DIST_PATH: require('electron') is then FAKE/electron.
    await writeFile(
      path.join(fake, 'electron'),
      '#!/bin/sh\necho "electron started with: $* (ELECTRON_RUN_AS_NODE=${ELECTRON_RUN_AS_NODE:-unset})"\nexit 3\n',
      { mode: 0o755 },
    );
    const run = launch(process.execPath, ['scripts/start.mjs', '--port', '0'], {
      ...env,
      ELECTRON_OVERRIDE_DIST_PATH: fake,
      ELECTRON_RUN_AS_NODE: '1',
      DISPLAY: ':0',
    });
    const exit = await run.exit;
    expect(run.stdout()).toContain(`electron started with: ${REPO} (ELECTRON_RUN_AS_NODE=unset)`);
    expect(run.stdout()).not.toContain('Ferry web UI');
    expect(exit).toEqual({ code: 3, signal: null });
  });

  it('explains its options', async () => {
    const run = launch(process.execPath, ['scripts/start.mjs', '--help'], process.env);
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toMatch(/^Usage: npm start -- \[--web\] \[--port N\]/);
  });

  it('refuses a bad --port in one line', async () => {
    const { env } = await environment();
    const run = launch(process.execPath, ['scripts/start.mjs', '--web', '--port', 'eighty', '--no-local-server'], env);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr().trim().split('\n')).toEqual(['npm start: bad --port eighty: give a number from 1 to 65535, or 0 for a free one']);
  });
});
