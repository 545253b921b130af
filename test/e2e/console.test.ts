/**
 * The console in a real Chromium: commands run on the server, their output and exit line
 * appear in the terminal, Ctrl+C in the Command textbox cancels a long command, `cd` moves
 * the file tree, links in the output open only as web pages and only on Ctrl+click, and an
 * account without exec sees why it cannot run anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, consoleText, logIn, runAndWait, runCommand, screenshot, setupE2E, treeNames, type E2E } from './e2e.js';

const carol: TestUser = { name: 'carol', password: 'carol pass phrase', exec: true };
const dave: TestUser = { name: 'dave', password: 'dave pass phrase' };

let e2e: E2E;
let page: Page;

beforeAll(async () => {
  e2e = await setupE2E([carol, dave]);
  await mkdir(path.join(e2e.home(carol), 'projects', 'ferry'), { recursive: true });
  await writeFile(path.join(e2e.home(carol), 'alpha.txt'), 'a\n');
  await writeFile(path.join(e2e.home(carol), 'beta.txt'), 'b\n');
  await writeFile(path.join(e2e.home(carol), 'projects', 'ferry', 'plan.md'), 'plan\n');
  // OSC 8 hyperlinks, as a hostile server's command could print them. The web link points
  // at a closed loopback port: even if something opened it, nothing would leave the machine.
  const link = (uri: string, text: string): string => `printf '\\033]8;;${uri}\\033\\\\${text}\\033]8;;\\033\\\\\\n'\n`;
  await writeFile(
    path.join(e2e.home(carol), 'links.sh'),
    link(WEB_LINK, 'web link') + link('file:///etc/passwd', 'file link') + link('javascript:alert(1)', 'script link'),
  );
  page = await e2e.openTab();
  await logIn(page, e2e.server, carol);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const WEB_LINK = 'http://127.0.0.1:9/ferry-docs';

const command = () => page.getByRole('textbox', { name: 'Command', exact: true });
const consolePane = () => page.getByRole('region', { name: 'Console' });

describe('the console', () => {
  it('runs commands: output in the page, then [exit N]', async () => {
    await expect.poll(() => consoleText(page)).toContain(`── connected to carol@${e2e.server.host}:${e2e.server.port} ──`);
    let text = await runAndWait(page, 'echo hello from ferry', /^\[exit 0\]$/);
    expect(text).toContain('carol:/$ echo hello from ferry');
    expect(text).toMatch(/^hello from ferry$/m);

    text = await runAndWait(page, 'ls', /^\[exit 0\]$/);
    expect(text).toMatch(/^alpha\.txt$/m);
    expect(text).toMatch(/^beta\.txt$/m);
    expect(text).toMatch(/^projects$/m);

    text = await runAndWait(page, "sh -c 'exit 3'", /^\[exit 3\]$/);
    expect(text).toContain("carol:/$ sh -c 'exit 3'");

    // stderr is shown too.
    text = await runAndWait(page, 'echo oops >&2; exit 1', /^\[exit 1\]$/);
    expect(text).toMatch(/^oops$/m);

    // ↑ brings back the last command.
    await command().press('ArrowUp');
    expect(await command().inputValue()).toBe('echo oops >&2; exit 1');
    await command().fill('');
  });

  it('cancels a long command with Ctrl+C in the Command textbox, promptly', async () => {
    await runCommand(page, 'sleep 30');
    const cancel = consolePane().getByRole('button', { name: 'Cancel command', exact: true });
    await cancel.waitFor();
    await expect.poll(() => consoleText(page)).toContain('carol:/$ sleep 30');
    await screenshot(page, '10-console');
    const started = Date.now();
    await command().press('Control+c');
    await expect.poll(() => consoleText(page), { timeout: 5000 }).toMatch(/^\[cancelled\]$/m);
    const took = Date.now() - started;
    console.log(`console: sleep 30 cancelled in ${took} ms`);
    expect(took).toBeLessThan(5000);
    await consolePane().getByRole('button', { name: 'Run', exact: true }).waitFor();
    expect(await command().isEnabled()).toBe(true);
  });

  it('moves the tree on `cd`', async () => {
    await runAndWait(page, 'cd projects/ferry', /^\[exit 0\]$/);
    await page.getByRole('tree', { name: '/projects/ferry', exact: true }).waitFor();
    await expect.poll(() => treeNames(page)).toEqual(['plan.md']);
    expect(await page.getByRole('navigation', { name: 'Breadcrumbs' }).locator('[aria-current="page"]').textContent()).toBe('ferry');
    // The next command runs there, with the prompt saying so.
    const text = await runAndWait(page, 'pwd', /^\[exit 0\]$/);
    expect(text).toContain('carol:/projects/ferry$ pwd');
    expect(text).toMatch(/\/projects\/ferry$/m);
    await runAndWait(page, 'cd ..', /^\[exit 0\]$/);
    await page.getByRole('tree', { name: '/projects', exact: true }).waitFor();
    await runAndWait(page, 'cd', /^\[exit 0\]$/);
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    await screenshot(page, '11-console-after-cd');
  });

  it('opens a link in the output only as a web page, and only when Ctrl+clicked', async () => {
    // Nothing may really open: window.open is recorded instead, and any request is refused.
    await e2e.context.route('http://127.0.0.1:9/**', (route) => route.abort());
    // The page's window (this file is type-checked without the DOM's types).
    type PageWindow = { opened: unknown[][]; open: (...args: unknown[]) => null };
    await page.evaluate(() => {
      const win = globalThis as unknown as PageWindow;
      const opened: unknown[][] = [];
      win.opened = opened;
      win.open = (...args: unknown[]) => {
        opened.push(args);
        return null;
      };
    });
    const opened = () => page.evaluate(() => (globalThis as unknown as PageWindow).opened);
    const text = await runAndWait(page, 'sh links.sh', /^\[exit 0\]$/);
    // (xterm's rows space with no-break spaces.)
    expect(text).toMatch(/^web\slink$/m);
    expect(text).toMatch(/^file\slink$/m);
    const host = consolePane().locator('.terminal-host');
    const rowOf = async (label: string) => {
      const box = (await consolePane().locator('.xterm-rows > div', { hasText: new RegExp(`^${label.replace(' ', '\\s')}$`) }).boundingBox())!;
      return { x: box.x + 20, y: box.y + box.height / 2 };
    };

    // Hovering the web link says where it goes and how to open it; a plain click opens nothing.
    const web = await rowOf('web link');
    await page.mouse.move(web.x, web.y);
    await expect.poll(() => host.getAttribute('title')).toBe(`${WEB_LINK} (Ctrl+click to open)`);
    await page.mouse.click(web.x, web.y);
    await new Promise((r) => setTimeout(r, 300));
    expect(await opened()).toEqual([]);

    // Ctrl+click opens it, without an opener.
    await page.keyboard.down('Control');
    await page.mouse.click(web.x, web.y);
    await page.keyboard.up('Control');
    await expect.poll(opened).toEqual([[WEB_LINK, '_blank', 'noopener,noreferrer']]);

    // file: and javascript: are not links at all: no hint, and Ctrl+click opens nothing.
    for (const label of ['file link', 'script link']) {
      await page.mouse.move(0, 0);
      await expect.poll(() => host.getAttribute('title')).toBeNull();
      const at = await rowOf(label);
      await page.mouse.move(at.x, at.y);
      await page.keyboard.down('Control');
      await page.mouse.click(at.x, at.y);
      await page.keyboard.up('Control');
      await new Promise((r) => setTimeout(r, 300));
      expect(await host.getAttribute('title'), label).toBeNull();
    }
    expect(await opened()).toHaveLength(1);
  });

  it('tells an account without exec that it may not run commands', async () => {
    const other = await e2e.openTab();
    await logIn(other, e2e.server, dave);
    const input = other.getByRole('textbox', { name: 'Command', exact: true });
    expect(await input.isDisabled()).toBe(true);
    const sentence = other.getByText('This account may not run commands.', { exact: false });
    await sentence.waitFor();
    // The sentence is the textbox's description.
    const describedBy = await input.getAttribute('aria-describedby');
    expect(describedBy).toBeTruthy();
    expect(await other.locator(`[id="${describedBy}"]`).textContent()).toMatch(/^This account may not run commands\./);
    expect(await other.getByRole('region', { name: 'Console' }).getByRole('button', { name: 'Run', exact: true }).isDisabled()).toBe(true);
    await other.close();
  });
});
