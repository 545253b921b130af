/**
 * Automatic reconnect in the browser: the web host reaches ferryd through a TCP proxy
 * (test/helpers/proxy.ts) that the test uses as the network. Cutting every connection and
 * refusing new ones for a while (the proxy stops listening: ECONNREFUSED) is a network
 * outage; killing ferryd and starting it again on the same port and root is a server crash
 * (the proxy refuses meanwhile, as the dead port itself would). In both, the status bar
 * must say "Reconnecting… (attempt N)", then "Connected" again, and an upload that was
 * running must finish by itself, verified, resumed from what the server already had, with
 * the right bytes on the server's disk. No button is pressed after the drop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { randomFile, sha256, sha256File } from '../helpers/files.js';
import type { Proxy } from '../helpers/proxy.js';
import {
  checkAfterEach,
  connectionState,
  logInThroughProxy,
  screenshot,
  setupE2E,
  transferRow,
  transferStatus,
  treeItem,
  waitTransferDone,
  waitTransferState,
  type E2E,
} from './e2e.js';

const ivan: TestUser = { name: 'ivan', password: 'ivan pass phrase' };
const MiB = 1024 * 1024;

let e2e: E2E;
let page: Page;
let proxy: Proxy;
let local: string;
/** The running ferryd (replaced when a test restarts it). */
let server: Ferryd;

