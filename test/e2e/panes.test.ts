/**
 * The local pane in a real Chromium (browser mode, so it shows the host's download
 * folder): shown beside the remote tree by the header's toggle (remembered), the same tree
 * and keys, local files and folders dragged onto the remote tree are uploaded and a remote
 * file dragged onto a local folder is downloaded there, all through the transfer list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { exists, waitFor } from '../helpers/files.js';
import { checkAfterEach, logIn, screenshot, setupE2E, transferRow, waitTransferDone, type E2E } from './e2e.js';

const pat: TestUser = { name: 'pat', password: 'pat pass phrase' };
let e2e: E2E;
let page: Page;
let home: string;

beforeAll(async () => {
  e2e = await setupE2E([pat]);
  home = e2e.home(pat);
  await mkdir(path.join(e2e.downloadDir, 'album', 'sub'), { recursive: true });
  await writeFile(path.join(e2e.downloadDir, 'report.txt'), 'quarterly report\n');
  await writeFile(path.join(e2e.downloadDir, 'album', 'a.jpg'), 'picture a');
  await writeFile(path.join(e2e.downloadDir, 'album', 'sub', 'b.jpg'), 'picture b');
  await mkdir(path.join(home, 'inbox'), { recursive: true });
  await writeFile(path.join(home, 'server.txt'), 'from the server\n');
  page = await e2e.openTab();
  await logIn(page, e2e.server, pat);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const localPane = (): Locator => page.getByRole('region', { name: 'Local files', exact: true });
const remotePane = (): Locator => page.getByRole('region', { name: 'Remote files', exact: true });
const localTree = (): Locator => localPane().getByRole('tree');
const remoteTree = (): Locator => remotePane().getByRole('tree');
const row = (tree: Locator, name: string): Locator => tree.getByRole('treeitem', { name, exact: true });
const rowNames = async (tree: Locator): Promise<Array<string | null>> => Promise.all((await tree.getByRole('treeitem').all()).map((r) => r.getAttribute('aria-label')));
const toggle = (): Locator => page.getByRole('button', { name: 'Show local files', exact: true });

describe('two panes', () => {
  it('shows the host’s folder beside the remote tree, with the same tree and keys, and remembers the choice', async () => {
    expect(await localPane().count()).toBe(0);
    expect(await toggle().getAttribute('aria-pressed')).toBe('false');
    await toggle().click();
    expect(await toggle().getAttribute('aria-pressed')).toBe('true');
    await row(localTree(), 'report.txt').waitFor();
    expect(await rowNames(localTree())).toEqual(['album', 'report.txt']);
    // Browser mode: the pane's top is the host's folder, named Home; Up is off there.
    expect(await localPane().getByRole('navigation', { name: 'Breadcrumbs' }).textContent()).toBe('Home');
    expect(await localPane().getByRole('button', { name: 'Up one folder', exact: true }).isDisabled()).toBe(true);
    await row(remoteTree(), 'server.txt').waitFor();

    // The same keyboard: Home, → expands a folder, Enter opens it (the path bar follows), Backspace goes up.
    await localTree().focus();
    await localTree().press('Home');
    await localTree().press('ArrowRight');
    await row(localTree(), 'sub').waitFor();
    expect(await row(localTree(), 'album').getAttribute('aria-expanded')).toBe('true');
    await localTree().press('Enter');
    await localPane().getByRole('navigation', { name: 'Breadcrumbs' }).getByText('album', { exact: true }).waitFor();
    await row(localTree(), 'a.jpg').waitFor();
    await localTree().press('Backspace');
    await row(localTree(), 'report.txt').waitFor();
    // Sort and filter are the pane's own.
    await localPane().getByRole('button', { name: 'Sort by name' }).click();
    expect(await rowNames(localTree())).toEqual(['album', 'report.txt']);
    await localPane().getByRole('searchbox', { name: 'Filter' }).fill('rep');
    expect(await localTree().getByRole('treeitem').count()).toBe(1);
    expect(await remoteTree().getByRole('treeitem').count()).toBe(2);
    await localPane().getByRole('searchbox', { name: 'Filter' }).fill('');

    // Remembered with the layout: a reload (a new engine session) shows it again.
    await page.reload();
    await row(localTree(), 'report.txt').waitFor();
    await logIn(page, e2e.server, pat);
    await row(remoteTree(), 'server.txt').waitFor();
  });

  it('uploads a local file and a local folder dragged onto the remote tree, through the queue', async () => {
    await row(localTree(), 'report.txt').dragTo(remoteTree(), { targetPosition: { x: 200, y: 150 } });
    await waitTransferDone(page, 'report.txt');
    expect(await readFile(path.join(home, 'report.txt'), 'utf8')).toBe('quarterly report\n');
    await row(remoteTree(), 'report.txt').waitFor();

    // A folder onto a folder row: into that folder, with what is inside it.
    await row(localTree(), 'album').dragTo(row(remoteTree(), 'inbox'));
    await waitTransferDone(page, 'b.jpg');
    await waitTransferDone(page, 'a.jpg');
    expect(await readFile(path.join(home, 'inbox', 'album', 'sub', 'b.jpg'), 'utf8')).toBe('picture b');
    expect(await readFile(path.join(home, 'inbox', 'album', 'a.jpg'), 'utf8')).toBe('picture a');
  });

  it('downloads a remote file dragged onto a local folder into that folder', async () => {
    await row(remoteTree(), 'server.txt').dragTo(row(localTree(), 'album'));
    await waitTransferDone(page, 'server.txt');
    await waitFor(() => exists(path.join(e2e.downloadDir, 'album', 'server.txt')), 10_000, 'the downloaded file');
    expect(await readFile(path.join(e2e.downloadDir, 'album', 'server.txt'), 'utf8')).toBe('from the server\n');
    // Not into the download folder itself.
    expect(await exists(path.join(e2e.downloadDir, 'server.txt'))).toBe(false);
    expect(await transferRow(page, 'server.txt').count()).toBe(1);
    await row(localTree(), 'album').click();
    await page.getByRole('button', { name: 'Hide connections' }).click();
    await screenshot(page, 'panes');
    await page.getByRole('button', { name: 'Show connections' }).click();
  });

  it('hides the local pane again', async () => {
    await toggle().click();
    expect(await localPane().count()).toBe(0);
    expect(await toggle().getAttribute('aria-pressed')).toBe('false');
    await row(remoteTree(), 'server.txt').waitFor();
  });
});
