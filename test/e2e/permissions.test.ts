/**
 * Permissions in a real Chromium through the real engine and ferryd: the tree's
 * permissions column shows a 0755 script (uploaded with `ferry put`, which keeps its mode)
 * as rwxr-xr-x with the octal in its title; the chmod dialog, opened from the context menu
 * or with Alt+Enter, keeps its checkboxes and octal field in step, changes the file to 0644
 * (checked on the server's disk), changes a folder recursively, and shows errors inside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, tempDir, type TestUser } from '../helpers/harness.js';
import { cliFor, expectOk } from '../cli/cli-helpers.js';
import { checkAfterEach, dropFiles, logIn, makeDataTransfer, screenshot, setupE2E, tree, treeItem, type E2E } from './e2e.js';

const ines: TestUser = { name: 'ines', password: 'ines pass phrase' };
let e2e: E2E;
let page: Page;
let home: string;
const bits = async (file: string): Promise<number> => (await lstat(file)).mode & 0o777;

beforeAll(async () => {
  e2e = await setupE2E([ines]);
  home = e2e.home(ines);
  // The script travels the way a person's would: `ferry put` keeps its mode.
  const local = await tempDir('ferry-e2e-perms-');
  const script = path.join(local, 'deploy.sh');
  await writeFile(script, '#!/bin/sh\necho deploying\n');
  await chmod(script, 0o755);
  await writeFile(path.join(local, 'notes.txt'), 'notes\n');
  await chmod(path.join(local, 'notes.txt'), 0o640);
  const cli = cliFor(e2e.server, await tempDir('ferry-e2e-perms-config-'));
  expectOk(await cli.run(ines, ['put', script, path.join(local, 'notes.txt'), '/']));
  await mkdir(path.join(home, 'site', 'css'), { recursive: true });
  await writeFile(path.join(home, 'site', 'index.html'), '<h1>hi</h1>\n');
  await writeFile(path.join(home, 'site', 'css', 'main.css'), 'h1{}\n');
  await writeFile(path.join(home, 'gone.txt'), 'soon gone\n');
  page = await e2e.openTab();
  await logIn(page, e2e.server, ines);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const permsCell = (name: string) => treeItem(page, name).locator('.cell-perms');
const dialog = (name: string) => page.getByRole('dialog', { name: `Permissions of “${name}”` });
const box = (d: ReturnType<typeof dialog>, label: string) => d.getByRole('checkbox', { name: label, exact: true });

async function openFromMenu(name: string): Promise<void> {
  await treeItem(page, name).click({ button: 'right' });
  await page.getByRole('menu').getByRole('menuitem', { name: 'Permissions…' }).click();
  await dialog(name).waitFor();
}

describe('the permissions column', () => {
  it('shows a 0755 script as rwxr-xr-x, with the octal in its title', async () => {
    expect(await bits(path.join(home, 'deploy.sh'))).toBe(0o755);
    await expect.poll(() => permsCell('deploy.sh').textContent()).toBe('rwxr-xr-x');
    expect(await permsCell('deploy.sh').getAttribute('title')).toBe('Octal 0755');
    expect(await permsCell('notes.txt').textContent()).toBe('rw-r-----');
    expect(await permsCell('site').textContent()).toBe('rwxr-xr-x');
    await page.getByText('Permissions', { exact: true }).first().waitFor();
  });
});

describe('files dropped on the page', () => {
  it('carry no mode (a browser has none): they get a new file’s default, rw-r--r--', async () => {
    const dt = await makeDataTransfer(page, { 'dropped.txt': 'dropped\n' });
    await dropFiles(tree(page), dt);
    await expect.poll(() => bits(path.join(home, 'dropped.txt')).catch(() => -1), { timeout: 20_000 }).toBe(0o644);
    await expect.poll(() => permsCell('dropped.txt').textContent()).toBe('rw-r--r--');
  });
});

describe('the chmod dialog', () => {
  it('keeps checkboxes and octal in step, and changes the script to 0644 on the server', async () => {
    await openFromMenu('deploy.sh');
    const d = dialog('deploy.sh');
    const octal = d.getByRole('textbox', { name: 'Octal' });
    expect(await octal.inputValue()).toBe('0755');
    expect(await box(d, 'Owner: Execute').isChecked()).toBe(true);
    expect(await box(d, 'Group: Write').isChecked()).toBe(false);
    // A checkbox changes the octal…
    await box(d, 'Group: Execute').uncheck();
    expect(await octal.inputValue()).toBe('0745');
    // …and the octal changes the checkboxes.
    await octal.fill('0644');
    expect(await box(d, 'Owner: Execute').isChecked()).toBe(false);
    expect(await box(d, 'Others: Execute').isChecked()).toBe(false);
    expect(await box(d, 'Owner: Write').isChecked()).toBe(true);
    expect(await box(d, 'Others: Read').isChecked()).toBe(true);
    await d.getByText('rw-r--r--').waitFor();
    // A file has nothing inside: no recursive choice.
    expect(await d.getByRole('checkbox', { name: 'Apply to everything inside' }).count()).toBe(0);
    // Not octal: OK waits for a valid mode.
    await octal.fill('0789');
    expect(await octal.getAttribute('aria-invalid')).toBe('true');
    expect(await d.getByRole('button', { name: 'OK', exact: true }).isDisabled()).toBe(true);
    await octal.fill('644');
    expect(await box(d, 'Group: Read').isChecked()).toBe(true);
    await screenshot(page, 'permissions-dialog');
    await d.getByRole('button', { name: 'OK', exact: true }).click();
    await d.waitFor({ state: 'detached' });
    await expect.poll(() => bits(path.join(home, 'deploy.sh'))).toBe(0o644);
    await expect.poll(() => permsCell('deploy.sh').textContent()).toBe('rw-r--r--');
    expect(await permsCell('deploy.sh').getAttribute('title')).toBe('Octal 0644');
  });

  it('Cancel changes nothing', async () => {
    await openFromMenu('notes.txt');
    const d = dialog('notes.txt');
    await d.getByRole('textbox', { name: 'Octal' }).fill('0777');
    await d.getByRole('button', { name: 'Cancel', exact: true }).click();
    await d.waitFor({ state: 'detached' });
    expect(await bits(path.join(home, 'notes.txt'))).toBe(0o640);
  });

  it('Alt+Enter opens it for a folder, which can apply the bits to everything inside', async () => {
    await treeItem(page, 'site').click();
    await page.keyboard.press('Alt+Enter');
    const d = dialog('site');
    await d.waitFor();
    await d.getByRole('textbox', { name: 'Octal' }).fill('0750');
    await d.getByRole('checkbox', { name: 'Apply to everything inside' }).check();
    await screenshot(page, 'permissions-dialog-folder');
    await d.getByRole('button', { name: 'OK', exact: true }).click();
    await d.waitFor({ state: 'detached' });
    for (const rel of ['site', 'site/index.html', 'site/css', 'site/css/main.css']) {
      await expect.poll(() => bits(path.join(home, rel)), { message: rel }).toBe(0o750);
    }
    await expect.poll(() => permsCell('site').textContent()).toBe('rwxr-x---');
  });

  it('shows the server’s error in the dialog', async () => {
    await openFromMenu('gone.txt');
    const d = dialog('gone.txt');
    await rm(path.join(home, 'gone.txt'));
    await d.getByRole('button', { name: 'OK', exact: true }).click();
    const alert = d.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^Could not change the permissions of “gone\.txt”: /);
    await d.getByRole('button', { name: 'Cancel', exact: true }).click();
    await d.waitFor({ state: 'detached' });
  });
});
