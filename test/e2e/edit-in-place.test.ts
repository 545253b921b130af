/**
 * Edit in place in a real Chromium (browser mode): "Edit" from the context menu opens the
 * built-in editor, typing and Ctrl+S save the file on the server, and the save's row says
 * "Saved · XXH3-128 checked"; a change made on the server meanwhile gives the conflict
 * choice instead of replacing it; a binary file is refused with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/files.js';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, logIn, screenshot, setupE2E, treeItem, type E2E } from './e2e.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let e2e: E2E;
let page: Page;
let home: string;

beforeAll(async () => {
  e2e = await setupE2E([alice]);
  home = e2e.home(alice);
  page = await e2e.openTab();
  await logIn(page, e2e.server, alice);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const editor = () => page.getByRole('dialog', { name: /^Edit / });
const editedFiles = () => page.getByRole('region', { name: 'Edited files' });

async function editFromMenu(name: string): Promise<void> {
  await treeItem(page, name).click({ button: 'right' });
  await page.getByRole('menu').getByRole('menuitem', { name: 'Edit', exact: true }).click();
}

function serverHolds(name: string, content: string): Promise<true> {
  return waitFor(async () => (await readFile(path.join(home, name), 'utf8').catch(() => null)) === content || undefined, 15_000, `${name} on the server`);
}

describe('edit in place, in the built-in editor', () => {
  it('opens from the context menu, saves with Ctrl+S, and shows the verified save', async () => {
    await writeFile(path.join(home, 'notes.txt'), 'line one\n');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await editFromMenu('notes.txt');
    await expect.poll(() => editor().isVisible()).toBe(true);
    const text = editor().getByRole('textbox', { name: 'Text of notes.txt' });
    await expect.poll(() => text.textContent()).toContain('line one');

    await text.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('line two, typed in the browser\n');
    await expect.poll(() => editor().getByRole('status').textContent()).toBe('Unsaved changes (Ctrl+S saves)');
    await page.keyboard.press('Control+s');
    await serverHolds('notes.txt', 'line one\nline two, typed in the browser\n');
    await expect.poll(() => editor().getByRole('status').textContent()).toBe('Saved · XXH3-128 checked');
    const rows = editedFiles().getByRole('list', { name: 'Saves of notes.txt' }).getByRole('listitem');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('Saved · XXH3-128 checked');
    await screenshot(page, '70-edit-in-place-saved');

    // Closing a saved file ends its edit.
    await editor().getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => editor().count()).toBe(0);
    await expect.poll(() => editedFiles().count()).toBe(0);
  });

  it('keeps a save that would replace someone else’s change, and offers the three choices', async () => {
    await writeFile(path.join(home, 'plan.md'), '# Plan\n');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await treeItem(page, 'plan.md').click();
    await page.keyboard.press('F4');
    const text = editor().getByRole('textbox', { name: 'Text of plan.md' });
    await expect.poll(() => text.textContent()).toContain('# Plan');
    await writeFile(path.join(home, 'plan.md'), '# Plan, their version\n');

    await text.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('mine\n');
    await page.keyboard.press('Control+s');
    await expect.poll(() => editor().getByRole('status').textContent()).toMatch(/^Conflict: the file changed on the server/);
    expect(await readFile(path.join(home, 'plan.md'), 'utf8')).toBe('# Plan, their version\n');

    const choices = editor().getByRole('group', { name: 'Resolve the conflict' });
    await choices.getByRole('button', { name: 'Download theirs to compare' }).click();
    await expect.poll(() => editor().getByRole('region', { name: 'Their version (on the server)' }).textContent()).toContain('# Plan, their version');
    await screenshot(page, '71-edit-in-place-conflict');

    // Closing the editor does not drop the save: the file stays in Edited files, in conflict.
    await editor().getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => editor().count()).toBe(0);
    const entry = editedFiles().getByRole('listitem', { name: 'plan.md' });
    await expect.poll(() => entry.getByRole('status').textContent()).toMatch(/^Conflict/);
    expect(await entry.getByRole('list', { name: 'Saves of plan.md' }).textContent()).toContain('Not saved: changed on the server');

    // Save as a copy, from the list: theirs stays, ours lands beside it, verified.
    await entry.getByRole('button', { name: 'Save as a copy' }).click();
    await serverHolds('plan (my copy).md', '# Plan\nmine\n');
    const copied = editedFiles().getByRole('listitem', { name: 'plan (my copy).md' });
    await expect.poll(() => copied.getByRole('list', { name: 'Saves of plan (my copy).md' }).textContent()).toContain('Saved · XXH3-128 checked');
    expect(await readFile(path.join(home, 'plan.md'), 'utf8')).toBe('# Plan, their version\n');
    // The save changed the folder: the tree lists the copy without a refresh.
    await expect.poll(() => treeItem(page, 'plan (my copy).md').count()).toBe(1);
    await screenshot(page, '72-edit-in-place-rows');

    await copied.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => editedFiles().count()).toBe(0);
  });

  it('refuses a file that is not text, and says why', async () => {
    await writeFile(path.join(home, 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x10, 0x4a]));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await editFromMenu('photo.jpg');
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Cannot edit photo.jpg here.' }).textContent()).toContain('not a text file');
    expect(await editor().count()).toBe(0);
  });
});
