/**
 * A folder of 200,000 entries in a real Chromium (listed in pages by the engine): it opens, the virtualized tree shows its
 * first rows, End reaches the last one, and a filter narrows it. Times are printed; the
 * only bound is a generous sanity one (this is not a benchmark).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { emptyFiles } from '../helpers/files.js';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, logIn, screenshot, setupE2E, tree, treeItem, type E2E } from './e2e.js';

const frank: TestUser = { name: 'frank', password: 'frank pass phrase' };
const COUNT = 200_000;
const SANE_MS = 20_000;
/**
 * Opening lists 200,000 entries (40 pages, an lstat each on the server) and sends them to
 * the page: ~10 s on a quiet machine, more on a shared one. Scrolling and filtering, once
 * open, keep SANE_MS.
 */
const OPEN_MS = 90_000;
const name = (i: number): string => `file-${String(i).padStart(6, '0')}.txt`;

let e2e: E2E;
let page: Page;

beforeAll(async () => {
  e2e = await setupE2E([frank]);
  const started = Date.now();
  await emptyFiles(path.join(e2e.home(frank), 'many'), COUNT, name);
  console.log(`big folder: created ${COUNT} files in ${Date.now() - started} ms`);
  page = await e2e.openTab();
  await logIn(page, e2e.server, frank);
}, 180_000);
checkAfterEach(() => e2e);
afterAll(cleanupAll);

describe('a folder of 200,000 entries', () => {
  it('opens, scrolls to the end with the keyboard, and filters', async () => {
    await treeItem(page, 'many').dblclick();
    let started = Date.now();
    const first = treeItem(page, name(0));
    await first.waitFor({ timeout: OPEN_MS });
    const openMs = Date.now() - started;
    await page.getByRole('tree', { name: '/many', exact: true }).waitFor();
    expect(await first.getAttribute('aria-setsize')).toBe(String(COUNT));
    expect(await first.getAttribute('aria-posinset')).toBe('1');
    // Virtualized: only a window of rows is in the DOM.
    expect(await tree(page).getByRole('treeitem').count()).toBeLessThan(200);

    await first.click();
    started = Date.now();
    await tree(page).press('End');
    const last = treeItem(page, name(COUNT - 1));
    await last.waitFor({ timeout: SANE_MS });
    await expect.poll(() => last.isVisible()).toBe(true);
    const endMs = Date.now() - started;
    expect(await last.getAttribute('aria-posinset')).toBe(String(COUNT));
    // The keyboard is on the last row (aria-activedescendant), which is in view.
    expect(await tree(page).getAttribute('aria-activedescendant')).toBe(await last.getAttribute('id'));
    await screenshot(page, '15-big-folder-end');

    // Home goes back to the top.
    started = Date.now();
    await tree(page).press('Home');
    await first.waitFor({ timeout: SANE_MS });
    const homeMs = Date.now() - started;

    started = Date.now();
    await page.getByRole('searchbox', { name: 'Filter', exact: true }).fill('099998');
    await expect.poll(() => tree(page).getByRole('treeitem').count(), { timeout: SANE_MS }).toBe(1);
    await treeItem(page, name(99_998)).waitFor();
    const filterMs = Date.now() - started;

    console.log(`big folder: first row ${openMs} ms, End ${endMs} ms, Home ${homeMs} ms, filter ${filterMs} ms`);
    for (const ms of [endMs, homeMs, filterMs]) expect(ms).toBeLessThan(SANE_MS);
  }, 180_000);
});
