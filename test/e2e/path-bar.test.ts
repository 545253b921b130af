/**
 * The path bar and bookmarks in a real Chromium through a real ferryd: Ctrl+L turns the
 * breadcrumbs into a field where a path is typed with completion of folder names (the
 * combobox pattern) and Enter goes there; a missing path is said in place; a folder is
 * bookmarked for a saved connection, kept across a reconnect, and its start folder is
 * where the next connection opens (or Home, saying so, once it is gone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, connectForm, connectionState, screenshot, setupE2E, type E2E } from './e2e.js';

const kim: TestUser = { name: 'kim', password: 'kim pass phrase' };
let e2e: E2E;
let page: Page;
let home: string;

beforeAll(async () => {
  e2e = await setupE2E([kim]);
  home = e2e.home(kim);
  for (const dir of ['projects/alpha/src', 'projects/beta/docs', 'projects/Apollo', 'photos']) await mkdir(path.join(home, dir), { recursive: true });
  await writeFile(path.join(home, 'projects', 'alpha', 'src', 'main.c'), 'int main(void) { return 0; }\n');
  await writeFile(path.join(home, 'projects', 'amber.txt'), 'a file, never offered as a folder\n');
  // A saved connection, as the engine keeps it (the form would write the same).
  await writeFile(
    path.join(e2e.configDir, 'profiles.json'),
    JSON.stringify({ version: 1, profiles: [{ id: 'pwork', name: 'Work', protocol: 'ferry', host: e2e.server.host, port: e2e.server.port, user: kim.name }] }),
  );
  page = await e2e.openTab();
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const remote = (): Locator => page.getByRole('region', { name: 'Remote files', exact: true });
const field = (): Locator => remote().getByRole('combobox', { name: 'Path', exact: true });
const options = (): Locator => remote().getByRole('listbox', { name: 'Folders' }).getByRole('option');
const crumbs = (): Locator => remote().getByRole('navigation', { name: 'Breadcrumbs' });
const treeNamed = (name: string): Locator => remote().getByRole('tree', { name, exact: true });
const savedProfile = async (): Promise<{ bookmarks?: string[]; startFolder?: string }> =>
  JSON.parse(await readFile(path.join(e2e.configDir, 'profiles.json'), 'utf8')).profiles[0];

/** Connect from the saved profile (the password typed), trusting the key the first time. */
async function connectFromProfile(): Promise<void> {
  await page.getByRole('region', { name: 'Saved connections' }).getByRole('button', { name: /^Work / }).click();
  await connectForm(page).getByLabel('Password', { exact: true }).fill(kim.password);
  await connectForm(page).getByRole('button', { name: 'Connect', exact: true }).click();
  const trust = page.getByRole('dialog', { name: 'Trust this server?' });
  await trust.or(connectionState(page, 'Connected')).first().waitFor();
  if (await trust.isVisible()) await trust.getByRole('button', { name: 'Trust', exact: true }).click();
  await connectionState(page, 'Connected').waitFor();
}

async function disconnect(): Promise<void> {
  await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await connectForm(page).waitFor();
}

