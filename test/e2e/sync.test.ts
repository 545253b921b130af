/**
 * Folder sync in a real Chromium (browser mode): the dialog from the header, a preview
 * that lists every planned action with its reason and how files were compared, a line
 * unticked and therefore not done, a conflict left alone, and a run whose copies go
 * through the transfer list; checked on both disks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { exists } from '../helpers/files.js';
import { checkAfterEach, logIn, screenshot, setupE2E, transferRow, type E2E } from './e2e.js';

const sara: TestUser = { name: 'sara', password: 'sara pass phrase' };
let e2e: E2E;
let page: Page;
let home: string;
let local: string;

beforeAll(async () => {
  e2e = await setupE2E([sara]);
  home = e2e.home(sara);
  // Browser mode syncs folders inside the host's download folder only.
  local = path.join(e2e.downloadDir, 'site');
  await mkdir(path.join(local, 'css'), { recursive: true });
  await writeFile(path.join(local, 'index.html'), '<h1>new home page</h1>\n');
  await writeFile(path.join(local, 'css', 'site.css'), 'body { margin: 0 }\n');
  await writeFile(path.join(local, 'draft.txt'), 'not for the server yet\n');
  await writeFile(path.join(local, 'both.txt'), 'local copy\n');
  await mkdir(path.join(home, 'site'), { recursive: true });
  await writeFile(path.join(home, 'site', 'index.html'), '<h1>old home page</h1>\n');
  await writeFile(path.join(home, 'site', 'stale.html'), 'gone locally\n');
  await writeFile(path.join(home, 'site', 'both.txt'), 'server copy\n');
  // The same modification time with different contents: neither is newer, so a conflict.
  const t = new Date('2026-06-01T12:00:00Z');
  await utimes(path.join(local, 'both.txt'), t, t);
  await utimes(path.join(home, 'site', 'both.txt'), t, t);
  const old = new Date('2026-01-01T00:00:00Z');
  await utimes(path.join(home, 'site', 'index.html'), old, old);
  page = await e2e.openTab();
  await logIn(page, e2e.server, sara);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const dialog = () => page.getByRole('dialog', { name: 'Sync folders' });
const table = () => dialog().getByRole('table', { name: 'Planned actions' });
const row = (p: string) => table().getByRole('row').filter({ hasText: p });

describe('sync preview', () => {
  it('previews every action with its reason, runs the ticked ones, and leaves the rest', async () => {
    await page.getByRole('button', { name: 'Sync…' }).click();
    await dialog().getByRole('textbox', { name: 'Local folder' }).fill(local);
    await dialog().getByRole('textbox', { name: 'Server folder' }).fill('/site');
    await dialog().getByRole('radio', { name: /Both ways/ }).check();
    await dialog().getByRole('button', { name: 'Preview' }).click();
    await table().waitFor();

    await expect.poll(() => dialog().getByTestId('sync-compare').textContent()).toMatch(/compared by content \(XXH3-128\)/);
    await expect.poll(async () => (await row('index.html').textContent()) ?? '').toMatch(/Upload.*newer here/);
    expect(await row('stale.html').textContent()).toMatch(/Download.*only on the remote/);
    expect(await row('site.css').textContent()).toMatch(/Upload/);
    expect(await row('both.txt').textContent()).toMatch(/Conflict.*same modification time/);
    // A conflict has no tick box: it cannot be run.
    expect(await row('both.txt').getByRole('checkbox').count()).toBe(0);
    await screenshot(page, '75-sync-preview');

    // Untick the draft: it stays local.
    await dialog().getByRole('checkbox', { name: 'Upload draft.txt' }).uncheck();
    await expect.poll(() => dialog().getByRole('status').textContent()).toMatch(/^2 uploads .*1 download.*1 folder to create/);
    await dialog().getByRole('button', { name: 'Sync', exact: true }).click();
    await dialog().getByText(/^Done: 4 actions carried out\. 1 conflict left as it is\./).waitFor({ timeout: 30_000 });
    await screenshot(page, '76-sync-done');

    // The copies went through the transfer list, verified.
    await transferRow(page, 'index.html').waitFor();
    expect(await readFile(path.join(home, 'site', 'index.html'), 'utf8')).toBe('<h1>new home page</h1>\n');
    expect(await readFile(path.join(home, 'site', 'css', 'site.css'), 'utf8')).toBe('body { margin: 0 }\n');
    expect(await readFile(path.join(local, 'stale.html'), 'utf8')).toBe('gone locally\n');
    expect(await exists(path.join(home, 'site', 'draft.txt'))).toBe(false);
    expect(await readFile(path.join(home, 'site', 'both.txt'), 'utf8')).toBe('server copy\n');
    expect(await readFile(path.join(local, 'both.txt'), 'utf8')).toBe('local copy\n');
    expect((await stat(path.join(local, 'draft.txt'))).isFile()).toBe(true);
    await dialog().getByRole('button', { name: 'Close' }).click();
  });

  it('refuses a local folder outside the host’s download folder in browser mode', async () => {
    await page.getByRole('button', { name: 'Sync…' }).click();
    await dialog().getByRole('textbox', { name: 'Local folder' }).fill('/etc');
    await dialog().getByRole('button', { name: 'Preview' }).click();
    await dialog().getByRole('alert').getByText(/synced folder stays inside/).waitFor();
    await dialog().getByRole('button', { name: 'Cancel' }).click();
  });
});
