/**
 * Speed limits in a real Chromium, through the browser host's engine and a real ferryd: a
 * download limit set in Settings while a download runs brings the row's speed down to it
 * at once, the status bar shows the limit and opens Settings, and removing the limit lets
 * the download run free again.
 *
 * The download must still be running when the limit is set, so the web host reaches
 * ferryd through a TCP proxy that holds server → client traffic to 6 MiB/s (a loopback
 * would move the whole file before the dialog opens); the limit (1 MiB/s) is well below it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { randomFile, sha256File } from '../helpers/files.js';
import type { Proxy } from '../helpers/proxy.js';
import { checkAfterEach, logInThroughProxy, screenshot, setupE2E, transferRow, treeItem, waitTransferDone, type E2E } from './e2e.js';

const hal: TestUser = { name: 'hal', password: 'hal pass phrase' };
const MiB = 1024 * 1024;
const SIZE = 64 * MiB;

let e2e: E2E;
let page: Page;
let proxy: Proxy;

beforeAll(async () => {
  e2e = await setupE2E([hal]);
  await randomFile(path.join(e2e.home(hal), 'movie.bin'), SIZE);
  page = await e2e.openTab();
  proxy = await logInThroughProxy(page, e2e.server, hal);
  proxy.downRate = 6 * MiB;
}, 60_000);
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const settingsDialog = () => page.getByRole('dialog', { name: 'Settings', exact: true });
const limitBox = () => settingsDialog().getByRole('spinbutton', { name: 'Download limit', exact: true });
const unitBox = () => settingsDialog().getByRole('combobox', { name: 'Download limit unit', exact: true });
const indicator = () => page.getByRole('contentinfo').getByRole('button', { name: /^Download limit .*: open Settings$/ });

const UNIT: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB };

/** A row's speed as it shows it ("1.0 MiB/s"), in bytes per second; 0 when it shows none. */
async function rowSpeed(row: Locator): Promise<number> {
  const m = /([\d.]+) (B|KiB|MiB|GiB)\/s/.exec((await row.textContent()) ?? '');
  return m ? Number(m[1]) * UNIT[m[2]!]! : 0;
}

/** The bytes a row says it has moved ("12.3 MiB of 64.0 MiB"). */
async function rowBytes(row: Locator): Promise<number> {
  const m = /([\d.]+) (B|KiB|MiB|GiB) of /.exec((await row.textContent()) ?? '');
  return m ? Number(m[1]) * UNIT[m[2]!]! : 0;
}

describe('speed limits', () => {
  it('a download limit set while a download runs slows it to the limit; removing it lets it run free', async () => {
    await treeItem(page, 'movie.bin').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for movie.bin', exact: true }).getByRole('menuitem', { name: 'Download', exact: true }).click();
    const row = transferRow(page, 'movie.bin');
    // Unlimited: as fast as the proxy lets it (6 MiB/s).
    await expect.poll(() => rowSpeed(row), { timeout: 15_000 }).toBeGreaterThan(3 * MiB);
    await expect(indicator().count()).resolves.toBe(0);

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await limitBox().fill('1');
    await unitBox().selectOption({ label: 'MiB/s' });
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    const saved = JSON.parse(await readFile(path.join(e2e.configDir, 'settings.json'), 'utf8'));
    expect(saved.downloadLimit).toBe(MiB);

    // The running download obeys at once: its shown speed settles at the limit…
    await expect.poll(() => rowSpeed(row), { timeout: 10_000 }).toBeLessThan(1.1 * MiB);
    expect(await rowSpeed(row)).toBeGreaterThan(0.9 * MiB);
    // …and so do the bytes it moves, measured over 4 s.
    const [b0, t0] = [await rowBytes(row), performance.now()];
    await new Promise((r) => setTimeout(r, 4000));
    const [b1, t1] = [await rowBytes(row), performance.now()];
    const rate = ((b1 - b0) * 1000) / (t1 - t0);
    expect(rate / MiB).toBeGreaterThan(0.85);
    expect(rate / MiB).toBeLessThan(1.15);

    // The status bar says so, and takes you to the setting.
    await expect(indicator().textContent()).resolves.toBe('↓ 1.0 MiB/s limit');
    await expect(indicator().getAttribute('aria-label')).resolves.toBe('Download limit 1.0 MiB/s: open Settings');
    await indicator().click();
    await settingsDialog().waitFor();
    await expect(limitBox().inputValue()).resolves.toBe('1');
    await expect(unitBox().inputValue()).resolves.toBe('MiB');
    await screenshot(page, 'speed-limits');

    // Removed: the download runs free again, and the indicator goes.
    await limitBox().fill('');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    await expect.poll(() => indicator().count()).toBe(0);
    await expect.poll(() => rowSpeed(row), { timeout: 10_000 }).toBeGreaterThan(2 * MiB);
    proxy.release();
    await waitTransferDone(page, 'movie.bin', row);
    expect(await sha256File(path.join(e2e.downloadDir, 'movie.bin'))).toBe(await sha256File(path.join(e2e.home(hal), 'movie.bin')));
  }, 90_000);

  it('refuses a limit that is not a number, and keeps the one saved', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await settingsDialog().getByRole('spinbutton', { name: 'Upload limit', exact: true }).fill('2');
    await settingsDialog().getByRole('combobox', { name: 'Upload limit unit', exact: true }).selectOption({ label: 'KiB/s' });
    await limitBox().fill('0.0000001');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => settingsDialog().getByRole('alert').textContent()).toBe('A speed limit is a number (or empty for none), at most 1024 GiB/s.');
    await expect(limitBox().getAttribute('aria-invalid')).resolves.toBe('true');
    await limitBox().fill('0');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    await expect(page.getByRole('contentinfo').getByRole('button', { name: 'Upload limit 2.0 KiB/s: open Settings', exact: true }).textContent()).resolves.toBe(
      '↑ 2.0 KiB/s limit',
    );
    const saved = JSON.parse(await readFile(path.join(e2e.configDir, 'settings.json'), 'utf8'));
    expect(saved).toMatchObject({ uploadLimit: 2048, downloadLimit: 0 });
  });
});
