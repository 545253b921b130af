/**
 * Logging in from the browser: the connect form, the host key dialog (the fingerprint is
 * the server's), a wrong password (EAUTH, the form stays usable), and two tabs logged in
 * as two users at once, each with its own session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, connectForm, connectionState, logIn, screenshot, setupE2E, submitLogin, tree, treeItem, treeNames, type E2E } from './e2e.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const bob: TestUser = { name: 'bob', password: 'bob pass phrase' };

let e2e: E2E;

beforeAll(async () => {
  e2e = await setupE2E([alice, bob]);
  for (const [user, file] of [
    [alice, 'alice-notes.txt'],
    [bob, 'bob-report.txt'],
  ] as const) {
    await mkdir(e2e.home(user), { recursive: true });
    await writeFile(path.join(e2e.home(user), file), `${user.name}'s file\n`);
  }
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

describe('logging in', () => {
  it('asks to trust the server key, refuses a wrong password with EAUTH, then logs in', async () => {
    const page = await e2e.openTab();
    const form = connectForm(page);
    await expect.poll(() => connectionState(page, 'Disconnected').isVisible()).toBe(true);
    await screenshot(page, '01-connect-form');

    await submitLogin(page, e2e.server, alice, 'not the password');
    // The key comes first: nothing is sent before the server is trusted.
    const dialog = page.getByRole('dialog', { name: 'Trust this server?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(`${e2e.server.host}:${e2e.server.port}`);
    expect(await dialog.getByText(/^SHA256:/).textContent()).toBe(e2e.server.fingerprint);
    await screenshot(page, '02-hostkey-dialog');
    await dialog.getByRole('button', { name: 'Trust', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });

    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^EAUTH: /);
    await screenshot(page, '03-wrong-password');

    // Still usable: fix the password and connect.
    const connect = form.getByRole('button', { name: 'Connect', exact: true });
    expect(await connect.isEnabled()).toBe(true);
    const password = form.getByLabel('Password', { exact: true });
    expect(await password.isEditable()).toBe(true);
    await password.fill(alice.password);
    await connect.click();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    await connectionState(page, 'Connected').waitFor();
    await treeItem(page, 'alice-notes.txt').waitFor();
    expect(await page.getByRole('banner').textContent()).toContain(`alice@${e2e.server.host}:${e2e.server.port}`);
    expect(await page.getByRole('contentinfo').textContent()).toContain(`Key ${e2e.server.fingerprint}`);
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await connectionState(page, 'Disconnected').waitFor();
    await connectForm(page).waitFor();
    await page.close();
  });

  it('keeps one session per tab: two tabs, two users', async () => {
    const first = await e2e.openTab();
    const second = await e2e.openTab();
    // The key is trusted by now (known hosts are the host's): no dialog.
    await logIn(first, e2e.server, alice);
    await logIn(second, e2e.server, bob);
    await treeItem(first, 'alice-notes.txt').waitFor();
    await treeItem(second, 'bob-report.txt').waitFor();
    expect(await treeNames(first)).toEqual(['alice-notes.txt']);
    expect(await treeNames(second)).toEqual(['bob-report.txt']);
    expect(await first.getByRole('banner').textContent()).toContain('alice@');
    expect(await second.getByRole('banner').textContent()).toContain('bob@');

    // What one tab does is its own: bob makes a folder, alice's tree does not change.
    await second.getByRole('toolbar', { name: 'File actions' }).getByRole('button', { name: 'New folder', exact: true }).click();
    const dialog = second.getByRole('dialog', { name: 'New folder in Home' });
    await dialog.getByRole('textbox', { name: 'Folder name', exact: true }).fill('bobs-folder');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await treeItem(second, 'bobs-folder').waitFor();
    // Work in a tab the way a person does: bring it to the front (background tabs are throttled).
    await first.bringToFront();
    await first.getByRole('toolbar', { name: 'File actions' }).getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect.poll(() => treeNames(first)).toEqual(['alice-notes.txt']);

    // Disconnecting one tab leaves the other connected.
    await second.bringToFront();
    await second.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await connectionState(second, 'Disconnected').waitFor();
    expect(await connectionState(first, 'Connected').isVisible()).toBe(true);
    await first.bringToFront();
    await tree(first).focus();
    await first.keyboard.press('F5');
    await treeItem(first, 'alice-notes.txt').waitFor();
    await Promise.all([first.close(), second.close()]);
  });
});