beforeAll(async () => {
  e2e = await setupE2E([ivan]);
  server = e2e.server;
  local = await tempDir('ferry-e2e-local-');
  page = await e2e.openTab();
  proxy = await logInThroughProxy(page, server, ivan);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const statusBar = () => page.getByRole('contentinfo');
const home = () => e2e.home(ivan);

/** Bytes of the upload partial ferryd holds for a virtual path (ROOT/state/partials/USER/<SHA-256 of it>.part). */
async function partialBytes(vpath: string): Promise<number> {
  const file = path.join(server.root, 'state', 'partials', ivan.name, `${sha256(vpath)}.part`);
  return (await stat(file).catch(() => ({ size: 0 }))).size;
}

/** Upload a local file of `size` random bytes through the picker at 1 MiB/s; resolves once the server holds ≥ 1 MiB of it. */
async function startSlowUpload(name: string, size: number): Promise<string> {
  const sum = await randomFile(path.join(local, name), size);
  proxy.rate = 1 * MiB;
  await page.getByTestId('upload-files-input').setInputFiles(path.join(local, name));
  await waitTransferState(page, name, 'Transferring');
  await expect.poll(() => partialBytes(`/${name}`), { timeout: 20_000 }).toBeGreaterThanOrEqual(1 * MiB);
  return sum;
}

describe('automatic reconnect', () => {
  it('says Reconnecting while the network is down, then Connected, and the tree works again', async () => {
    await connectionState(page, 'Connected').waitFor();
    proxy.refuse();
    proxy.cut();
    // Attempt 1 was turned away: the UI keeps trying, and says so with the count.
    await connectionState(page, 'Reconnecting… (attempt 2)').waitFor();
    // The app is on it: the file pane says so, rather than asking to connect.
    const pane = page.getByRole('region', { name: 'Remote files' });
    await pane.getByText('Connection lost', { exact: true }).waitFor();
    expect(await pane.getByText('Not connected').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Disconnect', exact: true }).isVisible()).toBe(true);
    // It still says which server it is getting back to.
    await page.getByRole('contentinfo').getByText(/^ivan@127\.0\.0\.1:\d+$/).waitFor();
    await screenshot(page, '40-reconnecting');

    await proxy.listenAgain();
    await connectionState(page, 'Connected').waitFor();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    expect(await pane.getByText('Connection lost').count()).toBe(0);
    // Browsing works on the new connection: a file made on the server shows after Refresh.
    await writeFile(path.join(home(), 'after-reconnect.txt'), 'hello again\n');
    await page.getByRole('toolbar', { name: 'File actions' }).getByRole('button', { name: 'Refresh', exact: true }).click();
    await treeItem(page, 'after-reconnect.txt').waitFor();
  });

  it('finishes a running upload by itself after a network outage, resumed and verified', async () => {
    const size = 16 * MiB;
    const sum = await startSlowUpload('outage.bin', size);

    proxy.refuse();
    proxy.cut();
    await connectionState(page, 'Reconnecting… (attempt 2)').waitFor();
    // The row is waiting to try again, not failed; nothing is offered to press.
    const row = transferRow(page, 'outage.bin');
    expect(['Queued', 'Transferring']).toContain((await transferStatus(page, 'outage.bin'))?.state);
    expect(await row.getByRole('button', { name: 'Retry outage.bin', exact: true }).count()).toBe(0);
    await screenshot(page, '41-reconnecting-during-upload');

    // The network is back (and fast): what the server had is not sent again.
    const partial = await partialBytes('/outage.bin');
    expect(partial).toBeGreaterThanOrEqual(1 * MiB);
    proxy.rate = null;
    proxy.reset();
    await proxy.listenAgain();
    await connectionState(page, 'Connected').waitFor();
    await waitTransferDone(page, 'outage.bin', row);
    expect(proxy.upstreamBytes).toBeLessThan(size - partial / 2);
    expect(await sha256File(path.join(home(), 'outage.bin'))).toBe(sum);
    expect(await partialBytes('/outage.bin')).toBe(0);
    // The quota in the status bar follows (it was read while only a partial was there).
    await statusBar().getByText(/^16\.0 MiB used/).waitFor();
    await screenshot(page, '42-reconnected-upload-done');
  });

  it('finishes a running upload by itself after ferryd crashes and starts again on the same port', async () => {
    // New connections for a throttle that bites at once (see logInThroughProxy).
    proxy = await logInThroughProxy(page, server, ivan, proxy);
    const size = 16 * MiB;
    const sum = await startSlowUpload('crash.bin', size);

    proxy.refuse();
    await server.kill();
    await connectionState(page, 'Reconnecting… (attempt 2)').waitFor();
    expect(await transferStatus(page, 'crash.bin').then((s) => s?.state)).not.toBe('Failed');

    // Same root (users, key, partials) and port: what the app knows still holds.
    const partial = await partialBytes('/crash.bin');
    expect(partial).toBeGreaterThanOrEqual(1 * MiB);
    proxy.rate = null;
    proxy.reset();
    server = await startFerryd({ root: server.root, port: server.port });
    expect(server.fingerprint).toBe(e2e.server.fingerprint);
    await proxy.listenAgain();
    await connectionState(page, 'Connected').waitFor();
    await waitTransferDone(page, 'crash.bin');
    expect(proxy.upstreamBytes).toBeLessThan(size - partial / 2);
    expect(await sha256File(path.join(home(), 'crash.bin'))).toBe(sum);
  });

  // Row controls work during an outage: a person who wants to stop an upload can.
  it('pauses one row while the connection is being re-established', async () => {
    proxy = await logInThroughProxy(page, server, ivan, proxy);
    await startSlowUpload('held.bin', 16 * MiB);
    const notice = page.getByRole('region', { name: 'Remote files' }).getByRole('alert');
    try {
      proxy.refuse();
      proxy.cut();
      await connectionState(page, 'Reconnecting… (attempt 2)').waitFor();
      await page.getByRole('button', { name: 'Pause held.bin', exact: true }).click();
      const paused = async () => (await transferStatus(page, 'held.bin'))?.state === 'Paused';
      await expect.poll(async () => (await notice.count()) > 0 || (await paused()), { timeout: 20_000 }).toBe(true);
      expect(await notice.allTextContents()).toEqual([]);
      expect(await paused()).toBe(true);
    } finally {
      // Leave the page as the other tests expect it, whatever happened above.
      proxy.rate = null;
      await proxy.listenAgain();
      await connectionState(page, 'Connected').waitFor();
      if ((await notice.count()) > 0) await notice.getByRole('button', { name: 'Dismiss', exact: true }).click();
    }
  });
});
