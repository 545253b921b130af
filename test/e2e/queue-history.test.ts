/**
 * A queue that survives a restart, and the transfer history, in a real Chromium through the
 * real web host, engine and ferryd. A big download is paused; the web host is stopped (as a
 * quit) and started again on the same config folder; after logging in to the same server
 * the transfers pane offers "1 unfinished transfer from last time", and Resume finishes it
 * from its partial (fewer bytes cross the wire than the file holds; the file is intact).
 * History lists the finished transfers, its search filters them, and Export CSV saves a
 * file that parses back. The download is slowed by a throttling proxy
 * (test/helpers/proxy.ts), so it is reliably still running when it is paused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startWebHost, type WebHost } from '../../web/index.js';
import { cleanupAll, onCleanup, tempDir, type TestUser } from '../helpers/harness.js';
import { randomFile, sha256File, waitFor } from '../helpers/files.js';
import { parseCsv } from '../helpers/csv.js';
import { hashLocalFile } from '../../shared/node/checksums.js';
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
  treeItem,
  waitTransferDone,
  waitTransferState,
  type E2E,
} from './e2e.js';

const hana: TestUser = { name: 'hana', password: 'hana pass phrase' };
const MiB = 1024 * 1024;
const BIG = 12 * MiB;

let e2e: E2E;
let context: BrowserContext;
let proxy: Proxy;
let spoolDir: string;
let home: string;
let bigSum: string;

beforeAll(async () => {
  e2e = await setupE2E([hana]);
  home = e2e.home(hana);
  spoolDir = await tempDir('ferry-e2e-spool-');
  bigSum = await randomFile(path.join(home, 'big.bin'), BIG);
  await randomFile(path.join(home, 'notes.txt'), 4000);
  proxy = await Proxy.start(e2e.server.port);
  // Downloads are saved by the test (Export CSV), so this context accepts them.
  context = await e2e.browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  onCleanup(() => context.close());
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

/** A tab of `web` with the connect form ready, its errors reported like setupE2E's. */
async function openTab(web: Pick<WebHost, 'oneTimeUrl'>): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => e2e.pageErrors.push(err.stack ?? err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') e2e.pageErrors.push(`console.error: ${msg.text()}`);
  });
  await page.goto(web.oneTimeUrl());
  await connectForm(page).waitFor();
  return page;
}

async function download(page: Page, name: string): Promise<void> {
  await treeItem(page, name).click({ button: 'right' });
  const menu = page.getByRole('menu', { name: `Actions for ${name}`, exact: true });
  await menu.getByRole('menuitem', { name: 'Download', exact: true }).click();
  await menu.waitFor({ state: 'detached' });
}

