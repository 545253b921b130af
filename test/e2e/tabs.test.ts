/**
 * Tabs in a real Chromium, through browser mode, the real engine and TWO real ferryd
 * servers: each tab is its own session (its own WebSocket, so its own backend) to its own
 * server; the transfers pane lists every tab's transfers with where each goes, and a row's
 * controls act through its own tab's session; closing a tab with a transfer not finished
 * asks first, then ends that session. Keys: Ctrl+T, Ctrl+W, Ctrl+Tab, Ctrl+Shift+Tab.
 *
 * Transfers are slowed by throttling TCP proxies in front of each server (1 MiB/s), so
 * they are still running when the test acts on them; outcomes are checked on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { exists, randomFile, sha256File } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import {
  checkAfterEach,
  connectForm,
  logIn,
  rowButton,
  screenshot,
  setupE2E,
  throughPort,
  transferRow,
  transfersButton,
  waitTransferDone,
  waitTransferState,
  type E2E,
} from './e2e.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const bob: TestUser = { name: 'bob', password: 'bob pass phrase' };
const MiB = 1024 * 1024;
/** The saved connection the second tab is opened from: the tab is named after it. */
const BOBS = 'Bob’s server';

let e2e: E2E;
let second: Ferryd;
let page: Page;
let local: string;
let proxyA: Proxy;
let proxyB: Proxy;

