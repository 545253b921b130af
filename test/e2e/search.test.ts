/**
 * Search by name in a real Chromium (browser mode) through the real engine and ferryd: the
 * panel from the toolbar (and Ctrl+Shift+F), results that appear while the server is still
 * sending them (the traffic slowed by a proxy), Stop, and a result opened with Enter and
 * by double-click: its folder shown in the tree with it selected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import type { Proxy } from '../helpers/proxy.js';
import { checkAfterEach, logInThroughProxy, screenshot, setupE2E, tree, treeItem, type E2E } from './e2e.js';

const nina: TestUser = { name: 'nina', password: 'nina pass phrase' };
/** Log files spread over folders: enough results that, slowed down, they take seconds to arrive. */
const FOLDERS = 20;
const PER_FOLDER = 150;
let e2e: E2E;
let page: Page;
let proxy: Proxy;

beforeAll(async () => {
  e2e = await setupE2E([nina]);
  const home = e2e.home(nina);
  await mkdir(path.join(home, 'projects', 'website', 'assets'), { recursive: true });
  await mkdir(path.join(home, 'projects', 'notes'), { recursive: true });
  await writeFile(path.join(home, 'projects', 'website', 'assets', 'Logo-dark.svg'), '<svg/>');
  await writeFile(path.join(home, 'projects', 'website', 'assets', 'logo.png'), 'png');
  await writeFile(path.join(home, 'projects', 'website', 'index.html'), '<h1>hi</h1>');
  await writeFile(path.join(home, 'projects', 'notes', 'logbook.md'), '# log');
  await writeFile(path.join(home, 'projects', 'notes', 'todo.txt'), 'todo');
  for (let d = 0; d < FOLDERS; d++) {
    const dir = path.join(home, 'logs', `day-${String(d).padStart(2, '0')}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: PER_FOLDER }, (_, i) => writeFile(path.join(dir, `server-${String(i).padStart(4, '0')}.log`), '')));
  }
  page = await e2e.openTab();

  proxy = await logInThroughProxy(page, e2e.server, nina);
  await treeItem(page, 'projects').waitFor();
}, 90_000);
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const panel = () => page.getByRole('region', { name: 'Search' });
const results = () => panel().getByRole('listbox', { name: 'Search results' });
const status = () => panel().getByRole('status');
const patternBox = () => panel().getByRole('searchbox', { name: 'Name' });

describe('search', () => {
  it('lists matches from every folder below, and opens one in the tree with it selected', async () => {
    await page.getByRole('button', { name: 'Search…' }).click();
    await expect.poll(() => patternBox().evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await panel().getByText('Names below Home').count()).toBe(1);
    await patternBox().fill('logo');
    await patternBox().press('Enter');
    await expect.poll(() => status().textContent()).toBe('2 found · done');
    const names = await results().getByRole('option').allTextContents();
    expect(names.sort()).toEqual(['Logo-dark.svgprojects/website/assets6 B', 'logo.pngprojects/website/assets3 B']);
    await screenshot(page, '80-search-results');

    // Enter on a result (the keyboard way): the tree opens its folder with it selected.
    await results().focus();
    await results().press('End');
    const chosen = (await results().getByRole('option', { selected: true }).textContent())!;
    await results().press('Enter');
    const name = chosen.startsWith('logo.png') ? 'logo.png' : 'Logo-dark.svg';
    await expect.poll(() => treeItem(page, name).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByRole('navigation', { name: 'Breadcrumbs' }).textContent()).toMatch(/projects.*website.*assets/);
    await expect.poll(() => tree(page).evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await screenshot(page, '82-search-opened');

    // A glob matches whole names; a double-click opens the result too. The panel searches
    // the folder the tree shows when it is opened.
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'Home' }).click();
    await treeItem(page, 'logs').waitFor();
    await page.keyboard.press('Control+Shift+F');
    await patternBox().fill('*.md');
    await panel().getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => status().textContent()).toBe('1 found · done');
    await results().getByRole('option', { name: /logbook\.md/ }).dblclick();
    await expect.poll(() => treeItem(page, 'logbook.md').getAttribute('aria-selected')).toBe('true');
  });

  it('shows results while they arrive, and Stop ends the search', async () => {
    await page.keyboard.press('F3');
    // The panel searches the folder the tree shows; go Home first.
    await panel().getByRole('button', { name: 'Close search' }).click();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'Home' }).click();
    await treeItem(page, 'logs').waitFor();
    await page.keyboard.press('F3');
    await patternBox().fill('*.log');
    // Slowed to a trickle: the results take many seconds to come.
    proxy.downRate = 16 * 1024;
    await patternBox().press('Enter');
    await expect.poll(() => status().textContent(), { timeout: 20_000 }).toMatch(/^[1-9][\d,]* found · searching…$/);
    await expect.poll(async () => results().getByRole('option').count()).toBeGreaterThan(0);
    await screenshot(page, '81-search-running');
    await panel().getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => status().textContent()).toMatch(/^[\d,]+ found · stopped$/);
    const stoppedAt = Number((await status().textContent())!.split(' ')[0]!.replace(/,/g, ''));
    expect(stoppedAt).toBeLessThan(FOLDERS * PER_FOLDER);
    proxy.downRate = null;
    // Nothing more arrives after the stop.
    await page.waitForTimeout(500);
    expect(await status().textContent()).toBe(`${stoppedAt.toLocaleString('en')} found · stopped`);
    expect(await panel().getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);

    // Searched again at full speed: every match, bounded at the first 5,000 only when more.
    await panel().getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => status().textContent(), { timeout: 20_000 }).toBe(`${(FOLDERS * PER_FOLDER).toLocaleString('en')} found · done`);
    // Escape closes the panel.
    await patternBox().press('Escape');
    await expect.poll(() => panel().count()).toBe(0);
  });
});