/** Wait until nothing crosses the proxy for half a second (bytes of a closed connection drain first). */
async function settled(): Promise<void> {
  let last = -1;
  for (;;) {
    const now = proxy.upstreamBytes + proxy.downstreamBytes;
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a queue that survives a restart, and the history', () => {
  it('offers a paused download after a restart and resumes it from its partial', async () => {
    const page = await openTab(e2e.web);
    const server = throughPort(e2e.server, proxy.port);
    await logIn(page, server, hana);
    await download(page, 'notes.txt');
    await waitTransferDone(page, 'notes.txt');

    proxy.downRate = 1 * MiB;
    await download(page, 'big.bin');
    const partial = path.join(e2e.downloadDir, '.big.bin.ferry-part');
    await waitFor(async () => ((await stat(partial).catch(() => ({ size: 0 }))).size >= 2 * MiB ? true : undefined), 30_000, 'a partial download');
    await rowButton(page, 'Pause', 'big.bin').click();
    await waitTransferState(page, 'big.bin', 'Paused');

    // Quit: the web host stops (every tab's backend ends) and starts again on the same folders.
    await e2e.web.close();
    const web = await startWebHost({ configDir: e2e.configDir, downloadDir: e2e.downloadDir, spoolDir, backend: { fsChangedDelayMs: 50 } });
    onCleanup(() => web.close());
    proxy.release();
    await settled();
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThanOrEqual(2 * MiB);

    const again = await openTab(web);
    await logIn(again, server, hana);
    const bar = again.getByRole('region', { name: 'Unfinished transfers from last time', exact: true });
    await bar.getByText('1 unfinished transfer from last time').waitFor();
    await bar.getByRole('button', { name: 'Show them', exact: true }).click();
    const list = bar.getByRole('list', { name: 'Saved transfers', exact: true });
    await list.getByRole('listitem').filter({ hasText: 'big.bin' }).getByText(/paused/).waitFor();
    await screenshot(again, '60-restore-bar');

    proxy.reset();
    await bar.getByRole('button', { name: 'Resume', exact: true }).click();
    await bar.waitFor({ state: 'detached' });
    await waitTransferDone(again, 'big.bin', transferRow(again, 'big.bin'));
    expect(await sha256File(path.join(e2e.downloadDir, 'big.bin'))).toBe(bigSum);
    expect(proxy.downstreamBytes).toBeLessThan(BIG - kept + 256 * 1024);

    // Offered once: a new login has nothing more to offer.
    await again.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await connectForm(again).waitFor();
    await logIn(again, server, hana);
    await again.waitForTimeout(500);
    expect(await again.getByRole('region', { name: 'Unfinished transfers from last time' }).count()).toBe(0);

    // The history: both downloads, searchable, exported as CSV.
    await again.getByRole('region', { name: 'Transfers' }).getByRole('button', { name: 'History…', exact: true }).click();
    const dialog = again.getByRole('dialog', { name: 'Transfer history' });
    const table = dialog.getByRole('table', { name: 'Finished transfers', exact: true });
    const rows = table.getByRole('row');
    await expect.poll(() => rows.count()).toBe(3); // the header and two transfers
    const bigRow = rows.filter({ hasText: 'big.bin' });
    await bigRow.getByText('Download', { exact: true }).waitFor();
    // The default check, XXH3-128: its digest in the row (the whole of it in the title).
    const bigXxh = (await hashLocalFile(path.join(e2e.downloadDir, 'big.bin'), 'xxh128')).hex;
    expect(await bigRow.getByText(/^XXH3-128 /).getAttribute('title')).toMatch(new RegExp(`^XXH3-128 ${bigXxh} `));
    expect(await bigRow.getByText(/^XXH3-128 /).textContent()).toBe(`XXH3-128 ${bigXxh.slice(0, 8)}…`);
    expect(await bigRow.textContent()).toContain(`hana@127.0.0.1:${proxy.port}`);
    // Its time counts the throttled part before the restart too: not the speed of the last stretch alone.
    expect(Number((await bigRow.getByRole('cell').nth(5).textContent())!.replace(/[^0-9.]/g, ''))).toBeGreaterThanOrEqual(2);
    await screenshot(again, 'history');
    await dialog.getByRole('searchbox', { name: 'Search history', exact: true }).fill('big');
    await expect.poll(() => rows.count()).toBe(2);
    await dialog.getByText('1 transfer', { exact: true }).waitFor();
    await screenshot(again, '61-history');

    const [saved] = await Promise.all([again.waitForEvent('download'), dialog.getByRole('button', { name: 'Export CSV', exact: true }).click()]);
    expect(saved.suggestedFilename()).toBe('ferry-history.csv');
    const file = path.join(await tempDir('ferry-e2e-export-'), 'history.csv');
    await saved.saveAs(file);
    const csv = parseCsv(await readFile(file, 'utf8'));
    expect(csv[0]![0]).toBe('finished');
    expect(csv).toHaveLength(2);
    expect(csv[1]!.slice(1, 7)).toEqual(['download', 'ferry', `hana@127.0.0.1:${proxy.port}`, path.join(e2e.downloadDir, 'big.bin'), '/big.bin', String(BIG)]);
    expect(csv[1]!.slice(9)).toEqual(['xxh128', '', bigXxh]);
    await dialog.getByRole('status').getByText('Saved ferry-history.csv.').waitFor();

    await dialog.getByRole('searchbox', { name: 'Search history', exact: true }).fill('nothing like this');
    await dialog.getByText('Nothing matches “nothing like this”.').waitFor();
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
  });
});