describe('path bar', () => {
  it('goes to a typed path, completing folder names as one types', async () => {
    await connectFromProfile();
    await treeNamed('Home').getByRole('treeitem', { name: 'projects', exact: true }).waitFor();
    await treeNamed('Home').focus();
    await page.keyboard.press('Control+L');
    await expect.poll(() => page.locator(':focus').getAttribute('aria-label')).toBe('Path');
    expect(await field().inputValue()).toBe('/');

    await field().fill('/pro');
    await expect.poll(() => options().allTextContents()).toEqual(['projects']);
    expect(await field().getAttribute('aria-expanded')).toBe('true');
    await field().press('Tab');
    expect(await field().inputValue()).toBe('/projects/');
    // Folders only (amber.txt is a file), case-insensitive, in the tree's order.
    await field().pressSequentially('a');
    await expect.poll(() => options().allTextContents()).toEqual(['alpha', 'Apollo']);
    await field().press('ArrowDown');
    expect(await options().first().getAttribute('aria-selected')).toBe('true');
    expect(await field().getAttribute('aria-activedescendant')).toBe(await options().first().getAttribute('id'));
    await screenshot(page, 'path-bar');
    await field().press('Enter');
    expect(await field().inputValue()).toBe('/projects/alpha/');
    await field().press('Enter');

    await treeNamed('/projects/alpha').getByRole('treeitem', { name: 'src', exact: true }).waitFor();
    expect(await crumbs().getByRole('button').allTextContents()).toEqual(['Home', 'projects']);
    expect(await crumbs().locator('[aria-current="page"]').textContent()).toBe('alpha');
    // The tree has the keyboard again.
    await expect.poll(() => page.locator(':focus').getAttribute('aria-label')).toBe('/projects/alpha');
  });

  it('says in place when a typed path cannot be opened, and Escape leaves it as it was', async () => {
    await page.keyboard.press('F6');
    await field().fill('/projects/nope');
    await field().press('Enter');
    const alert = remote().getByRole('alert').filter({ hasText: 'Could not open /projects/nope.' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/ENOENT/);
    expect(await field().getAttribute('aria-invalid')).toBe('true');
    await field().press('Escape');
    expect(await field().count()).toBe(0);
    await treeNamed('/projects/alpha').waitFor();

    // A click in the bar's empty space edits too; a relative path starts at the folder shown.
    await crumbs().click({ position: { x: 300, y: 10 } });
    await field().fill('../beta');
    await field().press('Enter');
    await treeNamed('/projects/beta').getByRole('treeitem', { name: 'docs', exact: true }).waitFor();
    // A crumb goes to its folder.
    await crumbs().getByRole('button', { name: 'projects', exact: true }).click();
    await treeNamed('/projects').waitFor();
  });
});

describe('bookmarks and the start folder', () => {
  it('bookmarks a folder for the saved connection; after a reconnect it is still there and goes to its folder', async () => {
    await crumbs().click({ position: { x: 300, y: 10 } });
    await field().fill('/projects/beta');
    await field().press('Enter');
    await treeNamed('/projects/beta').waitFor();
    const star = remote().getByRole('button', { name: 'Bookmark this folder', exact: true });
    expect(await star.getAttribute('aria-pressed')).toBe('false');
    await star.click();
    await expect.poll(() => star.getAttribute('aria-pressed')).toBe('true');
    expect((await savedProfile()).bookmarks).toEqual(['/projects/beta']);

    await disconnect();
    await connectFromProfile();
    await treeNamed('Home').waitFor();
    const menu = remote().getByRole('button', { name: 'Bookmarks', exact: true });
    await menu.click();
    const popup = remote().getByRole('dialog', { name: 'Bookmarks' });
    await popup.getByRole('button', { name: '/projects/beta', exact: true }).click();
    await treeNamed('/projects/beta').waitFor();
    expect(await star.getAttribute('aria-pressed')).toBe('true');

    // Set as start folder, from the menu.
    await menu.click();
    await popup.getByRole('button', { name: 'Set as start folder', exact: true }).click();
    await popup.getByText('Start folder: /projects/beta').waitFor();
    expect((await savedProfile()).startFolder).toBe('/projects/beta');
    await popup.press('Escape');
    expect(await popup.count()).toBe(0);
  });

  it('opens the start folder on connect, and Home (saying so) once it is gone', async () => {
    await disconnect();
    await connectFromProfile();
    await treeNamed('/projects/beta').getByRole('treeitem', { name: 'docs', exact: true }).waitFor();

    await disconnect();
    await rm(path.join(home, 'projects', 'beta'), { recursive: true });
    await connectFromProfile();
    await treeNamed('Home').getByRole('treeitem', { name: 'projects', exact: true }).waitFor();
    const notice = remote().getByRole('alert').filter({ hasText: 'The start folder /projects/beta could not be opened' });
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/ENOENT/);

    // Removing the bookmark.
    await remote().getByRole('button', { name: 'Bookmarks', exact: true }).click();
    const popup = remote().getByRole('dialog', { name: 'Bookmarks' });
    await popup.getByRole('button', { name: 'Remove bookmark /projects/beta', exact: true }).click();
    await popup.getByText('No bookmarks yet', { exact: false }).waitFor();
    expect((await savedProfile()).bookmarks).toBeUndefined();
  });
});
