/**
 * The remote tree in a real Chromium: browsing (expand in place, open, breadcrumbs),
 * uploads by real drop events and through the "Upload folder…" picker (bytes checked on
 * the server), downloads from the context menu, rename, delete and new folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, tempDir, type TestUser } from '../helpers/harness.js';
import { exists, sha256, treeDigest } from '../helpers/files.js';
import {
  checkAfterEach,
  dropFiles,
  logIn,
  makeDataTransfer,
  patternBytes,
  screenshot,
  setupE2E,
  transferRow,
  tree,
  treeItem,
  treeNames,
  waitTransferDone,
  type E2E,
} from './e2e.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let e2e: E2E;
let page: Page;
let home: string;

beforeAll(async () => {
  e2e = await setupE2E([alice]);
  home = e2e.home(alice);
  await mkdir(path.join(home, 'docs', 'nested'), { recursive: true });
  await mkdir(path.join(home, 'photos'), { recursive: true });
  await writeFile(path.join(home, 'docs', 'readme.md'), '# read me\n');
  await writeFile(path.join(home, 'docs', 'nested', 'deep.txt'), 'deep down\n');
  await writeFile(path.join(home, 'top.txt'), 'top of the home\n');
  page = await e2e.openTab();
  await logIn(page, e2e.server, alice);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const toolbar = () => page.getByRole('toolbar', { name: 'File actions' });
const breadcrumbs = () => page.getByRole('navigation', { name: 'Breadcrumbs' });
const remotePane = () => page.getByRole('region', { name: 'Remote files' });

async function goHome(): Promise<void> {
  if (await page.getByRole('tree', { name: 'Home', exact: true }).isVisible()) return;
  await breadcrumbs().getByRole('button', { name: 'Home', exact: true }).click();
  await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
}

describe('the remote tree', () => {
  it('browses: expands in place, opens folders with Enter and double-click, goes back with the breadcrumbs', async () => {
    const home = page.getByRole('tree', { name: 'Home', exact: true });
    expect(await home.getAttribute('aria-multiselectable')).toBe('true');
    // Folders first, then files; names are exactly the file names.
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'photos', 'top.txt']);
    await screenshot(page, '04-connected-tree');

    const docs = treeItem(page, 'docs');
    expect(await docs.getAttribute('aria-expanded')).toBe('false');
    expect(await docs.getAttribute('aria-level')).toBe('1');
    await docs.click();
    expect(await docs.getAttribute('aria-selected')).toBe('true');
    // → expands in place: the children appear below it, one level deeper.
    await home.press('ArrowRight');
    await expect.poll(() => docs.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'nested', 'readme.md', 'photos', 'top.txt']);
    expect(await treeItem(page, 'readme.md').getAttribute('aria-level')).toBe('2');
    expect(await treeItem(page, 'nested').getAttribute('aria-expanded')).toBe('false');
    // ← collapses.
    await home.press('ArrowLeft');
    await expect.poll(() => docs.getAttribute('aria-expanded')).toBe('false');
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'photos', 'top.txt']);

    // Double-click opens the folder: the tree is now named after it and the breadcrumbs follow.
    await docs.dblclick();
    const docsTree = page.getByRole('tree', { name: '/docs', exact: true });
    await docsTree.waitFor();
    await expect.poll(() => treeNames(page)).toEqual(['nested', 'readme.md']);
    expect(await breadcrumbs().getByRole('button', { name: 'Home', exact: true }).isVisible()).toBe(true);
    expect(await breadcrumbs().locator('[aria-current="page"]').textContent()).toBe('docs');

    // Enter on a focused folder opens it too.
    await treeItem(page, 'nested').click();
    await docsTree.press('Enter');
    await page.getByRole('tree', { name: '/docs/nested', exact: true }).waitFor();
    await expect.poll(() => treeNames(page)).toEqual(['deep.txt']);
    expect(await breadcrumbs().locator('[aria-current="page"]').textContent()).toBe('nested');

    // One crumb up, then Home; the folder we came out of keeps the keyboard.
    await breadcrumbs().getByRole('button', { name: 'docs', exact: true }).click();
    await docsTree.waitFor();
    await expect.poll(() => treeNames(page)).toEqual(['nested', 'readme.md']);
    await breadcrumbs().getByRole('button', { name: 'Home', exact: true }).click();
    await home.waitFor();
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'photos', 'top.txt']);
    expect(await toolbar().getByRole('button', { name: 'Up one folder', exact: true }).isDisabled()).toBe(true);
  });

  it('uploads files dropped on the tree, with a progress bar per file, and shows them in the tree', async () => {
    await goHome();
    const big = 48 * 1024 * 1024 + 3;
    const dt = await makeDataTransfer(page, { 'notes.txt': 'dropped from the desktop\n', 'video.bin': big });
    await dropFiles(tree(page), dt, {
      beforeDrop: async () => {
        // The drag is over the folder's empty space: the whole tree is the target.
        await page.getByText('Drop to upload to Home').waitFor();
        await screenshot(page, '05-drop-highlight');
      },
    });
    await page.getByText('Drop to upload to Home').waitFor({ state: 'detached' });

    // For the picture only (not a check): catch the big file while it moves, if we can.
    const videoBar = transferRow(page, 'video.bin').getByRole('progressbar', { name: 'video.bin progress', exact: true });
    await expect
      .poll(async () => Number((await videoBar.getAttribute('aria-valuenow').catch(() => null)) ?? 0), { timeout: 10_000, interval: 5 })
      .toBeGreaterThan(0)
      .catch(() => undefined);
    await screenshot(page, '06-transfers-progress');
    for (const name of ['notes.txt', 'video.bin']) {
      const row = await waitTransferDone(page, name);
      expect(await row.textContent()).toContain('Done');
      const bar = row.getByRole('progressbar', { name: `${name} progress`, exact: true });
      expect(await bar.getAttribute('aria-valuemin')).toBe('0');
      expect(await bar.getAttribute('aria-valuemax')).toBe('100');
    }
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'photos', 'notes.txt', 'top.txt', 'video.bin']);
    const overall = page.getByRole('progressbar', { name: 'Overall progress', exact: true });
    expect(await overall.getAttribute('aria-valuenow')).toBe('100');

    expect(await readFile(path.join(home, 'notes.txt'), 'utf8')).toBe('dropped from the desktop\n');
    expect(sha256(await readFile(path.join(home, 'video.bin')))).toBe(sha256(patternBytes(big)));
  });

  it('uploads files dropped on a folder row into that folder', async () => {
    await goHome();
    const photos = treeItem(page, 'photos');
    const dt = await makeDataTransfer(page, { 'cat.jpg': 70_000, 'dog.jpg': 'woof' });
    await dropFiles(photos, dt, {
      beforeDrop: async () => {
        // The folder row is the target, not the current folder.
        expect(await page.getByText('Drop to upload to Home').count()).toBe(0);
        await screenshot(page, '07-drop-on-folder');
      },
    });
    await waitTransferDone(page, 'cat.jpg');
    await waitTransferDone(page, 'dog.jpg');
    expect(sha256(await readFile(path.join(home, 'photos', 'cat.jpg')))).toBe(sha256(patternBytes(70_000)));
    expect(await readFile(path.join(home, 'photos', 'dog.jpg'), 'utf8')).toBe('woof');
    // Not in the home itself; inside photos once it is expanded.
    expect(await treeNames(page)).not.toContain('cat.jpg');
    await photos.click();
    await tree(page).press('ArrowRight');
    await treeItem(page, 'cat.jpg').waitFor();
    expect(await treeItem(page, 'cat.jpg').getAttribute('aria-level')).toBe('2');
    await tree(page).press('ArrowLeft');
    await expect.poll(() => photos.getAttribute('aria-expanded')).toBe('false');
  });

  it('uploads a folder through the "Upload folder…" picker, keeping its shape', async () => {
    await goHome();
    const local = path.join(await tempDir('ferry-e2e-local-'), 'album');
    await mkdir(path.join(local, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(local, 'one.txt'), 'one\n');
    await writeFile(path.join(local, 'naïve café.txt'), 'unicode\n');
    await writeFile(path.join(local, 'sub', 'two.bin'), randomBytes(300_000));
    await writeFile(path.join(local, 'sub', 'deeper', 'three.txt'), 'three\n');

    const chooser = page.waitForEvent('filechooser');
    await toolbar().getByRole('button', { name: 'Upload folder…', exact: true }).click();
    await (await chooser).setFiles(local);
    for (const name of ['one.txt', 'naïve café.txt', 'two.bin', 'three.txt']) await waitTransferDone(page, name);
    await treeItem(page, 'album').waitFor();
    expect(await treeDigest(path.join(home, 'album'))).toEqual(await treeDigest(local));
  });

  it('downloads a file from the context menu into the download folder', async () => {
    await goHome();
    const dl = page.getByRole('region', { name: 'Transfers' });
    expect(await dl.textContent()).toContain(`Downloads go to ${e2e.downloadDir}`);
    for (const name of ['top.txt', 'video.bin']) {
      await treeItem(page, name).click({ button: 'right' });
      const menu = page.getByRole('menu', { name: `Actions for ${name}`, exact: true });
      await menu.waitFor();
      await menu.getByRole('menuitem', { name: 'Download', exact: true }).click();
      await menu.waitFor({ state: 'detached' });
    }
    const top = await waitTransferDone(page, 'top.txt');
    expect(await top.textContent()).toContain('Download');
    // video.bin has two rows now: its upload (earlier in this file) and this download.
    const videoRows = transferRow(page, 'video.bin');
    await expect.poll(() => videoRows.count()).toBe(2);
    await waitTransferDone(page, 'video.bin', videoRows.filter({ hasText: 'Download' }));
    expect(await readFile(path.join(e2e.downloadDir, 'top.txt'), 'utf8')).toBe('top of the home\n');
    expect(sha256(await readFile(path.join(e2e.downloadDir, 'video.bin')))).toBe(sha256(patternBytes(48 * 1024 * 1024 + 3)));
  });

  it('renames with F2 and from the menu; a clash shows EEXIST inside the dialog', async () => {
    await goHome();
    await treeItem(page, 'notes.txt').click();
    await tree(page).press('F2');
    let dialog = page.getByRole('dialog', { name: 'Rename “notes.txt”' });
    const name = dialog.getByRole('textbox', { name: 'New name', exact: true });
    expect(await name.inputValue()).toBe('notes.txt');
    // Taken: the error shows in the dialog, which stays open.
    await name.fill('top.txt');
    await dialog.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/^EEXIST: /);
    await name.fill('renamed notes.txt');
    await dialog.getByRole('button', { name: 'Rename', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await treeItem(page, 'renamed notes.txt').waitFor();
    expect(await treeNames(page)).not.toContain('notes.txt');
    expect(await readFile(path.join(home, 'renamed notes.txt'), 'utf8')).toBe('dropped from the desktop\n');
    expect(await exists(path.join(home, 'notes.txt'))).toBe(false);

    // A folder, from the context menu.
    await treeItem(page, 'photos').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for photos', exact: true }).getByRole('menuitem', { name: 'Rename', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Rename “photos”' });
    await dialog.getByRole('textbox', { name: 'New name', exact: true }).fill('pictures');
    await dialog.getByRole('textbox', { name: 'New name', exact: true }).press('Enter');
    await treeItem(page, 'pictures').waitFor();
    expect(await exists(path.join(home, 'pictures', 'cat.jpg'))).toBe(true);
  });

  it('deletes from the menu after asking', async () => {
    await goHome();
    await treeItem(page, 'renamed notes.txt').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for renamed notes.txt', exact: true }).getByRole('menuitem', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete “renamed notes.txt”?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('/renamed notes.txt');
    await screenshot(page, '08-delete-dialog');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => treeNames(page)).not.toContain('renamed notes.txt');
    expect(await exists(path.join(home, 'renamed notes.txt'))).toBe(false);

    // A folder with everything in it, with the Delete key; Cancel first leaves it alone.
    await treeItem(page, 'album').click();
    await tree(page).press('Delete');
    const folderDialog = page.getByRole('dialog', { name: 'Delete “album”?' });
    await folderDialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await folderDialog.waitFor({ state: 'detached' });
    expect(await exists(path.join(home, 'album', 'one.txt'))).toBe(true);
    await tree(page).press('Delete');
    await folderDialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => treeNames(page)).not.toContain('album');
    expect(await exists(path.join(home, 'album'))).toBe(false);
  });

  it('creates folders from the toolbar and inside a folder from its menu', async () => {
    await goHome();
    await toolbar().getByRole('button', { name: 'New folder', exact: true }).click();
    let dialog = page.getByRole('dialog', { name: 'New folder in Home' });
    await dialog.getByRole('textbox', { name: 'Folder name', exact: true }).fill('fresh folder');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await treeItem(page, 'fresh folder').waitFor();
    expect((await stat(path.join(home, 'fresh folder'))).isDirectory()).toBe(true);

    await treeItem(page, 'docs').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for docs', exact: true }).getByRole('menuitem', { name: 'New folder', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'New folder in /docs' });
    await dialog.getByRole('textbox', { name: 'Folder name', exact: true }).fill('inner');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    // Shown in place: docs expands to show it.
    await treeItem(page, 'inner').waitFor();
    expect(await treeItem(page, 'docs').getAttribute('aria-expanded')).toBe('true');
    expect((await stat(path.join(home, 'docs', 'inner'))).isDirectory()).toBe(true);

    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '09-dark-theme');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await remotePane().isVisible()).toBe(true);
  });
});