beforeAll(async () => {
  [e2e, second, local] = await Promise.all([setupE2E([alice]), startFerryd({ users: [bob] }), tempDir('ferry-e2e-local-')]);
  [proxyA, proxyB] = await Promise.all([Proxy.start(e2e.server.port), Proxy.start(second.port)]);
  page = await e2e.openTab();
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const strip = (): Locator => page.getByRole('tablist', { name: 'Sessions', exact: true });
const tab = (name: string): Locator => strip().getByRole('tab', { name, exact: true });
/** The tabs' accessible names (each tab is named by its label: aria-labelledby), in order. */
const tabNames = (): Promise<string[]> =>
  strip()
    .getByRole('tab')
    .evaluateAll((tabs) => tabs.map((t) => t.ownerDocument.getElementById(t.getAttribute('aria-labelledby') ?? '')?.textContent ?? ''));
const selectedTab = async (): Promise<string | null> => {
  const id = await strip().getByRole('tab', { selected: true }).getAttribute('aria-labelledby');
  return id === null ? null : page.locator(`[id="${id}"]`).textContent();
};
const pick = (...files: string[]): Promise<void> => page.getByTestId('upload-files-input').setInputFiles(files);

describe('tabs', () => {
  const whereA = (): string => `alice@127.0.0.1:${proxyA.port}`;
  const whereB = (): string => `bob@127.0.0.1:${proxyB.port}`;

  it('opens a second tab from the saved connections, each tab its own session to its own server', async () => {
    // One tab: a slim strip with that tab and "New tab" (no close button for the only tab).
    expect(await tabNames()).toEqual(['New tab']);
    expect(await strip().getByRole('button', { name: /^Close tab/ }).count()).toBe(0);
    await logIn(page, throughPort(e2e.server, proxyA.port), alice);
    await tab(whereA()).waitFor();
    expect(await tab(whereA()).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByRole('tabpanel').getAttribute('aria-labelledby')).toBe(await tab(whereA()).getAttribute('id'));

    // A new tab opens in front, with the connection form and saved connections to pick from.
    await page.getByRole('button', { name: 'New tab', exact: true }).click();
    await connectForm(page).waitFor();
    expect(await tabNames()).toEqual([whereA(), 'New tab']);
    expect(await selectedTab()).toBe('New tab');
    // Save Bob's server as a connection, then connect from it: the tab takes its name.
    const form = connectForm(page);
    const field = (label: string): Locator => form.getByLabel(label, { exact: true });
    await field('Host').fill('127.0.0.1');
    await field('Port').fill(String(proxyB.port));
    await field('User').fill(bob.name);
    await form.locator('details').getByText('More options', { exact: true }).click();
    await field('Profile name').fill(BOBS);
    await form.getByRole('button', { name: 'Save profile', exact: true }).click();
    const saved = page.getByRole('region', { name: 'Saved connections' }).getByRole('button', { name: `${BOBS} ${whereB()}`, exact: true });
    await saved.waitFor();
    expect(await saved.getAttribute('aria-pressed')).toBe('true');
    await field('Password').fill(bob.password);
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    // Server two's key is new to this app: the question is asked in this tab.
    const trust = page.getByRole('dialog', { name: 'Trust this server?' });
    await trust.waitFor();
    expect(await trust.getByText(/^SHA256:/).textContent()).toBe(second.fingerprint);
    await trust.getByRole('button', { name: 'Trust', exact: true }).click();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    await tab(BOBS).waitFor();
    expect(await tabNames()).toEqual([whereA(), BOBS]);
    expect(await page.getByRole('banner').textContent()).toContain(whereB());

    // Back to the first: its session is still there, untouched.
    await tab(whereA()).click();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    expect(await page.getByRole('banner').textContent()).toContain(whereA());
    expect(await page.getByRole('contentinfo').textContent()).toContain('Connected');
  });

  it('lists both tabs’ transfers with where each goes; a row pauses through its own tab', { timeout: 120_000 }, async () => {
    const sumA = await randomFile(path.join(local, 'to-alice.bin'), 12 * MiB);
    const sumB = await randomFile(path.join(local, 'to-bob.bin'), 12 * MiB);
    proxyA.rate = 1 * MiB;
    proxyB.rate = 1 * MiB;

    // One upload in each tab.
    await tab(BOBS).click();
    await pick(path.join(local, 'to-bob.bin'));
    // (Its bytes first travel to the web host: on a busy machine that takes a while.)
    await waitTransferState(page, 'to-bob.bin', 'Transferring', transferRow(page, 'to-bob.bin'), 60_000);
    await tab(whereA()).click();
    await pick(path.join(local, 'to-alice.bin'));
    // (Its bytes first travel to the web host: on a busy machine that takes a while.)
    await waitTransferState(page, 'to-alice.bin', 'Transferring', transferRow(page, 'to-alice.bin'), 60_000);

    // Alice's tab shows both, each saying where it goes.
    const rowA = transferRow(page, 'to-alice.bin');
    const rowB = transferRow(page, 'to-bob.bin');
    await rowB.waitFor();
    expect(await rowA.textContent()).toContain(`to ${whereA()}`);
    expect(await rowB.textContent()).toContain(`to ${whereB()}`);
    // The totals cover both tabs.
    const summary = page.getByRole('region', { name: 'Transfers' }).getByText(/of 2 done/);
    await summary.waitFor();

    // Pause Bob's upload from Alice's tab: it is Bob's session that pauses it.
    await rowButton(page, 'Pause', 'to-bob.bin').click();
    await waitTransferState(page, 'to-bob.bin', 'Paused');
    await waitTransferState(page, 'to-alice.bin', 'Transferring');
    await screenshot(page, 'tabs');
    // Bob's own tab sees it paused too (its engine paused it).
    await tab(BOBS).click();
    await waitTransferState(page, 'to-bob.bin', 'Paused');
    await waitTransferState(page, 'to-alice.bin', 'Transferring');

    // Unthrottled, Alice's finishes on server one; Bob's resumes from his own tab's row.
    // (Bob's stays throttled: connections that once ran at full speed grow buffers that
    // would swallow the next test's throttled upload at once.)
    proxyA.rate = null;
    await waitTransferDone(page, 'to-alice.bin');
    expect(await sha256File(path.join(e2e.home(alice), 'to-alice.bin'))).toBe(sumA);
    await rowButton(page, 'Resume', 'to-bob.bin').click();
    await waitTransferDone(page, 'to-bob.bin');
    expect(await sha256File(path.join(second.root, 'homes', bob.name, 'to-bob.bin'))).toBe(sumB);
    // Clear finished clears both tabs' queues.
    await transfersButton(page, 'Clear finished').click();
    await expect.poll(() => page.getByRole('list', { name: 'Transfers', exact: true }).count()).toBe(0);
  });

  it('switches with Ctrl+Tab and Ctrl+Shift+Tab, opens with Ctrl+T and closes an idle tab with Ctrl+W at once', async () => {
    await tab(whereA()).click();
    await page.keyboard.press('Control+Tab');
    expect(await selectedTab()).toBe(BOBS);
    await page.keyboard.press('Control+Tab');
    expect(await selectedTab()).toBe(whereA());
    await page.keyboard.press('Control+Shift+Tab');
    expect(await selectedTab()).toBe(BOBS);

    await page.keyboard.press('Control+t');
    await connectForm(page).waitFor();
    expect(await tabNames()).toEqual([whereA(), BOBS, 'New tab']);
    await page.keyboard.press('Control+w');
    await expect.poll(tabNames).toEqual([whereA(), BOBS]);
    // The tab to the left of the closed one's place is shown (it was the last).
    expect(await selectedTab()).toBe(BOBS);
  });

  it('asks before closing a tab whose transfer is not finished, then ends that tab’s session', { timeout: 120_000 }, async () => {
    // (Bob's connections have only ever run throttled, so their buffers are small.)
    await randomFile(path.join(local, 'left.bin'), 24 * MiB);
    proxyB.rate = 1 * MiB;
    await pick(path.join(local, 'left.bin'));
    await waitTransferState(page, 'left.bin', 'Transferring', transferRow(page, 'left.bin'), 60_000);
    await tab(whereA()).click();
    await transferRow(page, 'left.bin').waitFor();

    // Closing Bob's tab from Alice's: it asks, naming the tab; keeping it changes nothing.
    const close = strip().getByRole('button', { name: `Close tab ${BOBS}`, exact: true });
    await close.click();
    const dialog = page.getByRole('dialog', { name: `Close “${BOBS}”?` });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('1 transfer of this tab is not finished');
    await dialog.getByRole('button', { name: 'Keep the tab', exact: true }).click();
    expect(await tabNames()).toEqual([whereA(), BOBS]);

    await close.click();
    await dialog.getByRole('button', { name: 'Close tab', exact: true }).click();
    await expect.poll(tabNames).toEqual([whereA()]);
    expect(await selectedTab()).toBe(whereA());
    // Its row is gone from the pane, and its session ended: unthrottled, the bytes already
    // on their way land and then nothing more is sent, and the file never arrives.
    await expect.poll(() => transferRow(page, 'left.bin').count()).toBe(0);
    proxyB.rate = null;
    await expect
      .poll(
        async () => {
          const before = proxyB.upstreamBytes;
          await new Promise((r) => setTimeout(r, 750));
          return proxyB.upstreamBytes - before;
        },
        { timeout: 15_000 },
      )
      .toBe(0);
    expect(await exists(path.join(second.root, 'homes', bob.name, 'left.bin'))).toBe(false);
    // The one tab left has no close button again.
    expect(await strip().getByRole('button', { name: /^Close tab/ }).count()).toBe(0);
  });
});
