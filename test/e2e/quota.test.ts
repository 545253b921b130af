/**
 * Quotas in a real Chromium: a drop bigger than the quota is refused up front (EQUOTA,
 * in words), and an upload the server itself refuses mid-queue shows a failed row with
 * the code and message.
 *
 * The second case is made real and deterministic with a conflict as a gate: the upload
 * of "held.bin" passes every check, then stops at "already exists"; while that question
 * is open, another tab of the same user fills the quota from the console; answering
 * Overwrite sends the upload to the server, which refuses it (EQUOTA).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { exists } from '../helpers/files.js';
import { checkAfterEach, consoleText, dropFiles, logIn, makeDataTransfer, runCommand, screenshot, setupE2E, transferRow, tree, treeNames, type E2E } from './e2e.js';

const erin: TestUser = { name: 'erin', password: 'erin pass phrase', quota: '1MiB', exec: true };
const MiB = 1024 * 1024;

let e2e: E2E;
let page: Page;

beforeAll(async () => {
  e2e = await setupE2E([erin]);
  await mkdir(e2e.home(erin), { recursive: true });
  await writeFile(path.join(e2e.home(erin), 'held.bin'), 'old bytes\n');
  page = await e2e.openTab();
  await logIn(page, e2e.server, erin);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

describe('quotas', () => {
  it('refuses a drop bigger than the quota before sending it, and says why', async () => {
    await page.getByRole('contentinfo').getByText('10 B used · 1.0 MiB free of 1.0 MiB').waitFor();
    const dt = await makeDataTransfer(page, { 'too-big.bin': 2 * MiB });
    await dropFiles(tree(page), dt);
    const refusal = page.getByRole('region', { name: 'Remote files' }).getByRole('alert');
    await refusal.waitFor();
    const text = (await refusal.textContent()) ?? '';
    expect(text).toContain('Upload to Home refused.');
    expect(text).toContain('EQUOTA');
    expect(text).toMatch(/quota/);
    await screenshot(page, '12-quota-refused');
    // Nothing was queued, nothing arrived.
    expect(await page.getByRole('list', { name: 'Transfers', exact: true }).count()).toBe(0);
    expect(await exists(path.join(e2e.home(erin), 'too-big.bin'))).toBe(false);
    await refusal.getByRole('button', { name: 'Dismiss', exact: true }).click();
    await refusal.waitFor({ state: 'detached' });
  });

  it('shows a failed row with EQUOTA when the server refuses an upload that was accepted', async () => {
    const size = 600 * 1024;
    const dt = await makeDataTransfer(page, { 'held.bin': size });
    await dropFiles(tree(page), dt);
    // Accepted (it fits), then stopped by the conflict: the gate.
    const conflict = page.getByRole('dialog', { name: '“held.bin” already exists' });
    await conflict.waitFor();
    await screenshot(page, '13-conflict-dialog');

    // Meanwhile another tab of the same account uses up most of the quota.
    const other = await e2e.openTab();
    await logIn(other, e2e.server, erin);
    await runCommand(other, 'head -c 700000 /dev/zero > filler.bin');
    await expect.poll(() => consoleText(other)).toMatch(/^\[exit 0\]$/m);
    await other.close();

    await conflict.getByRole('button', { name: 'Overwrite', exact: true }).click();
    const row = transferRow(page, 'held.bin');
    const error = row.getByText(/^EQUOTA: /);
    await error.waitFor();
    expect(await error.textContent()).toMatch(/quota/);
    expect(await row.textContent()).toContain('Failed');
    expect(await row.getByRole('button', { name: 'Retry held.bin', exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('region', { name: 'Transfers' }).textContent()).toContain('1 failed');
    // The failure brings the status bar's quota up to date (the other tab's filler counts).
    await page.getByRole('contentinfo').getByText('684 KiB used · 340 KiB free of 1.0 MiB').waitFor();
    await screenshot(page, '14-quota-failed-row');

    // The old file is untouched; the filler is there.
    expect(await readFile(path.join(e2e.home(erin), 'held.bin'), 'utf8')).toBe('old bytes\n');
    await page.getByRole('toolbar', { name: 'File actions' }).getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect.poll(() => treeNames(page)).toEqual(['filler.bin', 'held.bin']);
  });
});
